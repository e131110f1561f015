"""Blend a small RGBA image (a caption) onto frames over its bounding box only.

Frames are either RGB ``uint8`` arrays or ``av.VideoFrame`` in yuv420p (what the upscale stage emits, so
resizing and colour conversion happen in one swscale pass). An :class:`Overlay` converts its RGBA once
(per caption state) into premultiplied planes for both kinds, then each frame costs one small blend.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from shortgen.yuv import planes as yuv_planes

if TYPE_CHECKING:
    import numpy as np

# BT.709, limited ("TV") range: what the encoder tags the stream with.
_Y = (0.2126, 0.7152, 0.0722)
_CB = (-0.2126 / 1.8556, -0.7152 / 1.8556, 0.5)
_CR = (0.5, -0.7152 / 1.5748, -0.0722 / 1.5748)


def is_yuv_frame(frame: Any) -> bool:
    return hasattr(frame, "planes")


def to_rgb(frame: Any) -> np.ndarray:
    """Any frame as an RGB array (for previews and checks, not the hot path)."""
    if is_yuv_frame(frame):
        from av.video.reformatter import Colorspace

        return frame.reformat(format="rgb24", src_colorspace=Colorspace.ITU709).to_ndarray()
    return frame


def _rgb_to_ycbcr(rgb: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    r, g, b = (rgb[..., i].astype("float32") for i in range(3))
    y = 16 + 219 / 255 * (_Y[0] * r + _Y[1] * g + _Y[2] * b)
    cb = 128 + 224 / 255 * (_CB[0] * r + _CB[1] * g + _CB[2] * b)
    cr = 128 + 224 / 255 * (_CR[0] * r + _CR[1] * g + _CR[2] * b)
    return y, cb, cr


def _half(plane: np.ndarray) -> np.ndarray:
    """2x2 mean (plane sizes are even)."""
    return (plane[0::2, 0::2] + plane[1::2, 0::2] + plane[0::2, 1::2] + plane[1::2, 1::2]) * 0.25


@dataclass(frozen=True)
class Overlay:
    """An RGBA patch prepared for blending; ``x``/``y`` is its top-left corner in the frame (even)."""

    x: int
    y: int
    width: int
    height: int
    rgb_premul: np.ndarray  # (h, w, 3) float32: colour × alpha
    keep: np.ndarray  # (h, w, 1) float32: 1 - alpha
    y_premul: np.ndarray
    y_keep: np.ndarray
    uv_premul: tuple[np.ndarray, np.ndarray]
    uv_keep: np.ndarray

    @classmethod
    def from_rgba(cls, rgba: np.ndarray, x: int, y: int) -> Overlay:
        import numpy as np

        # yuv420p shares chroma between 2x2 pixels: align the box to even coordinates and sizes.
        pad_left, pad_top = x % 2, y % 2
        h, w = rgba.shape[:2]
        padded = np.zeros((h + pad_top + (h + pad_top) % 2, w + pad_left + (w + pad_left) % 2, 4), np.uint8)
        padded[pad_top:pad_top + h, pad_left:pad_left + w] = rgba
        alpha = padded[..., 3:4].astype(np.float32) / 255
        rgb = padded[..., :3].astype(np.float32)
        luma, cb, cr = _rgb_to_ycbcr(padded[..., :3])
        a = alpha[..., 0]
        a_half = _half(a)
        return cls(
            x=x - pad_left, y=y - pad_top, width=padded.shape[1], height=padded.shape[0],
            rgb_premul=rgb * alpha, keep=1 - alpha, y_premul=luma * a, y_keep=1 - a,
            uv_premul=(_half(cb * a), _half(cr * a)), uv_keep=1 - a_half,
        )

    def blend(self, frame: Any) -> Any:
        """Blend onto ``frame`` in place where possible; returns the frame."""
        if is_yuv_frame(frame):
            return self._blend_yuv(frame)
        return self._blend_rgb(frame)

    def _window(self, frame_h: int, frame_w: int) -> tuple[slice, slice, slice, slice] | None:
        """Frame and patch slices of the visible part (an overlay may poke out of the frame); None if none is."""
        x0, y0 = max(self.x, 0), max(self.y, 0)
        x1, y1 = min(self.x + self.width, frame_w), min(self.y + self.height, frame_h)
        if x1 <= x0 or y1 <= y0:
            return None
        return (slice(y0, y1), slice(x0, x1), slice(y0 - self.y, y1 - self.y), slice(x0 - self.x, x1 - self.x))

    def _blend_rgb(self, frame: np.ndarray) -> np.ndarray:
        import numpy as np

        window = self._window(*frame.shape[:2])
        if window is None:
            return frame
        fy, fx, py, px = window
        if not frame.flags.writeable:
            frame = frame.copy()
        box = frame[fy, fx].astype(np.float32)
        frame[fy, fx] = (box * self.keep[py, px] + self.rgb_premul[py, px] + 0.5).astype(np.uint8)
        return frame

    def _blend_yuv(self, frame: Any) -> Any:
        import numpy as np

        luma, cb, cr = yuv_planes(frame)
        window = self._window(*luma.shape)
        if window is None:
            return frame
        fy, fx, py, px = window
        box = luma[fy, fx].astype(np.float32)
        luma[fy, fx] = (box * self.y_keep[py, px] + self.y_premul[py, px] + 0.5).astype(np.uint8)
        hy, hx, hpy, hpx = (slice(s.start // 2, s.stop // 2) for s in (fy, fx, py, px))
        for plane, premul in ((cb, self.uv_premul[0]), (cr, self.uv_premul[1])):
            box = plane[hy, hx].astype(np.float32)
            plane[hy, hx] = (box * self.uv_keep[hpy, hpx] + premul[hpy, hpx] + 0.5).astype(np.uint8)
        return frame
