"""Overlays blend only inside their box, the same on RGB arrays and on yuv420p frames."""

from __future__ import annotations

import av
import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from shortgen.overlay import Overlay, to_rgb


def gradient(width: int = 64, height: int = 48) -> np.ndarray:
    yy, xx = np.mgrid[0:height, 0:width]
    return np.stack([xx * 3 % 256, yy * 5 % 256, np.full_like(xx, 90)], axis=-1).astype(np.uint8)


def patch(width: int, height: int, alpha: int) -> np.ndarray:
    rgba = np.zeros((height, width, 4), np.uint8)
    rgba[..., :3] = (250, 250, 250)
    rgba[..., 3] = alpha
    return rgba


def as_yuv(rgb: np.ndarray) -> av.VideoFrame:
    from av.video.reformatter import Colorspace

    return av.VideoFrame.from_ndarray(rgb, format="rgb24").reformat(format="yuv420p",
                                                                    dst_colorspace=Colorspace.ITU709)


@settings(max_examples=40, deadline=None)
@given(x=st.integers(-10, 60), y=st.integers(-10, 44), w=st.integers(1, 30), h=st.integers(1, 30))
def test_rgb_blend_changes_only_the_box(x: int, y: int, w: int, h: int) -> None:
    frame = gradient()
    before = frame.copy()
    out = Overlay.from_rgba(patch(w, h, 255), x, y).blend(frame)
    changed = np.argwhere(np.any(out != before, axis=-1))
    if len(changed):
        assert changed[:, 0].min() >= max(y, 0) and changed[:, 0].max() < y + h
        assert changed[:, 1].min() >= max(x, 0) and changed[:, 1].max() < x + w
    inside = out[max(y, 0):max(0, y + h), max(x, 0):max(0, x + w)]
    assert inside.size == 0 or (inside == 250).all()


def test_yuv_blend_matches_rgb_blend() -> None:
    rgb = gradient()
    overlay = Overlay.from_rgba(patch(20, 10, 200), 11, 7)
    via_rgb = overlay.blend(rgb.copy())
    via_yuv = to_rgb(overlay.blend(as_yuv(rgb)))
    plain = to_rgb(as_yuv(rgb))
    # the patch shows the same way in both paths (chroma subsampling aside) ...
    assert np.abs(via_yuv[8:16, 12:30].astype(int) - via_rgb[8:16, 12:30].astype(int)).mean() < 4
    # ... and far from it the YUV frame is untouched
    assert (via_yuv[30:, 40:] == plain[30:, 40:]).all()


def test_transparent_overlay_changes_nothing() -> None:
    frame = gradient()
    assert (Overlay.from_rgba(patch(10, 10, 0), 5, 5).blend(frame.copy()) == frame).all()
