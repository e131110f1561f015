"""The sidecar ``clip.json``: everything needed to reproduce a clip."""

from __future__ import annotations

import json
import platform
from datetime import datetime, timezone
from importlib import metadata as importlib_metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any

from shortgen.atomic import write_text, write_text_atomic
from shortgen.config import as_dict

if TYPE_CHECKING:
    from shortgen.backends import GeneratorBackend
    from shortgen.config import Preset
    from shortgen.pipeline import ClipResult, MakePlan

SIDECAR_VERSION = 1
PACKAGES = ("shortgen", "torch", "diffusers", "transformers", "av", "numpy", "pillow")


def package_versions() -> dict[str, str | None]:
    versions: dict[str, str | None] = {"python": platform.python_version()}
    for name in PACKAGES:
        try:
            versions[name] = importlib_metadata.version(name)
        except importlib_metadata.PackageNotFoundError:
            versions[name] = None
    return versions


def environment_facts() -> dict[str, Any]:
    """What can still change the frames when the inputs, seed, model and versions are the same: the machine
    (CPU kernels differ between instruction sets), torch's thread count (float sums in another order) and the
    FFmpeg build whose x264 encodes the clip. Same machine, same facts: bit-identical frames (tested)."""
    import sys

    facts: dict[str, Any] = {"platform": platform.platform(), "machine": platform.machine(),
                             "processor": platform.processor() or None}
    torch = sys.modules.get("torch")  # only when a model ran: edit never imports torch
    if torch is not None:
        facts["torch_threads"] = torch.get_num_threads()
    try:
        import av

        facts["ffmpeg"] = av.ffmpeg_version_info
    except ImportError:  # pragma: no cover - av is a dependency
        pass
    return facts


def sidecar_path(output: Path) -> Path:
    return output.with_suffix(".json")


def sidecar_data(result: ClipResult, *, preset: Preset, plan: MakePlan | None,
                 backend: GeneratorBackend | None, source: Path | None) -> dict[str, Any]:
    data: dict[str, Any] = {
        "shortgen_sidecar": SIDECAR_VERSION,
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "command": "make" if plan else "edit",
        "source": str(source) if source else None,
        "result": result.to_dict(),
        "preset": as_dict(preset),
        "versions": package_versions(),
        "environment": environment_facts(),
    }
    if plan:
        data["prompts"] = plan.prompts
        data["seed"] = plan.seed
        data["options"] = as_dict(plan.options, exclude_none=True)
        data["plan"] = plan.to_dict()
    if backend is not None:
        data["model"] = backend.describe()
    return data


def write_sidecar(result: ClipResult, *, preset: Preset, plan: MakePlan | None,
                  backend: GeneratorBackend | None, source: Path | None, path: Path | None = None) -> Path:
    """Write the sidecar beside ``result.output``, or to ``path`` (a temp name the caller renames into place)."""
    data = sidecar_data(result, preset=preset, plan=plan, backend=backend, source=source)
    text = json.dumps(data, indent=2, default=str) + "\n"
    if path is not None:
        write_text(path, text, shown_as=sidecar_path(result.output))
        return path
    path = sidecar_path(result.output)
    write_text_atomic(path, text)
    return path


def read_sidecar(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text(encoding="utf-8"))
