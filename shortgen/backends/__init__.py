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
    "get_backend_info", "load_backend", "register_backend", "registered_backends",
]


@dataclass(frozen=True)
class BackendInfo:
    name: str
    description: str
    rules: ShapeRules
    default_model: str
    loader: str  # "module:function" returning a GeneratorBackend
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
    latent_upscale=True,
))
