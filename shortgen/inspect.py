"""Probe a video file: geometry, rate, length, codecs, bitrate, MP4 layout, colour tags, loop seam score,
loudness (EBU R128 integrated loudness and true peak, by FFmpeg's ``ebur128``, see :mod:`shortgen.audio`).

The figures come from FFmpeg's demuxer and decoders through PyAV (the same numbers ``ffprobe`` prints);
the MP4 layout (``moov`` before ``mdat``, edit lists) from the file's own box headers. The seam score
decodes every frame, shrunk to a thumbnail first (``SEAM_WIDTH`` pixels wide), so it is cheap even at
1080x1920. No torch, no diffusers: ``shortgen inspect`` starts instantly.
"""

from __future__ import annotations

import struct
from dataclasses import asdict, dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any, BinaryIO

from shortgen.errors import MediaError
from shortgen.media import decoded_frames, is_still_image, packet_times, refuse_still
from shortgen.paths import check_input_file, os_error
from shortgen.seam import SEAMLESS_THRESHOLD, SeamMeter, image_difference

SEAM_WIDTH = 64

# FFmpeg's names for the colour tags (libavutil's av_color_*_name), by enum value; unspecified → None.
COLOR_RANGES = {1: "tv", 2: "pc"}
COLOR_SPACES = {0: "gbr", 1: "bt709", 4: "fcc", 5: "bt470bg", 6: "smpte170m", 7: "smpte240m", 8: "ycgco",
                9: "bt2020nc", 10: "bt2020c"}
COLOR_PRIMARIES = {1: "bt709", 4: "bt470m", 5: "bt470bg", 6: "smpte170m", 7: "smpte240m", 8: "film",
                   9: "bt2020", 10: "smpte428", 11: "smpte431", 12: "smpte432", 22: "ebu3213"}
COLOR_TRANSFERS = {1: "bt709", 4: "gamma22", 5: "gamma28", 6: "smpte170m", 7: "smpte240m", 8: "linear",
                   13: "iec61966-2-1", 14: "bt2020-10", 15: "bt2020-12", 16: "smpte2084", 18: "arib-std-b67"}

# MP4 boxes that only hold other boxes, on the way from moov to an edit list.
_CONTAINER_BOXES = {b"moov", b"trak", b"edts"}


@dataclass
class AudioTrack:
    codec: str
    profile: str | None
    sample_rate: int
    channels: int
    layout: str | None
    bitrate_kbps: float | None
    language: str | None


@dataclass
class SubtitleTrack:
    codec: str
    language: str | None


@dataclass
class VideoReport:
    path: str
    size_bytes: int
    container: str
    width: int
    height: int
    fps: float
    fps_fraction: str
    duration: float | None  # the container's duration, as ffprobe's format section reports it
    video_duration: float | None
    frames: int
    codec: str
    profile: str | None
    pix_fmt: str | None
    video_bitrate_kbps: float | None
    bitrate_kbps: float | None  # the whole file
    color_range: str | None
    color_space: str | None
    color_primaries: str | None
    color_transfer: str | None
    faststart: bool | None  # moov before mdat; None for a file that is not MP4/MOV
    edit_list: bool | None
    audio: list[AudioTrack] = field(default_factory=list)
    subtitles: list[SubtitleTrack] = field(default_factory=list)
    seam_score: float | None = None
    damaged_frames: int | None = None  # frames the demuxer lists that do not decode (counted with the seam)
    # The first audio track's EBU R128 integrated loudness and true peak (None: no sound, or not measured).
    loudness_lufs: float | None = None
    true_peak_db: float | None = None
    warnings: list[str] = field(default_factory=list)

    @property
    def seamless(self) -> bool | None:
        return None if self.seam_score is None else self.seam_score <= SEAMLESS_THRESHOLD

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "seamless": self.seamless}


def inspect_video(path: Path, *, seam: bool = True, loudness: bool = True) -> VideoReport:
    """Probe ``path``. Raises :class:`UsageError` for a missing path, :class:`MediaError` for a non-video.
    ``loudness``: decode the first audio track and measure it (about 0.5 s for a 30 s clip)."""
    import av

    from shortgen.media import quiet_libav

    quiet_libav()

    path = Path(path)
    check_input_file(path, "")
    try:
        with av.open(str(path)) as container:
            if container.streams.video and is_still_image(container.format.name):
                raise refuse_still(path)
            if not container.streams.video:
                raise MediaError(f"{path} has no video stream", "give a video file (MP4, MOV, WebM)")
            report = _describe(path, container)
            listed = sum(1 for _ in packet_times(container, container.streams.video[0]))
    except (av.FFmpegError, UnicodeDecodeError):
        raise MediaError(f"{path} is not a video shortgen can read", "give an MP4, MOV or WebM file") from None
    except OSError as err:
        raise os_error(err, path) from None
    boxes = mp4_layout(path)
    if boxes is not None:
        report.faststart, report.edit_list = boxes
    if seam:
        report.frames, score = measure_seam(path)
        if report.frames == 0:
            raise MediaError(f"{path} has no decodable video frames", "give a video that plays")
        report.damaged_frames = max(0, listed - report.frames)
        report.seam_score = None if score is None else round(score, 4)
    if loudness and report.audio:
        _measure_loudness(path, report)
    return report


def _measure_loudness(path: Path, report: VideoReport) -> None:
    from shortgen.audio.loudness import measure_file

    measured, warning = measure_file(path)
    report.loudness_lufs = None if measured.integrated_lufs is None else round(measured.integrated_lufs, 2)
    report.true_peak_db = None if measured.true_peak_db is None else round(measured.true_peak_db, 2)
    if warning:
        report.warnings.append(warning)


def _describe(path: Path, container: Any) -> VideoReport:
    stream = container.streams.video[0]
    ctx = stream.codec_context
    rate = stream.average_rate or stream.guessed_rate or Fraction(0)
    video_duration = float(stream.duration * stream.time_base) if stream.duration else None
    return VideoReport(
        path=str(path), size_bytes=path.stat().st_size, container=container.format.name,
        width=ctx.width, height=ctx.height, fps=round(float(rate), 3),
        fps_fraction=f"{rate.numerator}/{rate.denominator}",
        duration=container.duration / 1_000_000 if container.duration else None, video_duration=video_duration,
        frames=stream.frames, codec=ctx.name, profile=ctx.profile, pix_fmt=ctx.pix_fmt,
        video_bitrate_kbps=_kbps(ctx.bit_rate or stream.bit_rate), bitrate_kbps=_kbps(container.bit_rate),
        color_range=COLOR_RANGES.get(int(ctx.color_range)), color_space=COLOR_SPACES.get(int(ctx.colorspace)),
        color_primaries=COLOR_PRIMARIES.get(int(ctx.color_primaries)),
        color_transfer=COLOR_TRANSFERS.get(int(ctx.color_trc)), faststart=None, edit_list=None,
        audio=[_audio_track(s) for s in container.streams.audio],
        subtitles=[SubtitleTrack(s.codec_context.name, _language(s)) for s in container.streams.subtitles],
    )


def _audio_track(stream: Any) -> AudioTrack:
    ctx = stream.codec_context
    layout = getattr(stream.layout, "name", None)
    return AudioTrack(codec=ctx.name, profile=ctx.profile, sample_rate=stream.rate, channels=stream.channels,
                      layout=layout, bitrate_kbps=_kbps(ctx.bit_rate or stream.bit_rate), language=_language(stream))


def _language(stream: Any) -> str | None:
    language = stream.metadata.get("language")
    return None if language in (None, "", "und") else str(language)


def _kbps(bits_per_second: int | None) -> float | None:
    return round(bits_per_second / 1000, 1) if bits_per_second else None


def measure_seam(path: Path) -> tuple[int, float | None]:
    """Decode every frame as a small thumbnail; return the frame count and the loop seam score."""
    import av

    meter = SeamMeter(difference=image_difference)
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        width, height = _thumbnail_size(stream.codec_context.width, stream.codec_context.height)
        for frame in decoded_frames(container, stream):  # plays on past damaged packets, like ffmpeg
            meter.add(frame.reformat(width=width, height=height, format="rgb24").to_image())
    return meter.frames, meter.score()


def _thumbnail_size(width: int, height: int) -> tuple[int, int]:
    if width <= SEAM_WIDTH:
        return width, height
    return SEAM_WIDTH, max(2, round(height * SEAM_WIDTH / width))


def mp4_layout(path: Path) -> tuple[bool, bool] | None:
    """``(faststart, edit_list)`` from an MP4/MOV's boxes; ``None`` when the file has no moov or mdat box."""
    with path.open("rb") as handle:
        size = path.stat().st_size
        top = list(mp4_boxes(handle, 0, size))
        kinds = [kind for kind, _, _ in top]
        if b"moov" not in kinds or b"mdat" not in kinds:
            return None
        moov = next((start, end) for kind, start, end in top if kind == b"moov")
        edit_list = _contains(handle, *moov, b"elst")
    return kinds.index(b"moov") < kinds.index(b"mdat"), edit_list


def mp4_boxes(handle: BinaryIO, start: int, end: int) -> Any:
    """``(type, payload_start, box_end)`` of each box between ``start`` and ``end``, reading only headers."""
    offset = start
    while offset + 8 <= end:
        handle.seek(offset)
        size, kind = struct.unpack(">I4s", handle.read(8))
        header = 8
        if size == 1:
            size, header = struct.unpack(">Q", handle.read(8))[0], 16
        elif size == 0:  # the box runs to the end of the file
            size = end - offset
        if size < header:
            return
        yield kind, offset + header, min(end, offset + size)
        offset += size


def _contains(handle: BinaryIO, start: int, end: int, wanted: bytes) -> bool:
    for kind, payload, box_end in list(mp4_boxes(handle, start, end)):
        if kind == wanted or (kind in _CONTAINER_BOXES and _contains(handle, payload, box_end, wanted)):
            return True
    return False


__all__ = ["AudioTrack", "SubtitleTrack", "VideoReport", "inspect_video", "mp4_layout"]
