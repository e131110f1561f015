"""shortgen: prompt → finished vertical social clip.

The library API (no terminal output; progress through :class:`shortgen.progress.Progress`)::

    from shortgen import MakeOptions, make_clip
    result = make_clip(MakeOptions(prompt="a red fox in snow", preset="tiktok", duration=12, output="fox.mp4"))

Names are imported lazily, so ``import shortgen`` stays cheap and never pulls in torch.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

__version__ = "0.1.0"

_EXPORTS = {
    "make_clip": "shortgen.pipeline",
    "edit_clip": "shortgen.pipeline",
    "plan_make": "shortgen.pipeline",
    "post_process": "shortgen.pipeline",
    "plan_for_stages": "shortgen.pipeline",
    "inspect_video": "shortgen.inspect",
    "seam_score": "shortgen.seam",
    "ClipResult": "shortgen.pipeline",
    "MakeOptions": "shortgen.config",
    "Preset": "shortgen.config",
    "load_preset": "shortgen.presets",
    "available_presets": "shortgen.presets",
    "load_backend": "shortgen.backends",
    "LoadOptions": "shortgen.backends",
    "build_tiny_ltx": "shortgen.backends.ltx.tiny",
    "Clip": "shortgen.frames",
    "Progress": "shortgen.progress",
    "ShortgenError": "shortgen.errors",
    "UsageError": "shortgen.errors",
}

__all__ = [*sorted(_EXPORTS), "__version__"]


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'shortgen' has no attribute {name!r}")
