"""What ``check`` measures, from one demux pass: stream parameters, packet sizes, times and key flags.

Nothing is decoded, so a 3-minute 1080x1920 clip is measured in well under a second. No torch, no numpy.
"""

from __future__ import annotations

import itertools
import statistics
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from shortgen.errors import MediaError, UsageError
from shortgen.inspect import COLOR_PRIMARIES, COLOR_RANGES, COLOR_SPACES, COLOR_TRANSFERS, mp4_layout

H264_IDR = 5
H264_SLICE = 1


@dataclass(frozen=True)
class Packet:
    pts: float  # seconds
    dts: float
    size: int
    key: bool
    leading_ok: bool = True  # for a key packet: an H.264 IDR (a GOP no later picture can reach behind)


@dataclass
class AudioFacts:
    codec: str
    sample_rate: int
    channels: int


@dataclass
class Measurements:
    path: Path
    size_bytes: int
    container: str
    faststart: bool | None
    edit_list: bool | None
    codec: str
    profile: str | None
    pix_fmt: str | None
    width: int
    height: int
    colour: dict[str, str | None]
    video: list[Packet]  # decode order
    other_bytes: list[tuple[float, int]]  # (dts seconds, bytes) of every non-video packet
    audio: list[AudioFacts] = field(default_factory=list)

    @property
    def frame_steps(self) -> list[float]:
        times = sorted(p.pts for p in self.video)
        return [b - a for a, b in itertools.pairwise(times)]

    @property
    def frame_step(self) -> float:
        steps = self.frame_steps
        return statistics.median(steps) if steps else 0.0

    @property
    def duration(self) -> float:
        """Display time of the video: first frame to the end of the last one."""
        if not self.video:
            return 0.0
        times = [p.pts for p in self.video]
        return max(times) - min(times) + self.frame_step

    def timed_bytes(self) -> list[tuple[float, int]]:
        """Every packet as (seconds from the first, bytes), in time order: what a player must fetch when."""
        start = min((p.dts for p in self.video), default=0.0)
        items = [(p.dts, p.size) for p in self.video] + self.other_bytes
        return sorted((max(0.0, t - start), size) for t, size in items)


def measure(path: Path) -> Measurements:
    """Demux ``path`` once. Raises :class:`UsageError` for a missing path, :class:`MediaError` for a non-video."""
    import av

    from shortgen.media import quiet_libav

    path = Path(path)
    if not path.is_file():
        raise UsageError(f"{path} does not exist" if not path.exists() else f"{path} is not a file", "check the path")
    quiet_libav()
    try:
        with av.open(str(path)) as container:
            name = container.format.name
            if not container.streams.video or name == "image2" or name.endswith("_pipe"):
                raise MediaError(f"{path} has no video stream", "give a video file (MP4, MOV)")
            facts = _stream_facts(path, container)
            facts.video, facts.other_bytes = _packets(container, facts.codec)
    except (av.FFmpegError, UnicodeDecodeError):
        raise MediaError(f"{path} is not a video shortgen can read", "give an MP4 or MOV file") from None
    if not facts.video:
        raise MediaError(f"{path} has no video frames", "give a non-empty video")
    layout = mp4_layout(path)
    if layout is not None:
        facts.faststart, facts.edit_list = layout
    return facts


def _stream_facts(path: Path, container: Any) -> Measurements:
    ctx = container.streams.video[0].codec_context
    colour = {"range": COLOR_RANGES.get(int(ctx.color_range)), "matrix": COLOR_SPACES.get(int(ctx.colorspace)),
              "primaries": COLOR_PRIMARIES.get(int(ctx.color_primaries)),
              "transfer": COLOR_TRANSFERS.get(int(ctx.color_trc))}
    audio = [AudioFacts(s.codec_context.name, s.rate, s.channels) for s in container.streams.audio]
    return Measurements(path=path, size_bytes=path.stat().st_size, container=container.format.name,
                        faststart=None, edit_list=None, codec=ctx.name, profile=ctx.profile, pix_fmt=ctx.pix_fmt,
                        width=ctx.width, height=ctx.height, colour=colour, video=[], other_bytes=[], audio=audio)


def _packets(container: Any, codec: str) -> tuple[list[Packet], list[tuple[float, int]]]:
    video_stream = container.streams.video[0]
    length_size = _avcc_length_size(video_stream.codec_context.extradata) if codec == "h264" else None
    video: list[Packet] = []
    other: list[tuple[float, int]] = []
    for packet in container.demux():
        if not packet.size or (packet.dts is None and packet.pts is None):
            continue
        base = packet.time_base
        dts = float((packet.dts if packet.dts is not None else packet.pts) * base)
        if packet.stream.index != video_stream.index:
            other.append((dts, packet.size))
            continue
        pts = float((packet.pts if packet.pts is not None else packet.dts) * base)
        key = bool(packet.is_keyframe)
        idr = H264_IDR in _h264_nal_types(bytes(packet), length_size) if key and codec == "h264" else True
        video.append(Packet(pts, dts, packet.size, key, idr))
    return video, other


def _avcc_length_size(extradata: bytes | None) -> int | None:
    """NAL length field size from an avcC record; ``None`` for Annex B (start codes)."""
    if extradata and len(extradata) > 4 and extradata[0] == 1:
        return (extradata[4] & 3) + 1
    return None


def _h264_nal_types(data: bytes, length_size: int | None) -> list[int]:
    if length_size is None:  # Annex B: 00 00 01 start codes
        return [data[i + 3] & 0x1F for i in range(len(data) - 3) if data[i:i + 3] == b"\0\0\1"]
    types, offset = [], 0
    while offset + length_size < len(data):
        size = int.from_bytes(data[offset:offset + length_size], "big")
        types.append(data[offset + length_size] & 0x1F)
        offset += length_size + size
    return types
