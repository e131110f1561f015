"""The ``sr`` stage: ``--upscale model:PATH`` for the fits the reframe stage draws (pad, blur, track, a crop
at a position). The model runs on the part of the source that ends up in the output; the reframe stage after
it then resamples the model's larger frames to the output (Lanczos). Spec dict (from
:func:`shortgen.pipeline.plan.post_stage_specs`, always followed by the reframe stage's)::

    {"key": "sr", "method": "model:x4.pth", "width": 1080, "height": 1920, "fit": "blur",
     "crop_x": 0.5, "crop_y": 0.5, "device": "auto"}

Where the model runs (the reframe stage's own geometry, :mod:`shortgen.stages.reframe`):

- ``crop``: on the crop window only; the window has the output's aspect, so the reframe stage just scales it;
- ``pad``, ``blur``: on the whole frame, the picture band;
- ``track``: on the whole frame, before the track stage cuts its window (the window's place is known only
  after the look-ahead, and moves frame by frame: the model's batches and tiles stay whole frames);
- a source within the reframe stage's ``NEAR_ASPECT`` of the output's aspect (cover-scaled whatever the fit):
  on the centred window.

It runs only when the output shows that part enlarged; otherwise it is skipped with one warning. A model
needs RGB arrays, so this stage does not take the decoder's YUV frames (``edit`` then decodes RGB).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from shortgen.errors import UsageError
from shortgen.frames import Clip
from shortgen.stages.reframe import check_fit, contain_box, cover_window, near_aspect
from shortgen.stages.upscale.stage import parse_method

if TYPE_CHECKING:
    from shortgen.stages.upscale.model import ModelUpscaler

Region = tuple[int, int, int, int]


def model_region(fit: str, src_w: int, src_h: int, width: int, height: int, crop_x: float = 0.5,
                 crop_y: float = 0.5) -> tuple[Region, tuple[int, int], str]:
    """(the source region the model runs on, the size the output shows it at, what to call it in messages)."""
    if near_aspect(src_w, src_h, width, height):
        fit, crop_x, crop_y = "crop", 0.5, 0.5
    if fit == "crop":
        box = cover_window(src_w, src_h, width, height, crop_x, crop_y)
        return (box.x, box.y, box.w, box.h), (width, height), "crop window"
    whole = (0, 0, src_w, src_h)
    if fit in ("pad", "blur"):
        band = contain_box(src_w, src_h, width, height)
        return whole, (band.w, band.h), "picture"
    window = cover_window(src_w, src_h, width, height)  # track: the window is shown at the output size
    return whole, (round(src_w * width / window.w), round(src_h * height / window.h)), "frame"


@dataclass
class SRStage:
    width: int
    height: int
    method: str
    fit: str = "crop"
    crop_x: float = 0.5
    crop_y: float = 0.5
    device: str = "auto"
    dtype: str = "auto"
    tile: int | None = None
    batch: int | None = None
    key: str = "sr"
    _upscaler: ModelUpscaler | None = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        check_fit(self.fit, self.crop_x, self.crop_y, "#000000")
        kind, self._file = parse_method(self.method)
        if kind != "model":
            raise UsageError(f"the sr stage runs a model upscaler, not '{self.method}'", "use model:PATH")
        from shortgen.stages.upscale.model import load_upscaler

        # Loaded when the stage is built: a bad file fails before any frame is decoded or generated.
        self._upscaler = load_upscaler(Path(self._file).expanduser(), self.device, self.dtype, tile=self.tile,
                                       batch=self.batch)

    @property
    def takes_yuv(self) -> bool:
        return False  # the model takes RGB arrays

    def extra_frames(self, num_frames: int, fps: float) -> int:
        return 0

    def apply(self, clip: Clip) -> Clip:
        from shortgen.stages.upscale.model import upscale_region

        assert self._upscaler is not None
        region, shown, part = model_region(self.fit, clip.width, clip.height, self.width, self.height,
                                           self.crop_x, self.crop_y)
        clip = upscale_region(clip, self._upscaler, self._file, region, shown, part)
        return clip.with_frames(clip.frames, info={**clip.info, "upscaler": {**clip.info["upscaler"],
                                                                             "fit": self.fit}})
