"""The upscale stage: frames at the generation size → frames at the output size.

``method`` is a resampler name (``lanczos``, ``bicubic``, ``bilinear``, ``area``), ``latent`` (the backend
already generated at twice the size: only the exact crop / resize to the output is left, with Lanczos), or
``model:PATH``: a Real-ESRGAN-family upscaler (:mod:`.sr_models`) runs first on the frames cover-cropped to
the output's aspect ratio, then Lanczos takes them to the exact output size (a window already as large as the
output skips the model, with a warning). The model loads when the stage is built, so a bad file fails before
any generation starts. Other fits run the model in the ``sr`` stage (:mod:`.sr_stage`) before the reframe stage.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from shortgen.errors import UsageError
from shortgen.frames import Clip
from shortgen.stages.upscale.resample import RESAMPLERS, cover_crop_box, resize_frame

if TYPE_CHECKING:

    from shortgen.stages.upscale.model import ModelUpscaler

MODEL_PREFIX = "model:"
METHODS_HELP = "lanczos, bicubic, bilinear, area, latent or model:PATH"


def parse_method(method: str) -> tuple[Literal["resample", "latent", "model"], str]:
    """``"lanczos"`` → ``("resample", "lanczos")``; ``"model:x.pth"`` → ``("model", "x.pth")``; torch-free."""
    if method in RESAMPLERS:
        return "resample", method
    if method == "latent":
        return "latent", "lanczos"
    if method.startswith(MODEL_PREFIX) and method[len(MODEL_PREFIX):].strip():
        return "model", method[len(MODEL_PREFIX):].strip()
    raise UsageError(f"unknown upscale method '{method}'; available: {METHODS_HELP}")


@dataclass
class UpscaleStage:
    width: int
    height: int
    method: str = "lanczos"
    pixel_format: Literal["yuv420p", "rgb24"] = "yuv420p"
    key: str = "upscale"
    # model: upscalers only
    device: str = "auto"
    dtype: str = "auto"
    tile: int | None = None
    batch: int | None = None
    _upscaler: ModelUpscaler | None = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        kind, value = parse_method(self.method)
        self._resampler = value if kind != "model" else "lanczos"
        if kind == "model":
            from shortgen.stages.upscale.model import load_upscaler

            self._upscaler = load_upscaler(Path(value).expanduser(), self.device, self.dtype, tile=self.tile,
                                           batch=self.batch)

    @property
    def takes_yuv(self) -> bool:
        """Resamplers resize the decoder's yuv420p frames directly; a model upscaler takes RGB."""
        return self._upscaler is None

    def extra_frames(self, num_frames: int, fps: float) -> int:
        return 0

    def apply(self, clip: Clip) -> Clip:
        if self._upscaler is not None:
            from shortgen.stages.upscale.model import upscale_region

            window = cover_crop_box(clip.width, clip.height, self.width, self.height)
            clip = upscale_region(clip, self._upscaler, self.method[len(MODEL_PREFIX):], window,
                                  (self.width, self.height), "crop window")
        if (clip.width, clip.height) == (self.width, self.height) and self.pixel_format == "rgb24":
            return clip
        return clip.with_frames(self._resized(clip.frames), width=self.width, height=self.height)

    def _resized(self, frames: Iterable[Any]) -> Iterator[Any]:
        from av.video.reformatter import VideoReformatter

        reformatter = VideoReformatter()
        for frame in frames:
            yield resize_frame(frame, self.width, self.height, self._resampler, self.pixel_format, reformatter)
