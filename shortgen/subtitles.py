"""Soft subtitles: a mov_text track muxed into the MP4, an ``.srt`` beside it, and reading a track back.

PyAV 18 encodes mov_text itself (``SubtitleCodecContext.encode_subtitle``) once the codec has an ASS
header; pysubs2 writes that header and the ``.srt``. Cues are muxed in time order as the video advances,
like the audio, and the MP4 muxer fills the gaps between cues with empty samples.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING, Any

from shortgen.atomic import check_output_path, write_text_atomic
from shortgen.captions_io import Cue
from shortgen.errors import UsageError

if TYPE_CHECKING:
    import av

TIME_BASE = Fraction(1, 1000)


def srt_path(output: Path) -> Path:
    """Where the ``.srt`` for ``output`` goes: beside it, same name."""
    return output.with_suffix(".srt")


def check_srt_path(output: Path, overwrite: bool, captions_file: str | Path | None = None) -> Path:
    """Fail before any work if the ``.srt`` would replace the captions file being read, or exists."""
    path = srt_path(output)
    if captions_file and path.resolve() == Path(captions_file).resolve():
        raise UsageError(f"the subtitles file {path} would replace the captions file being read",
                         "write the clip under another -o name")
    check_output_path(path, overwrite)
    return path


def _ssa_file(cues: Sequence[Cue]) -> Any:
    import pysubs2

    subs = pysubs2.SSAFile()
    for cue in cues:
        event = pysubs2.SSAEvent(start=round(cue.start * 1000), end=round(cue.end * 1000))
        event.plaintext = cue.text
        subs.append(event)
    return subs


def srt_text(cues: Sequence[Cue]) -> str:
    return str(_ssa_file(cues).to_string("srt"))


def write_srt(cues: Sequence[Cue], path: Path, *, overwrite: bool = True) -> Path:
    """Write ``cues`` as SubRip to ``path``, atomically."""
    write_text_atomic(path, srt_text(cues), overwrite=overwrite)
    return path


def _ass_dialogue(text: str) -> bytes:
    """The fields the mov_text encoder reads: ReadOrder, Layer, Style, Name, margins, Effect, Text."""
    # "{\" would open an ASS override block and "\N" is an ASS line break; a word joiner keeps them literal.
    safe = text.replace("\\", "\\\u2060").replace("{", "{\u2060").replace("\n", "\\N")
    return f"0,0,Default,,0,0,0,,{safe}".encode()


class SubtitleTrack:
    """A mov_text stream in an output container, fed with cues in time order."""

    def __init__(self, container: av.container.OutputContainer, cues: Sequence[Cue]) -> None:
        self.stream = container.add_stream("mov_text")
        self.stream.codec_context.subtitle_header = _ssa_file([]).to_string("ass").encode()
        self.stream.codec_context.time_base = TIME_BASE
        self.stream.time_base = TIME_BASE
        self._cues = iter(sorted(cues, key=lambda c: c.start))
        self._next: Cue | None = next(self._cues, None)

    def packets_until(self, seconds: float) -> Iterator[av.Packet]:
        """Packets for every cue that starts before ``seconds`` and has not been sent yet."""
        from av.subtitles.subtitle import SubtitleSet

        while self._next is not None and self._next.start < seconds:
            cue = self._next
            self._next = next(self._cues, None)
            start, length = round(cue.start * 1000), round((cue.end - cue.start) * 1000)
            if length <= 0:
                continue
            packet = self.stream.codec_context.encode_subtitle(
                SubtitleSet.create(_ass_dialogue(cue.text), 0, length, start))
            packet.stream = self.stream
            packet.time_base = TIME_BASE
            packet.pts = packet.dts = start
            packet.duration = length
            yield packet


def read_subtitle_track(path: Path) -> list[Cue]:
    """The cues of the first subtitle track of ``path`` (empty gap samples skipped)."""
    import av

    cues = []
    with av.open(str(path)) as container:
        if not container.streams.subtitles:
            return []
        stream = container.streams.subtitles[0]
        offset = float(container.start_time or 0) / av.time_base
        for packet in container.demux(stream):
            if packet.pts is None or not packet.duration:
                continue
            data = bytes(packet)  # mov_text: a 16-bit length, the UTF-8 text, then optional style boxes
            text = data[2:2 + int.from_bytes(data[:2], "big")].decode("utf-8")
            if text:
                start = float(packet.pts * packet.time_base) - offset
                end = start + float(packet.duration * packet.time_base)
                cues.append(Cue(round(start, 3), round(end, 3), text.replace("\u2060", "")))
    return cues


__all__ = ["SubtitleTrack", "check_srt_path", "read_subtitle_track", "srt_path", "srt_text", "write_srt"]
