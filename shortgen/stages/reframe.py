"""Reframe landscape (or any non-9:16) footage into the output frame: crop, pad, blur or track.

Spec dict (from :func:`resize_spec`)::

    {"key": "reframe", "width": 1080, "height": 1920, "method": "lanczos", "fit": "blur",
     "pad_color": "#000000", "crop_x": 0.5, "crop_y": 0.5}

- ``crop``: a window with the output's aspect ratio at ``crop_x``/``crop_y`` (0 = left/top edge, 1 =
  right/bottom), cropped and resized in one swscale pass (what the upscale stage does for the centre).
- ``pad``: the whole frame, scaled to fit, centred on a solid colour.
- ``blur``: the whole frame, scaled to fit, over a heavily blurred, darkened, cover-cropped copy of itself.
  The copy is made from the already scaled frame at 1/12 of the output size, blurred there (three box
  passes ≈ a Gaussian) and scaled up bilinearly: a few ms on top of the scaling itself.
- ``track``: a crop window that follows faces, people or motion (:mod:`shortgen.stages.track`).

A source already within :data:`NEAR_ASPECT` of the output's aspect ratio is simply cover-scaled whatever the
fit (bands of a few pixels would look like a mistake). Frames arrive as RGB arrays or, from ``edit``, as the
decoder's yuv420p ``av.VideoFrame``s (resized directly: no RGB round trip; see :mod:`shortgen.yuv`); they leave
as yuv420p ``av.VideoFrame`` in BT.709, like the upscale stage's, so the captions stage blends onto them the
same way.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from shortgen.errors import UsageError
from shortgen.frames import Clip
from shortgen.overlay import is_yuv_frame

if TYPE_CHECKING:
    import numpy as np

    from shortgen.config import ReframeSpec

FITS = ("crop", "pad", "blur", "track")
RESAMPLERS = {"lanczos": "LANCZOS", "bicubic": "BICUBIC", "bilinear": "BILINEAR", "area": "AREA"}
NEAR_ASPECT = 0.02  # relative aspect difference under which every fit is a plain cover-scale
BLUR_SCALE = 12  # the blurred background is built at 1/BLUR_SCALE of the output size
BLUR_RADIUS = 4  # box radius at that size; three passes ≈ a Gaussian of sigma ≈ 8 px there, ~100 px in the output
BLUR_DARKEN = 0.6  # brightness kept in the blurred bands
_HEX = re.compile(r"#?([0-9a-fA-F]{6})(?:[0-9a-fA-F]{2})?")


# ------------------------------------------------------------------------------------------- geometry


@dataclass(frozen=True)
class Box:
    x: int
    y: int
    w: int
    h: int


def near_aspect(src_w: int, src_h: int, dst_w: int, dst_h: int, tolerance: float = NEAR_ASPECT) -> bool:
    return abs(src_w * dst_h - dst_w * src_h) <= tolerance * dst_w * src_h


def cover_window(src_w: int, src_h: int, dst_w: int, dst_h: int, fx: float = 0.5, fy: float = 0.5) -> Box:
    """The largest source window with the destination's aspect ratio; ``fx``/``fy`` place it (0: left/top edge,
    1: right/bottom edge, 0.5: centred like the upscale stage's cover-crop)."""
    if src_w * dst_h > dst_w * src_h:  # wider than the output: the window slides sideways
        w = max(1, min(src_w, round(src_h * dst_w / dst_h)))
        return Box(round((src_w - w) * fx), 0, w, src_h)
    h = max(1, min(src_h, round(src_w * dst_h / dst_w)))
    return Box(0, round((src_h - h) * fy), src_w, h)


def _even(value: float) -> int:
    return max(2, round(value / 2) * 2)


def contain_box(src_w: int, src_h: int, dst_w: int, dst_h: int) -> Box:
    """Where the whole source lands inside the destination: scaled to touch two sides, centred; even sizes and
    offsets (yuv420p shares chroma between 2x2 pixels)."""
    if src_w * dst_h >= dst_w * src_h:  # bands above and below
        h = min(dst_h, _even(dst_w * src_h / src_w))
        return Box(0, (dst_h - h) // 4 * 2, dst_w, h)
    w = min(dst_w, _even(dst_h * src_w / src_h))
    return Box((dst_w - w) // 4 * 2, 0, w, dst_h)


def parse_color(text: str) -> tuple[int, int, int]:
    """``#RRGGBB`` (or ``#RRGGBBAA``, alpha ignored) as an RGB tuple; anything else is a :class:`UsageError`."""
    match = _HEX.fullmatch(text.strip()) if isinstance(text, str) else None
    if match is None:
        raise UsageError(f"pad colour {text!r} is not a colour", "use #RRGGBB, e.g. --pad-color '#101010'")
    value = match[1]
    return int(value[0:2], 16), int(value[2:4], 16), int(value[4:6], 16)


# ------------------------------------------------------------------------------------ frame builders

FrameFn = Callable[[Any], Any]  # a source frame (RGB array or yuv420p av.VideoFrame) → a yuv420p frame


def _reformat(reformatter: Any, frame: Any, width: int, height: int, interpolation: str, fmt: str = "yuv420p",
              **extra: Any) -> Any:
    from av.video.reformatter import Colorspace

    if fmt == "yuv420p":
        extra.setdefault("dst_colorspace", Colorspace.ITU709)
    return reformatter.reformat(frame, width=width, height=height, format=fmt, interpolation=interpolation, **extra)


def wrap(frame: Any) -> Any:
    """A source frame as an ``av.VideoFrame`` without copying it: the decoder's yuv420p frame as it is, or an
    RGB array (or a strided window of one) that swscale reads in place. ``from_ndarray`` copies the whole frame
    first, which costs more than the resize for a 1920x1080 source (6 MB a frame)."""
    import av

    if is_yuv_frame(frame):
        return frame
    return av.VideoFrame.from_numpy_buffer(frame, format="rgb24")


def window_frame(frame: Any, box: Box, width: int, height: int, interpolation: str, reformatter: Any) -> Any:
    """The source window ``box`` of an RGB array or yuv420p frame resized to the output in one swscale pass
    (crop and track)."""
    if is_yuv_frame(frame):
        from shortgen import yuv

        window = yuv.crop(frame, box.x, box.y, box.w, box.h)
    else:
        window = wrap(frame[box.y:box.y + box.h, box.x:box.x + box.w])
    return _reformat(reformatter, window, width, height, interpolation)


def crop_frames(src_w: int, src_h: int, width: int, height: int, interpolation: str, fx: float = 0.5,
                fy: float = 0.5) -> FrameFn:
    from av.video.reformatter import VideoReformatter

    box, reformatter = cover_window(src_w, src_h, width, height, fx, fy), VideoReformatter()
    return lambda frame: window_frame(frame, box, width, height, interpolation, reformatter)


def _paste(canvas: Any, picture: Any, box: Box) -> Any:
    """Copy a yuv420p ``picture`` into ``canvas`` at ``box`` (even offsets), plane by plane."""
    from shortgen.overlay import yuv_planes

    for i, (dst, src) in enumerate(zip(yuv_planes(canvas), yuv_planes(picture), strict=True)):
        shift = 0 if i == 0 else 1
        y, x = box.y >> shift, box.x >> shift
        dst[y:y + src.shape[0], x:x + src.shape[1]] = src
    return canvas


def solid_frame(width: int, height: int, rgb: tuple[int, int, int]) -> Any:
    """A yuv420p frame of one colour, converted by swscale exactly like the pictures pasted onto it."""
    import av
    import numpy as np
    from av.video.reformatter import VideoReformatter

    dot = av.VideoFrame.from_ndarray(np.full((2, 2, 3), rgb, np.uint8), format="rgb24")
    return _reformat(VideoReformatter(), dot, width, height, "POINT")


def pad_frames(src_w: int, src_h: int, width: int, height: int, interpolation: str,
               color: tuple[int, int, int]) -> FrameFn:
    import av
    from av.video.reformatter import VideoReformatter

    from shortgen.overlay import yuv_planes

    box, reformatter = contain_box(src_w, src_h, width, height), VideoReformatter()
    template = [plane.copy() for plane in yuv_planes(solid_frame(width, height, color))]

    def build(frame: Any) -> Any:
        canvas = av.VideoFrame(width, height, "yuv420p")
        for dst, src in zip(yuv_planes(canvas), template, strict=True):
            dst[...] = src
        picture = _reformat(reformatter, wrap(frame), box.w, box.h, interpolation)
        return _paste(canvas, picture, box)

    return build


def box_blur(image: np.ndarray, radius: int, passes: int = 3) -> np.ndarray:
    """Separable box blur of an (h, w, c) image, edges extended; ``passes`` boxes approach a Gaussian."""
    import numpy as np

    out = image.astype(np.float32)
    for _ in range(passes):
        for axis in (0, 1):
            n = out.shape[axis]
            pad = [(0, 0)] * out.ndim
            pad[axis] = (radius + 1, radius)
            total = np.cumsum(np.pad(out, pad, mode="edge"), axis=axis, dtype=np.float32)
            high, low = [slice(None)] * out.ndim, [slice(None)] * out.ndim
            high[axis], low[axis] = slice(2 * radius + 1, 2 * radius + 1 + n), slice(0, n)
            out = (total[tuple(high)] - total[tuple(low)]) * (1 / (2 * radius + 1))
    return out


def blur_frames(src_w: int, src_h: int, width: int, height: int, interpolation: str,
                darken: float = BLUR_DARKEN) -> FrameFn:
    """Whole frame over its own blurred, darkened cover-crop (see the module notes for the cost)."""
    import numpy as np
    from av.video.reformatter import Colorspace, VideoReformatter

    box = contain_box(src_w, src_h, width, height)
    small_w, small_h = max(8, width // BLUR_SCALE), max(8, height // BLUR_SCALE)
    # The background is a cover-crop of the scaled picture: scale the picture so the crop is small_w x small_h.
    cover = cover_window(box.w, box.h, small_w, small_h)
    scale = small_w / cover.w if cover.w < box.w else small_h / cover.h
    mid_w, mid_h = max(small_w, round(box.w * scale)), max(small_h, round(box.h * scale))
    inner = cover_window(mid_w, mid_h, small_w, small_h)
    fg_scaler, down, up = VideoReformatter(), VideoReformatter(), VideoReformatter()

    def build(frame: Any) -> Any:
        picture = _reformat(fg_scaler, wrap(frame), box.w, box.h, interpolation)
        small = _reformat(down, picture, mid_w, mid_h, "AREA", "rgb24", src_colorspace=Colorspace.ITU709).to_ndarray()
        small = small[inner.y:inner.y + inner.h, inner.x:inner.x + inner.w]
        soft = np.clip(box_blur(small, BLUR_RADIUS) * darken + 0.5, 0, 255).astype(np.uint8)
        canvas = _reformat(up, wrap(soft), width, height, "FAST_BILINEAR")  # after the blur nothing is sharp
        return _paste(canvas, picture, box)

    return build


# ---------------------------------------------------------------------------------------------- stage


def check_fit(fit: str, crop_x: float, crop_y: float, pad_color: str) -> None:
    if fit not in FITS:
        raise UsageError(f"unknown fit '{fit}'; available: {', '.join(FITS)}")
    for name, value in (("--crop-x", crop_x), ("--crop-y", crop_y)):
        if not isinstance(value, (int, float)) or not 0 <= value <= 1:
            raise UsageError(f"{name} {value!r} is outside 0-1", "0 is the left/top edge, 1 the right/bottom")
    parse_color(pad_color)


@dataclass
class ReframeStage:
    width: int
    height: int
    fit: str = "crop"
    method: str = "lanczos"
    pad_color: str = "#000000"
    crop_x: float = 0.5
    crop_y: float = 0.5
    pixel_format: str = "yuv420p"  # or "rgb24" (arrays; for Python callers and checks)
    track: Mapping[str, Any] = field(default_factory=dict)  # TrackSettings fields, for tuning
    path: list[float] | None = None  # a list given here receives the track window's offset for every frame
    key: str = "reframe"

    def __post_init__(self) -> None:
        check_fit(self.fit, self.crop_x, self.crop_y, self.pad_color)
        if self.method not in RESAMPLERS:
            raise UsageError(f"unknown upscale method '{self.method}'; available: {', '.join(RESAMPLERS)}")
        if self.fit == "track":
            from shortgen.stages.track import require_opencv

            require_opencv()

    @property
    def takes_yuv(self) -> bool:
        """Every fit resizes the decoder's yuv420p frames directly (track analyses a small RGB copy of them)."""
        return True

    def extra_frames(self, num_frames: int, fps: float) -> int:
        return 0

    def effective_fit(self, src_w: int, src_h: int) -> str:
        return "scale" if near_aspect(src_w, src_h, self.width, self.height) else self.fit

    def apply(self, clip: Clip) -> Clip:
        if self.fit == "track" and clip.num_frames <= 0:
            source = clip.info.get("source", "the source")
            raise UsageError(f"--fit track needs frames to follow; {source} has none", "give a non-empty video")
        fit = self.effective_fit(clip.width, clip.height)
        info = {**clip.info, "reframe": self.describe(clip, fit)}
        frames = self._frames(clip, fit)
        if self.pixel_format == "rgb24":
            from shortgen.overlay import to_rgb

            frames = (to_rgb(frame) for frame in frames)
        return clip.with_frames(frames, width=self.width, height=self.height, info=info)

    def describe(self, clip: Clip, fit: str) -> dict[str, Any]:
        data: dict[str, Any] = {"fit": self.fit, "applied": fit, "source_size": f"{clip.width}x{clip.height}"}
        if fit == "crop":
            box = cover_window(clip.width, clip.height, self.width, self.height, self.crop_x, self.crop_y)
            data.update(crop_x=self.crop_x, crop_y=self.crop_y, window=[box.x, box.y, box.w, box.h])
        elif fit in ("pad", "blur"):
            box = contain_box(clip.width, clip.height, self.width, self.height)
            data["picture"] = [box.x, box.y, box.w, box.h]
            if fit == "pad":
                data["pad_color"] = self.pad_color
        return data

    def _frames(self, clip: Clip, fit: str) -> Iterator[Any]:
        interpolation = RESAMPLERS[self.method]
        size = (clip.width, clip.height, self.width, self.height, interpolation)
        if fit == "track":
            from shortgen.stages.track import TrackSettings, track_frames

            settings = TrackSettings(fps=float(clip.fps), **self.track)
            return track_frames(clip, self.width, self.height, interpolation, settings, self.path)
        build: FrameFn
        if fit == "pad":
            build = pad_frames(*size, parse_color(self.pad_color))
        elif fit == "blur":
            build = blur_frames(*size)
        elif fit == "crop":
            build = crop_frames(*size, self.crop_x, self.crop_y)
        else:
            build = crop_frames(*size)
        return _mapped(build, clip.frames)


def _mapped(build: FrameFn, frames: Iterable[Any]) -> Iterator[Any]:
    for frame in frames:
        yield build(frame)


# ------------------------------------------------------------------------------------ specs and stills


def resize_spec(spec: ReframeSpec, width: int, height: int, method: str) -> dict[str, Any]:
    """The stage that brings frames to the output size: the upscale stage for the plain centre crop (today's
    path, unchanged), the reframe stage for any other fit or crop position."""
    base = {"width": width, "height": height, "method": method}
    if spec.fit == "crop" and spec.crop_x == 0.5 and spec.crop_y == 0.5:
        return {"key": "upscale", **base}
    return {"key": "reframe", **base, "fit": spec.fit, "pad_color": spec.pad_color, "crop_x": spec.crop_x,
            "crop_y": spec.crop_y}


def fit_still(rgb: np.ndarray, width: int, height: int, spec: ReframeSpec | None) -> np.ndarray:
    """One RGB still placed into ``width``x``height`` with the preset's fit (``--image`` for make)."""
    import numpy as np

    from shortgen.frames import as_fraction

    fit = spec.fit if spec is not None else "crop"
    stage = ReframeStage(width, height, fit=fit, pad_color=spec.pad_color if spec else "#000000",
                         crop_x=spec.crop_x if spec else 0.5, crop_y=spec.crop_y if spec else 0.5,
                         pixel_format="rgb24")
    clip = Clip(rgb.shape[1], rgb.shape[0], as_fraction(1), 1, [rgb])
    return np.ascontiguousarray(next(iter(stage.apply(clip).frames)))
