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
from shortgen.paths import check_input_file, os_error

if TYPE_CHECKING:
    import numpy as np

    from shortgen.config import ReframeSpec


def quiet_libav() -> None:
    """Keep FFmpeg's own log lines off stderr; failures reach the user as one-line errors instead.

    PyAV's "no log" callback, not a level: any level installs a callback that takes the GIL, and a decoder's
    frame thread logging while another thread holds the GIL to close that decoder deadlocks (seen when the
    encoder's prefetch thread closed a source cut short by --duration)."""
    import av.logging

    av.logging.set_level(None)


def _open(path: Path):
    import av

    check_input_file(path, "")
    quiet_libav()
    try:
        return av.open(str(path))
    except (av.FFmpegError, UnicodeDecodeError):
        raise MediaError(f"{path} is not a video shortgen can read", "give an MP4, MOV or WebM file") from None
    except OSError as err:
        raise os_error(err, path) from None


def is_still_image(format_name: str) -> bool:
    """FFmpeg opens PNG, JPEG, WebP... as one-frame "videos" through its image demuxers."""
    return format_name == "image2" or format_name.endswith("_pipe")


def refuse_still(path: Path) -> UsageError:
    return UsageError(f"{path} is a still image, not a video",
                      f"to start a clip from it, run: shortgen make PROMPT --image {path}")


def open_video(path: Path, *, constant_fps: Fraction | None = None, convert_fps: bool = False,
               yuv: bool = False) -> Clip:
    """A clip that decodes ``path`` frame by frame when iterated, upright, at a constant frame rate; its audio
    passes through.

    Phone videos are usually stored sideways with a rotation in their display matrix; frames are turned the
    way players (and ffmpeg's autorotate) show them, and the clip's size is the upright one. Phones also record
    at a variable frame rate, which the platforms do not take: such a video is resampled by timestamp (the
    nearest frame for each tick) to ``constant_fps``, or to its average rate rounded to whole frames per second.
    With ``convert_fps`` a constant-rate video is resampled to ``constant_fps`` the same way (frames repeated or
    dropped, duration kept).

    Frames are RGB arrays, or with ``yuv`` the decoder's own frames as yuv420p ``av.VideoFrame``s (their
    colour matrix tagged), for a first stage that resizes them without a round trip through RGB.
    """
    with _open(path) as container:
        if not container.streams.video:
            raise MediaError(f"{path} has no video stream", "give a video file")
        stream = container.streams.video[0]
        average = as_fraction(stream.average_rate or stream.guessed_rate or 30)
        expected = sorted(packet_times(container, stream))
        if is_still_image(container.format.name) or len(expected) == 1:
            raise refuse_still(path)
        times = [float(pts * stream.time_base) for pts in expected]
    with _open(path) as container:
        stream = container.streams.video[0]
        has_audio = bool(container.streams.audio)
        width, height = stream.codec_context.width, stream.codec_context.height
        first = next(decoded_frames(container, stream), None)
    if not times or first is None:
        raise MediaError(f"{path} has no decodable video frames", "give a video that plays")
    if quarter_turns(first.rotation) % 2:
        width, height = height, width
    audio = AudioSpec(path=path) if has_audio else None
    info: dict[str, object] = {"source": str(path), "rotation": first.rotation}
    facts: dict[str, Any] = {}
    variable = is_variable_rate(times)
    if variable or (convert_fps and constant_fps and constant_fps != average):  # publish: constant rates too
        fps = constant_fps or Fraction(max(1, round(average)))
        count = max(1, round(_span(times) * fps))
        info["variable_frame_rate" if variable else "converted_frame_rate"] = True if variable else float(average)
        timed = _counting_gaps(_decode(path, yuv, with_times=True), len(times), path, facts)
        return Clip(width, height, fps, count, _at_constant_rate(timed, fps, count), audio=audio, info=info,
                    facts=facts)
    frames = _filling_gaps(_decode(path, yuv, with_pts=True), expected, path, facts)
    return Clip(width, height, average, len(times), frames, audio=audio, info=info, facts=facts)


def packet_times(container: Any, stream: Any) -> Iterator[int]:
    """The presentation timestamps of the stream's frames, as the demuxer lists them (up to any damage
    that stops the demuxer itself)."""
    for packet in readable_packets(container, stream):
        if packet.size and packet.pts is not None and not packet.is_discard:
            yield packet.pts


def readable_packets(container: Any, stream: Any) -> Iterator[Any]:
    """The stream's packets up to the end, or up to damage that stops the demuxer itself (a file cut off)."""
    import av

    packets = container.demux(stream)
    while True:
        try:
            yield next(packets)
        except (StopIteration, av.FFmpegError):
            return


def decoded_frames(container: Any, stream: Any) -> Iterator[Any]:
    """Every frame of ``stream`` that decodes, in presentation order, playing on past damage the way ffmpeg
    does: a packet the decoder rejects is skipped; a demuxer error (a file cut off) ends the stream."""
    import av

    for packet in readable_packets(container, stream):
        try:
            decoded = packet.decode()
        except av.FFmpegError:
            continue
        yield from decoded


def damage_warning(path: Path, replaced: int, total: int, *,
                   done: str = "each was replaced by its neighbour") -> str:
    return f"{path}: {replaced} of {total} frames could not be decoded (damaged or truncated); {done}"


def _record_damage(facts: dict[str, Any], path: Path, replaced: int, total: int) -> None:
    """Stages report what they notice while frames stream through ``facts["warnings"]`` (one message per
    topic, kept up to date, so a stream that is not read to its end still reports what it met)."""
    facts["damaged_frames"] = replaced
    facts.setdefault("warnings", {})["damaged_frames"] = damage_warning(path, replaced, total)


def _filling_gaps(timed: Iterator[tuple[int | None, np.ndarray]], expected: list[int], path: Path,
                  facts: dict[str, Any]) -> Iterator[np.ndarray]:
    """One frame per expected timestamp: a frame that did not decode is replaced by its neighbour (the one
    before it; the first decodable one for a damaged opening)."""
    replaced = 0
    previous = None
    index = 0
    for pts, frame in timed:
        if index == len(expected):
            break
        if pts is not None and pts < expected[index]:
            continue  # a frame the demuxer did not list
        missing = 0
        while pts is not None and index + missing < len(expected) - 1 and expected[index + missing] < pts:
            missing += 1
        if missing:
            replaced += missing
            _record_damage(facts, path, replaced, len(expected))
            for _ in range(missing):
                yield frame if previous is None else previous
        index += missing + 1
        previous = frame
        yield frame
    if previous is not None and index < len(expected):
        replaced += len(expected) - index
        _record_damage(facts, path, replaced, len(expected))
        for _ in range(len(expected) - index):
            yield previous


def _counting_gaps(timed: Iterator[tuple[float, np.ndarray]], total: int, path: Path,
                   facts: dict[str, Any]) -> Iterator[tuple[float, np.ndarray]]:
    """A variable-rate stream is resampled by timestamp, which fills gaps with the nearest frame already;
    this only counts the frames that did not decode."""
    decoded = 0
    for item in timed:
        decoded += 1
        yield item
    if decoded < total:
        _record_damage(facts, path, total - decoded, total)


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


def _decode(path: Path, yuv: bool = False, *, with_times: bool = False, with_pts: bool = False) -> Iterator[Any]:
    """Upright frames in presentation order, damaged ones skipped (with their times in seconds when
    ``with_times``, their timestamps in the stream's time base when ``with_pts``): RGB arrays, or yuv420p
    ``av.VideoFrame``s with ``yuv``."""
    from av.video.reformatter import VideoReformatter

    from shortgen.yuv import tag_untagged

    with _open(path) as container:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        reformatter = VideoReformatter()  # one swscale context for the stream, not one per frame
        upright = _upright_yuv if yuv else _upright_rgb
        for frame in decoded_frames(container, stream):
            picture = upright(tag_untagged(frame), reformatter)
            if with_times:
                yield float(frame.time or 0.0), picture
            elif with_pts:
                yield frame.pts, picture
            else:
                yield picture


def _upright_rgb(frame: Any, reformatter: Any) -> np.ndarray:
    import numpy as np
    from av.video.reformatter import ColorRange

    full = frame.color_range == ColorRange.JPEG  # passed on: PyAV would hand swscale an unspecified range
    rgb = reformatter.reformat(frame, format="rgb24", src_color_range=ColorRange.JPEG if full else None).to_ndarray()
    turns = quarter_turns(frame.rotation)
    return np.ascontiguousarray(np.rot90(rgb, k=turns)) if turns else rgb


def _upright_yuv(frame: Any, reformatter: Any) -> Any:
    from shortgen import yuv

    picture = yuv.as_yuv420p(frame, reformatter)
    turns = quarter_turns(frame.rotation)
    return yuv.rotate(picture, turns) if turns else picture


def load_image(path: Path, width: int, height: int, fit: ReframeSpec | None = None) -> np.ndarray:
    """Read a still and place it into ``width``x``height`` RGB (the model's generation size): cover-cropped
    around its centre, or with ``fit`` (a preset's reframe section: pad, blur, track, a crop position)."""
    import numpy as np
    from PIL import Image, ImageOps, UnidentifiedImageError

    check_input_file(path, "image", "check the --image path")
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
