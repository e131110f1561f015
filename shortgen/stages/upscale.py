"""Resize frames to the output size, cover-cropping to its aspect ratio first, one frame at a time.

The resampler is FFmpeg's swscale through PyAV (Lanczos by default): about 3x faster than Pillow's
Lanczos at 1080x1920 and bit-for-bit deterministic. Model-based upscalers can register another
``method`` later.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from shortgen.errors import UsageError
from shortgen.frames import Clip

if TYPE_CHECKING:
    import numpy as np

RESAMPLERS = {"lanczos": "LANCZOS", "bicubic": "BICUBIC", "bilinear": "BILINEAR", "area": "AREA"}


def cover_crop_box(src_w: int, src_h: int, dst_w: int, dst_h: int) -> tuple[int, int, int, int]:
    """(x, y, w, h) of the largest centred source window with the destination's aspect ratio."""
    if src_w * dst_h > dst_w * src_h:  # source is wider: crop the sides
        w = max(1, round(src_h * dst_w / dst_h))
        return (src_w - w) // 2, 0, w, src_h
    h = max(1, round(src_w * dst_h / dst_w))
    return 0, (src_h - h) // 2, src_w, h


def resize_frame(frame: np.ndarray, width: int, height: int, method: str = "lanczos") -> np.ndarray:
    """Cover-crop and resize one RGB frame with swscale."""
    import av
    import numpy as np

    src_h, src_w = frame.shape[:2]
    if (src_w, src_h) == (width, height):
        return frame
    x, y, w, h = cover_crop_box(src_w, src_h, width, height)
    window = np.ascontiguousarray(frame[y:y + h, x:x + w])
    video_frame = av.VideoFrame.from_ndarray(window, format="rgb24")
    return video_frame.reformat(width=width, height=height, format="rgb24",
                                interpolation=RESAMPLERS[method]).to_ndarray()


@dataclass
class UpscaleStage:
    width: int
    height: int
    method: str = "lanczos"
    key: str = "upscale"

    def __post_init__(self) -> None:
        if self.method not in RESAMPLERS:
            raise UsageError(f"unknown upscale method '{self.method}'; available: {', '.join(RESAMPLERS)}")

    def extra_frames(self, num_frames: int, fps: float) -> int:
        return 0

    def apply(self, clip: Clip) -> Clip:
        if (clip.width, clip.height) == (self.width, self.height):
            return clip
        frames = (resize_frame(f, self.width, self.height, self.method) for f in clip.frames)
        return clip.with_frames(frames, width=self.width, height=self.height)
