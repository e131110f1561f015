"""Post-generation stages: each takes a :class:`~shortgen.frames.Clip` and returns a lazy one.

A stage is described by a plain dict (``{"key": "upscale", "width": 1080, ...}``), the same whether it
comes from CLI flags, a job file or a Python caller; :func:`build_stage` turns the dict into a stage.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from importlib import import_module
from typing import Any, Protocol

from shortgen.errors import UsageError
from shortgen.frames import Clip


class Stage(Protocol):
    key: str

    def extra_frames(self, num_frames: int, fps: float) -> int:
        """Frames this stage consumes beyond the clip's length (e.g. a crossfade's overlap); negative when
        it needs fewer than it outputs (a ping-pong plays about half the frames twice)."""
        ...

    def apply(self, clip: Clip) -> Clip:
        ...


# key -> "module:factory"; factories take the dict's other items as keyword arguments.
STAGES: dict[str, str] = {
    "upscale": "shortgen.stages.upscale:UpscaleStage",
    "captions": "shortgen.stages.captions:CaptionStage",
    "loop": "shortgen.stages.loop:LoopStage",
    "reframe": "shortgen.stages.reframe:ReframeStage",  # fit: crop / pad / blur / track (issue 11)
    "sr": "shortgen.stages.upscale.sr_stage:SRStage",  # --upscale model:PATH before the reframe stage
}


def register_stage(key: str, factory_path: str) -> None:
    STAGES[key] = factory_path


def build_stage(spec: Mapping[str, Any]) -> Stage:
    options = dict(spec)
    key = options.pop("key", None)
    if key not in STAGES:
        raise UsageError(f"unknown stage '{key}'; available: {', '.join(sorted(STAGES))}")
    module_name, name = STAGES[key].split(":")
    factory: Callable[..., Stage] = getattr(import_module(module_name), name)
    return factory(**options)


def takes_yuv(stages: list[Stage]) -> bool:
    """Whether the first stage takes the decoder's yuv420p ``av.VideoFrame``s as well as RGB arrays."""
    return bool(stages) and bool(getattr(stages[0], "takes_yuv", False))


def run_stages(clip: Clip, stages: Iterable[Stage]) -> Clip:
    for stage in stages:
        clip = stage.apply(clip)
    return clip
