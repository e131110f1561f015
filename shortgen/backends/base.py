"""The generator protocol: what ``make`` needs from any video model family.

This module must not import torch or diffusers: the CLI checks requests against a backend's
:class:`ShapeRules` before any weights load.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from shortgen.errors import UsageError

if TYPE_CHECKING:
    import numpy as np

    from shortgen.progress import Progress


@dataclass(frozen=True)
class ShapeRules:
    """Sizes must be multiples of ``size_multiple``; frame counts ``frames_modulo * k + frames_remainder``."""

    size_multiple: int = 32
    frames_modulo: int = 8
    frames_remainder: int = 1
    min_frames: int = 9
    max_frames: int = 257

    def check_size(self, width: int, height: int) -> None:
        for name, value in (("width", width), ("height", height)):
            if value <= 0 or value % self.size_multiple:
                lower = max(self.size_multiple, value - value % self.size_multiple)
                raise UsageError(
                    f"generation {name} {value} is not a multiple of {self.size_multiple}",
                    f"use {lower} or {lower + self.size_multiple}",
                )

    def valid_frames(self, frames: int) -> bool:
        return (self.min_frames <= frames <= self.max_frames
                and frames % self.frames_modulo == self.frames_remainder % self.frames_modulo)

    def round_up_frames(self, frames: int) -> int:
        """The smallest valid frame count >= ``frames``."""
        frames = max(frames, self.min_frames)
        excess = (frames - self.frames_remainder) % self.frames_modulo
        return frames if excess == 0 else frames + self.frames_modulo - excess

    def check_frames(self, frames: int, what: str = "segment length") -> None:
        if not self.valid_frames(frames):
            m, r = self.frames_modulo, self.frames_remainder
            raise UsageError(
                f"{what} {frames} frames does not fit the model ({m}k+{r} frames, "
                f"{self.min_frames}-{self.max_frames})",
                f"use {self.round_up_frames(frames)}",
            )


@dataclass(frozen=True)
class FrameCondition:
    """Frames the model must reproduce, placed at ``frame_index`` of the generated segment.

    ``frames`` is a ``(n, height, width, 3)`` uint8 RGB array at the generation size.
    """

    frames: np.ndarray
    frame_index: int = 0
    strength: float = 1.0


@dataclass(frozen=True)
class SegmentRequest:
    """One model call."""

    index: int
    prompt: str
    negative_prompt: str
    width: int
    height: int
    num_frames: int
    fps: float
    steps: int
    guidance_scale: float
    seed: int
    conditions: tuple[FrameCondition, ...] = ()
    extra: dict[str, Any] = field(default_factory=dict)


StepCallback = Callable[[int, int], None]


class GeneratorBackend(Protocol):
    """A loaded model that turns one :class:`SegmentRequest` into frames."""

    name: str
    rules: ShapeRules

    def describe(self) -> dict[str, Any]:
        """Facts for the sidecar: model id or path, revision, device, dtype, options."""
        ...

    def generate(self, request: SegmentRequest, on_step: StepCallback | None = None) -> np.ndarray:
        """Return ``(num_frames, height, width, 3)`` uint8 RGB frames."""
        ...


@dataclass(frozen=True)
class SegmentOutput:
    """What a backend that makes sound with the picture returns for one segment."""

    frames: np.ndarray  # (num_frames, height, width, 3) uint8 RGB
    audio: np.ndarray  # (channels, samples) float32 in -1..1, about num_frames / fps seconds
    sample_rate: int


class SoundBackend(GeneratorBackend, Protocol):
    """A backend whose model makes the segment's sound too (LTX-2); optional. ``make`` joins the segments' sound
    like their frames (:class:`shortgen.chain.AudioStitcher`)."""

    audio_sample_rate: int

    def generate_with_audio(self, request: SegmentRequest, on_step: StepCallback | None = None) -> SegmentOutput:
        """:meth:`generate`'s frames and the sound made with them."""
        ...


def sound_backend(backend: GeneratorBackend) -> SoundBackend | None:
    """``backend`` as a :class:`SoundBackend` when its model makes sound, else None."""
    if callable(getattr(backend, "generate_with_audio", None)) and getattr(backend, "audio_sample_rate", None):
        return backend  # type: ignore[return-value]
    return None


class SplitBackend(GeneratorBackend, Protocol):
    """A backend whose denoising and decoding can be called apart (``--decode-ahead``); optional."""

    def denoise(self, request: SegmentRequest, on_step: StepCallback | None = None) -> Any:
        """The latents :meth:`generate` would decode."""
        ...

    def decode(self, latents: Any, request: SegmentRequest) -> np.ndarray:
        """The frames :meth:`generate` gives; safe to call from another thread while :meth:`denoise` runs."""
        ...

    def decode_tail(self, latents: Any, request: SegmentRequest, frames: int) -> np.ndarray:
        """The last ``frames`` frames of :meth:`decode`, or a close approximation that costs less."""
        ...

    def decode_ahead_blocker(self) -> str | None:
        """Why decoding cannot overlap denoising as loaded (e.g. models offloaded one at a time), or None."""
        ...


def split_backend(backend: GeneratorBackend) -> tuple[SplitBackend | None, str | None]:
    """``backend`` as a :class:`SplitBackend` when it is one that can decode ahead, else why not."""
    methods = ("denoise", "decode", "decode_tail", "decode_ahead_blocker")
    if not all(callable(getattr(backend, name, None)) for name in methods):
        return None, f"the {backend.name} backend cannot decode apart from denoising"
    split: SplitBackend = backend  # type: ignore[assignment]
    blocker = split.decode_ahead_blocker()
    return (None, blocker) if blocker else (split, None)


@dataclass(frozen=True)
class LoadOptions:
    model: str
    device: str = "auto"
    dtype: str = "auto"
    low_memory: bool = False
    revision: str | None = None
    compile: bool = False
    fp8: bool = False  # float8 (e4m3) weight storage for the denoiser, computing in ``dtype``
    vae_tiling: bool = False
    extra: dict[str, Any] = field(default_factory=dict)


Loader = Callable[[LoadOptions, "Progress"], GeneratorBackend]
