"""yuv420p ``av.VideoFrame`` helpers: the decoder's frames cropped, copied and turned upright without going
through RGB (a 1920x1080 frame to RGB and back costs more than the resize that follows it).

Plane offsets and sizes are even: yuv420p shares one chroma sample between 2x2 pixels.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import av
    import numpy as np

YUV = "yuv420p"


def planes(frame: av.VideoFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Writable numpy views of a yuv420p frame's Y, U and V planes (no copies)."""
    import numpy as np

    views = []
    for plane in frame.planes:
        raw = np.frombuffer(plane, dtype=np.uint8).reshape(plane.height, plane.line_size)
        views.append(raw[:, : plane.width])
    return views[0], views[1], views[2]


def _new_like(frame: av.VideoFrame, width: int, height: int) -> av.VideoFrame:
    """An empty yuv420p frame with ``frame``'s colour tags (matrix and range), so swscale converts it alike."""
    import av

    out = av.VideoFrame(width, height, YUV)
    out.colorspace, out.color_range = frame.colorspace, frame.color_range
    return out


def _fill(out: av.VideoFrame, sources: tuple[np.ndarray, ...]) -> av.VideoFrame:
    for dst, src in zip(planes(out), sources, strict=True):
        dst[...] = src
    return out


def crop(frame: av.VideoFrame, x: int, y: int, w: int, h: int) -> av.VideoFrame:
    """The window (x, y, w, h) of a yuv420p frame as a new frame; x, y, w and h are rounded down to even."""
    x, y, w, h = x & ~1, y & ~1, max(2, w & ~1), max(2, h & ~1)
    luma, u, v = planes(frame)
    windows = (luma[y:y + h, x:x + w], u[y // 2:(y + h) // 2, x // 2:(x + w) // 2],
               v[y // 2:(y + h) // 2, x // 2:(x + w) // 2])
    return _fill(_new_like(frame, w, h), windows)


def copy(frame: av.VideoFrame) -> av.VideoFrame:
    """A yuv420p frame with its own pixels (stages blend in place: one frame shown twice must not be hit twice)."""
    return _fill(_new_like(frame, frame.width, frame.height), planes(frame))


def rotate(frame: av.VideoFrame, turns: int) -> av.VideoFrame:
    """A yuv420p frame turned ``turns`` quarter turns counter-clockwise (``numpy.rot90``'s direction)."""
    import numpy as np

    turned = tuple(np.rot90(plane, k=turns) for plane in planes(frame))
    return _fill(_new_like(frame, turned[0].shape[1], turned[0].shape[0]), turned)


UNSPECIFIED, BT709, BT601 = 2, 1, 6  # AVColorSpace values


def tag_untagged(frame: av.VideoFrame) -> av.VideoFrame:
    """Give a frame without a colour-matrix tag the one players assume: BT.709 from 720 lines (or 1280
    columns) up, BT.601 below (what mpv and browsers do). swscale would take BT.601 for every untagged frame."""
    if frame.colorspace == UNSPECIFIED:
        frame.colorspace = BT709 if frame.height >= 720 or frame.width >= 1280 else BT601
    return frame


def as_yuv420p(frame: av.VideoFrame, reformatter: Any) -> av.VideoFrame:
    """A decoded frame as limited-range yuv420p (10-bit, 4:2:2, full-range "JPEG" YUV... converted by swscale,
    keeping the colour matrix; the stage after converts that to BT.709 as it resizes). The range is passed
    explicitly: PyAV would otherwise hand swscale an unspecified one, read as limited."""
    from av.video.reformatter import ColorRange

    full = frame.color_range == ColorRange.JPEG or frame.format.name.startswith("yuvj")
    if frame.format.name == YUV and not full:
        return frame
    return reformatter.reformat(frame, format=YUV, src_color_range=ColorRange.JPEG if full else None,
                                dst_color_range=ColorRange.MPEG)
