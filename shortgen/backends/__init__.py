"""Generator backends behind one protocol, found through a registry.

The registry maps a name to torch-free facts (:class:`BackendInfo`) and the dotted path of a loader, so
that ``--dry-run`` and validation can use shape rules without importing torch or diffusers.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import import_module

from shortgen.backends.base import (
    FrameCondition,
    GeneratorBackend,
    Loader,
    LoadOptions,
    SegmentRequest,
    ShapeRules,
)
from shortgen.errors import UsageError
from shortgen.progress import Progress

__all__ = [
    "BackendInfo", "FrameCondition", "GeneratorBackend", "LoadOptions", "SegmentRequest", "ShapeRules",
    "check_model_folder", "get_backend_info", "load_backend", "register_backend", "registered_backends",
]


@dataclass(frozen=True)
class BackendInfo:
    name: str
    description: str
    rules: ShapeRules
    default_model: str
    loader: str  # "module:function" returning a GeneratorBackend
    # diffusers pipeline classes (model_index.json "_class_name") whose folders this backend loads
    pipeline_classes: frozenset[str] = frozenset()
    latent_upscale: bool = False  # accepts SegmentRequest.extra["multiscale"] (``--upscale latent``)


_REGISTRY: dict[str, BackendInfo] = {}


def register_backend(info: BackendInfo) -> None:
    _REGISTRY[info.name] = info


def registered_backends() -> list[BackendInfo]:
    return sorted(_REGISTRY.values(), key=lambda i: i.name)


def get_backend_info(name: str) -> BackendInfo:
    try:
        return _REGISTRY[name]
    except KeyError:
        names = ", ".join(sorted(_REGISTRY))
        raise UsageError(f"unknown backend '{name}'; available: {names}") from None


def load_backend(name: str, options: LoadOptions, progress: Progress | None = None) -> GeneratorBackend:
    """Import the backend's module (torch, diffusers) only now, and load the model."""
    info = get_backend_info(name)
    module_name, func_name = info.loader.split(":")
    loader: Loader = getattr(import_module(module_name), func_name)
    return loader(options, progress or Progress())


LTX_RULES = ShapeRules(size_multiple=32, frames_modulo=8, frames_remainder=1, min_frames=9, max_frames=257)

register_backend(BackendInfo(
    name="ltx",
    description="LTX-Video (distilled) through diffusers' LTXConditionPipeline",
    rules=LTX_RULES,
    default_model="Lightricks/LTX-Video-0.9.8-13B-distilled",
    loader="shortgen.backends.ltx:load_ltx",
    pipeline_classes=frozenset({"LTXConditionPipeline", "LTXPipeline", "LTXImageToVideoPipeline"}),
    latent_upscale=True,
))


# --- ltx2 (video + sound from one model) -----------------------------------------------------------------
# Sizes multiples of 32 and 8k+1 frames as LTX-Video (a x32 / x8 VAE); one call makes up to 20 s.
LTX2_RULES = ShapeRules(size_multiple=32, frames_modulo=8, frames_remainder=1, min_frames=9, max_frames=481)

register_backend(BackendInfo(
    name="ltx2",
    description="LTX-2 (distilled, video + synchronised sound) through diffusers' LTX2ConditionPipeline",
    rules=LTX2_RULES,
    default_model="diffusers/LTX-2.3-Distilled-Diffusers",
    loader="shortgen.backends.ltx2:load_ltx2",
    pipeline_classes=frozenset({"LTX2ConditionPipeline", "LTX2Pipeline", "LTX2ImageToVideoPipeline"}),
))


def check_model_folder(backend: str, model: str) -> None:
    """Before any weights load: a local diffusers folder made for another registered backend is a one-line error
    naming the backend it is for. Anything else (Hub ids, files, unknown classes) is left to the loader."""
    import json
    from pathlib import Path

    from shortgen.errors import ModelError

    index = Path(model).expanduser() / "model_index.json"
    try:
        class_name = json.loads(index.read_text(encoding="utf-8")).get("_class_name")
    except (OSError, ValueError, AttributeError):
        return
    info = get_backend_info(backend)
    if not info.pipeline_classes or class_name in info.pipeline_classes:
        return
    owner = next((i.name for i in registered_backends() if class_name in i.pipeline_classes), None)
    if owner is not None:
        raise ModelError(f"{model} holds a {class_name}, a model for the {owner} backend, not {backend}",
                         f"pass --backend {owner}, or a {backend} model such as {info.default_model}")
# --- end ltx2
