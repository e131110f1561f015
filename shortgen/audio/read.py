"""Reading sound from media files the way ffmpeg plays it: past damaged packets.

A packet the decoder rejects, or a span the stream skips, becomes silence of the same length (placed by the
packets' own timestamps, so what follows stays in sync); the caller gets a :class:`DecodeReport` that counts
the damage, to say once in one warning. Only a file that cannot be opened at all, or has no audio stream, is
an error.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from shortgen.errors import MediaError, UsageError

if TYPE_CHECKING:
    import numpy as np

LAYOUT = "stereo"
CHANNELS = 2


@dataclass
class DecodeReport:
    """What went wrong while decoding one track (nothing, usually)."""

    label: str
    damaged_packets: int = 0
    damaged_seconds: float = 0.0
    stopped_at: float | None = None  # the container itself could not be read past this time (seconds)

    @property
    def damaged(self) -> bool:
        return bool(self.damaged_packets) or self.stopped_at is not None

    def warning(self) -> str | None:
        """One line for the user, or None when the track decoded cleanly."""
        if not self.damaged:
            return None
        parts = []
        if self.damaged_packets:
            packets = "packet" if self.damaged_packets == 1 else "packets"
            parts.append(f"{self.damaged_packets} damaged audio {packets} ({self.damaged_seconds:.2f} s)")
        if self.stopped_at is not None:
            parts.append(f"unreadable after {self.stopped_at:.2f} s")
        return f"{self.label}: {', '.join(parts)}; played on with silence there"

    def to_dict(self) -> dict[str, Any]:
        return {"damaged_packets": self.damaged_packets, "damaged_seconds": round(self.damaged_seconds, 3),
                "stopped_at": self.stopped_at}


def check_audio_file(path: str | Path, flag: str) -> Path:
    """A user-given sound file that exists, opens and has an audio stream; else a one-line :class:`UsageError`
    naming ``flag``. Cheap: reads the header only."""
    import av

    from shortgen.media import quiet_libav

    path = Path(path)
    if not path.exists():
        raise UsageError(f"{flag} file {path} does not exist", f"check the {flag} path")
    if not path.is_file():
        raise UsageError(f"{flag} {path} is not a file", f"give a sound file to {flag}")
    quiet_libav()
    try:
        with av.open(str(path)) as container:
            has_audio = bool(container.streams.audio)
    except (av.FFmpegError, UnicodeDecodeError, OSError):
        raise UsageError(f"{flag} {path} is not a media file shortgen can read",
                         "give a WAV, MP3, M4A, FLAC or video file with sound") from None
    if not has_audio:
        raise UsageError(f"{flag} {path} has no audio stream", "give a file with sound")
    return path


def read_span(path: Path, rate: int, start: int, count: int, *, label: str | None = None,
              ) -> tuple[np.ndarray, DecodeReport, int]:
    """Samples ``start`` to ``start + count`` of ``path``'s first audio stream, planar float stereo at ``rate``
    (``start`` may be negative: silence before the file begins; silence past its end too).

    Returns the samples, the damage report and how many samples the file holds from ``start`` on, up to
    ``count`` (fewer: it ended early)."""
    import numpy as np

    report = DecodeReport(label or str(path))
    out = np.zeros((CHANNELS, count), dtype=np.float32)
    lead = max(0, -start)
    skip = max(0, start)
    filled = lead
    for chunk in decode_timeline(path, rate, report):
        if skip:
            cut = min(skip, chunk.shape[1])
            chunk, skip = chunk[:, cut:], skip - cut
        take = min(chunk.shape[1], count - filled)
        out[:, filled:filled + take] = chunk[:, :take]
        filled += take
        if filled >= count:
            break
    return out, report, filled - lead


def decode_timeline(path: Path, rate: int, report: DecodeReport) -> Iterator[np.ndarray]:
    """The first audio stream of ``path`` as planar float stereo chunks at ``rate``, laid out by timestamp:
    a packet the decoder rejects (or a jump in the timestamps) yields silence for the time it should have
    covered. Failures are counted in ``report``; only a file that cannot be opened raises."""
    import av

    from shortgen.media import quiet_libav

    quiet_libav()
    try:
        container = av.open(str(path))
    except (av.FFmpegError, UnicodeDecodeError, OSError) as err:
        raise MediaError(f"cannot read audio {report.label}: {err}",
                         "give a WAV, MP3, M4A, FLAC or video file with sound") from None
    with container:
        if not container.streams.audio:
            raise MediaError(f"{report.label} has no audio stream", "give a file with sound")
        yield from _decode(container, container.streams.audio[0], rate, report)


def _decode(container: Any, stream: Any, rate: int, report: DecodeReport) -> Iterator[np.ndarray]:
    import av
    import numpy as np

    resampler = av.AudioResampler(format="fltp", layout=LAYOUT, rate=rate)
    clock = _Clock(stream)
    for frame in tolerant_frames(container, stream, report, clock.lost):
        gap = clock.gap_before(frame)
        if gap > 0:
            report.damaged_seconds += gap if clock.damage_pending else 0.0
            yield np.zeros((CHANNELS, round(gap * rate)), dtype=np.float32)
        clock.played(frame)
        yield from _resampled(resampler, frame)
    report.damaged_seconds += clock.damage_pending_seconds
    yield from _resampled(resampler, None)


def tolerant_frames(container: Any, stream: Any, report: DecodeReport,
                    lost: Callable[[Any], None] | None = None) -> Iterator[Any]:
    """Decoded frames of ``stream``, past packets the decoder rejects (counted in ``report``, and handed to
    ``lost``) and up to where the container itself can no longer be read."""
    import av

    packets = container.demux(stream)
    last = 0.0
    while True:
        try:
            packet = next(packets)
        except StopIteration:
            return
        except av.FFmpegError:  # the container itself is damaged here: play what came before
            report.stopped_at = round(last, 3)
            return
        try:
            frames = packet.decode()
        except av.FFmpegError:
            report.damaged_packets += 1
            if lost is not None:
                lost(packet)
            continue
        for frame in frames:
            last = frame.time if frame.time is not None else last
            yield frame


def _resampled(resampler: Any, frame: Any) -> Iterator[np.ndarray]:
    for out in resampler.resample(frame):
        samples = out.to_ndarray().reshape(CHANNELS, -1)
        if samples.shape[1]:
            yield samples.astype("float32", copy=False)


class _Clock:
    """Where, by the stream's timestamps, the next decoded frame should start; and how much a rejected
    packet took with it."""

    def __init__(self, stream: Any) -> None:
        start = stream.start_time
        self.expected: float | None = float(start * stream.time_base) if start is not None else None
        self.damage_pending = False
        self.damage_pending_seconds = 0.0

    def lost(self, packet: Any) -> None:
        self.damage_pending = True
        if packet.duration and packet.time_base:
            self.damage_pending_seconds += float(packet.duration * packet.time_base)

    def gap_before(self, frame: Any) -> float:
        """Seconds of sound missing before ``frame`` (0 when it follows on, or has no timestamp)."""
        time = frame.time
        if time is None or self.expected is None:
            return 0.0
        tolerance = 0.5 * frame.samples / frame.sample_rate
        return time - self.expected if time - self.expected > tolerance else 0.0

    def played(self, frame: Any) -> None:
        self.damage_pending = False
        self.damage_pending_seconds = 0.0
        if frame.time is not None:
            self.expected = frame.time + frame.samples / frame.sample_rate
        elif self.expected is not None:
            self.expected += frame.samples / frame.sample_rate


__all__ = ["DecodeReport", "check_audio_file", "decode_timeline", "read_span", "tolerant_frames"]
