"""Reading media: videos as lazy frame streams, still images for conditioning."""

from __future__ import annotations

import itertools
import statistics
from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING, Any

from shortgen.errors import MediaError, UsageError
from shortgen.frames import AudioSpec, Clip, as_fraction

if TYPE_CHECKING:
    import numpy as np

    from shortgen.config import ReframeSpec


def quiet_libav() -> None:
    """Keep FFmpeg's own log lines off stderr; failures reach the user as one-line errors instead."""
    import av.logging

    av.logging.set_level(av.logging.PANIC)


def _open(path: Path):
    import av

    if not path.is_file():
        raise UsageError(f"{path} does not exist", "check the path")
    quiet_libav()
    try:
        return av.open(str(path))
    except (av.FFmpegError, UnicodeDecodeError):
        raise MediaError(f"{path} is not a video shortgen can read", "give an MP4, MOV or WebM file") from None


def open_video(path: Path, *, constant_fps: Fraction | None = None) -> Clip:
    """A clip that decodes ``path`` frame by frame when iterated, upright, at a constant frame rate; its audio
    passes through.

    Phone videos are usually stored sideways with a rotation in their display matrix; frames are turned the
    way players (and ffmpeg's autorotate) show them, and the clip's size is the upright one. Phones also record
    at a variable frame rate, which the platforms do not take: such a video is resampled by timestamp (the
    nearest frame for each tick) to ``constant_fps``, or to its average rate rounded to whole frames per second.
    """
    with _open(path) as container:
        if not container.streams.video:
            raise MediaError(f"{path} has no video stream", "give a video file")
        stream = container.streams.video[0]
        average = as_fraction(stream.average_rate or stream.guessed_rate or 30)
        times = sorted(float(p.pts * stream.time_base) for p in container.demux(stream) if p.size and p.pts is not None)
    with _open(path) as container:
        stream = container.streams.video[0]
        has_audio = bool(container.streams.audio)
        width, height = stream.codec_context.width, stream.codec_context.height
        first = next(container.decode(stream), None)
    if not times or first is None:
        raise UsageError(f"{path} has no frames", "give a non-empty video")
    if quarter_turns(first.rotation) % 2:
        width, height = height, width
    audio = AudioSpec(path=path) if has_audio else None
    info: dict[str, object] = {"source": str(path), "rotation": first.rotation}
    if is_variable_rate(times):
        fps = constant_fps or Fraction(max(1, round(average)))
        count = max(1, round(_span(times) * fps))
        info["variable_frame_rate"] = True
        return Clip(width, height, fps, count, _at_constant_rate(_decode_rgb(path, with_times=True), fps, count),
                    audio=audio, info=info)
    return Clip(width, height, average, len(times), _decode_rgb(path), audio=audio, info=info)


def _steps(times: list[float]) -> list[float]:
    return [b - a for a, b in itertools.pairwise(times)]


def is_variable_rate(times: list[float]) -> bool:
    """Frame-to-frame steps that differ by more than a tenth of the typical step (timestamp rounding aside)."""
    steps = _steps(times)
    if len(steps) < 2:
        return False
    typical = statistics.median(steps)
    return max(abs(step - typical) for step in steps) > max(0.1 * typical, 0.002)


def _span(times: list[float]) -> float:
    """Display time of a stream: first timestamp to last, plus one typical frame."""
    steps = _steps(times)
    return times[-1] - times[0] + (statistics.median(steps) if steps else 0.0)


def _at_constant_rate(timed: Iterator[tuple[float, np.ndarray]], fps: Fraction, count: int) -> Iterator[np.ndarray]:
    """``count`` frames at ``fps``: for each tick, the frame whose timestamp is nearest."""
    emitted = 0
    previous_time, previous = next(timed)
    start = previous_time
    for time, frame in timed:
        midpoint = (previous_time + time) / 2 - start
        while emitted < count and emitted / fps < midpoint:
            yield previous
            emitted += 1
        previous_time, previous = time, frame
    while emitted < count:
        yield previous
        emitted += 1


def quarter_turns(rotation: float) -> int:
    """Counter-clockwise quarter turns for a display-matrix rotation in degrees (90 → 1, -90 → 3)."""
    return round(rotation / 90) % 4


def _decode_rgb(path: Path, *, with_times: bool = False) -> Iterator[Any]:
    """Upright RGB frames in presentation order (with their times in seconds when ``with_times``)."""
    import numpy as np
    from av.video.reformatter import VideoReformatter

    with _open(path) as container:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        reformatter = VideoReformatter()  # one swscale context for the stream, not one per frame
        for frame in container.decode(stream):
            rgb = reformatter.reformat(frame, format="rgb24").to_ndarray()
            turns = quarter_turns(frame.rotation)
            upright = np.ascontiguousarray(np.rot90(rgb, k=turns)) if turns else rgb
            yield (float(frame.time or 0.0), upright) if with_times else upright


def load_image(path: Path, width: int, height: int, fit: ReframeSpec | None = None) -> np.ndarray:
    """Read a still and place it into ``width``x``height`` RGB (the model's generation size): cover-cropped
    around its centre, or with ``fit`` (a preset's reframe section: pad, blur, track, a crop position)."""
    import numpy as np
    from PIL import Image, ImageOps, UnidentifiedImageError

    if not path.is_file():
        raise UsageError(f"image {path} does not exist", "check the --image path")
    centre_crop = fit is None or (fit.fit == "crop" and fit.crop_x == 0.5 and fit.crop_y == 0.5)
    try:
        with Image.open(path) as img:
            img = ImageOps.exif_transpose(img).convert("RGB")
            if centre_crop:
                img = ImageOps.fit(img, (width, height), method=Image.Resampling.LANCZOS)
            rgb = np.asarray(img, dtype=np.uint8)
    except (UnidentifiedImageError, OSError):
        raise UsageError(f"{path} is not an image shortgen can read", "give a PNG, JPEG or WebP file") from None
    if centre_crop:
        return rgb
    from shortgen.stages.reframe import fit_still

    return fit_still(rgb, width, height, fit)
