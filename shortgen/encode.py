"""The sink: stream frames into H.264/AAC MP4 that the platforms accept.

yuv420p, constant frame rate, BT.709 tags, closed GOPs of fixed length, CRF with a VBV bitrate cap,
``moov`` before ``mdat`` (faststart), and always an AAC track (silence unless audio is given). The file
appears at ``path`` only when complete.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING, Any

from shortgen.atomic import atomic_output
from shortgen.config import EncoderSpec
from shortgen.errors import MediaError
from shortgen.frames import AudioSpec, Clip
from shortgen.media import quiet_libav
from shortgen.progress import Progress

if TYPE_CHECKING:
    import av
    import numpy as np

    from shortgen.captions_io import Cue

AUDIO_LAYOUT = "stereo"
AAC_FRAME = 1024


@dataclass(frozen=True)
class EncodeResult:
    path: Path
    frames: int
    duration: float
    size_bytes: int
    seconds: float


def x264_params(spec: EncoderSpec, fps: Fraction) -> str:
    keyint = max(1, round(spec.gop_seconds * float(fps)))
    params = {
        "keyint": keyint,
        "min-keyint": keyint,
        "scenecut": 0,  # fixed GOPs: predictable seeking and platform-friendly closed GOPs
        "open-gop": 0 if spec.closed_gop else 1,
        "bframes": spec.bframes,
        "vbv-maxrate": spec.max_bitrate_kbps,
        "vbv-bufsize": spec.bufsize_kbps,
        "colorprim": "bt709",
        "transfer": "bt709",
        "colormatrix": "bt709",
        "range": "tv",
        # Reproducible clips: with a VBV cap, x264's frame threads read each other's running size estimates, and
        # macroblock-tree rate control varies from run to run as well, so the same frames encoded differently
        # (measured: every packet of a 10 s clip). One thread without mb-tree encodes them identically.
        "threads": 1,
        "mbtree": 0,
    }
    return ":".join(f"{k}={v}" for k, v in params.items())


def _add_video_stream(container: av.container.OutputContainer, clip: Clip, spec: EncoderSpec) -> Any:
    from av.video.reformatter import ColorPrimaries, ColorRange, Colorspace, ColorTrc

    stream = container.add_stream("libx264", rate=clip.fps)
    stream.width, stream.height, stream.pix_fmt = clip.width, clip.height, spec.pix_fmt
    stream.thread_type = "FRAME"  # frame threads: faster than PyAV's slice default (see README)
    ctx = stream.codec_context
    ctx.colorspace, ctx.color_range = Colorspace.ITU709, ColorRange.MPEG
    ctx.color_primaries, ctx.color_trc = ColorPrimaries.BT709, ColorTrc.BT709
    stream.options = {"crf": str(spec.crf), "preset": spec.preset, "profile": spec.profile,
                      "x264-params": x264_params(spec, clip.fps)}
    return stream


def _add_audio_stream(container: av.container.OutputContainer, spec: EncoderSpec) -> Any:
    stream = container.add_stream("aac", rate=spec.audio_sample_rate, layout=AUDIO_LAYOUT)
    stream.bit_rate = spec.audio_bitrate_kbps * 1000
    return stream


def to_video_frame(frame: Any, index: int, fps: Fraction, reformatter: Any = None) -> av.VideoFrame:
    """An RGB array is converted to BT.709 yuv420p; a yuv420p ``av.VideoFrame`` passes straight through.
    Pass one ``VideoReformatter`` for a whole stream: it keeps swscale's context between frames."""
    import av
    from av.video.reformatter import Colorspace, VideoReformatter

    if not isinstance(frame, av.VideoFrame):
        frame = av.VideoFrame.from_ndarray(frame, format="rgb24")
    if frame.format.name != "yuv420p":
        frame = (reformatter or VideoReformatter()).reformat(frame, format="yuv420p",
                                                             dst_colorspace=Colorspace.ITU709)
    frame.pts, frame.time_base = index, 1 / fps
    clear_padding(frame)
    return frame


def clear_padding(frame: av.VideoFrame) -> None:
    """Zero the bytes past each plane's width: FFmpeg leaves them uninitialised and x264 reads them, so without
    this the same pictures can encode differently from run to run."""
    import numpy as np

    for plane in frame.planes:
        if plane.line_size > plane.width:
            rows = np.frombuffer(plane, dtype=np.uint8)[: plane.line_size * plane.height]
            rows.reshape(plane.height, plane.line_size)[:, plane.width:] = 0


class AudioFeed:
    """Hands out AAC-sized chunks of audio (the given file, or silence) in step with the video."""

    def __init__(self, audio: AudioSpec | None, sample_rate: int, total_seconds: float) -> None:
        self.rate = sample_rate
        self.total = round(total_seconds * sample_rate)
        self.sent = 0
        self._source = iter(read_audio(audio, sample_rate, self.total)) if audio else None
        self._buffer: Any = None
        self._loop = LoopCrossfade(audio, sample_rate, self.total) if audio and audio.loop_crossfade > 0 else None

    def frames_until(self, seconds: float) -> Iterator[av.AudioFrame]:
        target = min(self.total, round(seconds * self.rate))
        while self.sent + AAC_FRAME <= target or (target == self.total and self.sent < self.total):
            count = min(AAC_FRAME, self.total - self.sent)
            samples = self._samples(count)
            if self._loop is not None:
                samples = self._loop.mix(samples, self.sent)
            yield self._audio_frame(samples)
            self.sent += count

    def _samples(self, count: int) -> np.ndarray:
        import numpy as np

        if self._source is None:
            return np.zeros((2, count), dtype=np.float32)
        chunks = [] if self._buffer is None else [self._buffer]
        have = 0 if self._buffer is None else self._buffer.shape[1]
        while have < count:
            nxt = next(self._source, None)
            if nxt is None:
                chunks.append(np.zeros((2, count - have), dtype=np.float32))
                break
            chunks.append(nxt)
            have += nxt.shape[1]
        joined = np.concatenate(chunks, axis=1)
        self._buffer = joined[:, count:] if joined.shape[1] > count else None
        return np.ascontiguousarray(joined[:, :count])

    def _audio_frame(self, samples: np.ndarray) -> av.AudioFrame:
        import av

        frame = av.AudioFrame.from_ndarray(samples, format="fltp", layout=AUDIO_LAYOUT)
        frame.sample_rate, frame.pts, frame.time_base = self.rate, self.sent, Fraction(1, self.rate)
        return frame


class LoopCrossfade:
    """``AudioSpec.loop_crossfade``: over the output's last ``X`` seconds, fade (equal power) from the audio
    into the ``X`` seconds just before ``start`` (silence where that is before the file's start), so when
    the clip replays from ``start`` the sound runs on without a click. A loop stage that starts its video
    ``X`` seconds in sets ``start`` and ``loop_crossfade`` to ``X`` and the audio mirrors its crossfade."""

    def __init__(self, audio: AudioSpec, sample_rate: int, total: int) -> None:
        from dataclasses import replace

        self.length = min(total, round(audio.loop_crossfade * sample_rate))
        self.begin = total - self.length
        lead = round(audio.start * sample_rate) - self.length  # where the faded-in audio starts in the file
        self._silence = max(0, -lead)
        intro = replace(audio, start=max(0, lead) / sample_rate, loop_crossfade=0.0)
        self._source = iter(read_audio(intro, sample_rate, self.length - self._silence))
        self._pending: list[np.ndarray] = []

    def mix(self, samples: np.ndarray, first: int) -> np.ndarray:
        """``samples`` (planar stereo) starting at output sample ``first``, crossfaded where they overlap."""
        import numpy as np

        end = first + samples.shape[1]
        if end <= self.begin or self.length == 0:
            return samples
        start = max(first, self.begin)
        position = (np.arange(start, end, dtype=np.float64) - self.begin + 0.5) / self.length
        fade_in = np.sin(position * np.pi / 2).astype(np.float32)
        fade_out = np.cos(position * np.pi / 2).astype(np.float32)
        mixed = samples.copy()
        mixed[:, start - first:] = samples[:, start - first:] * fade_out + self._intro(end - start) * fade_in
        return mixed

    def _intro(self, count: int) -> np.ndarray:
        import numpy as np

        parts = []
        if self._silence:
            quiet = min(count, self._silence)
            parts.append(np.zeros((2, quiet), dtype=np.float32))
            self._silence -= quiet
        have = sum(p.shape[1] for p in parts) + sum(p.shape[1] for p in self._pending)
        while have < count:
            chunk = next(self._source, None)
            if chunk is None:
                self._pending.append(np.zeros((2, count - have), dtype=np.float32))
                break
            self._pending.append(chunk)
            have += chunk.shape[1]
        joined = np.concatenate(parts + self._pending, axis=1)
        self._pending = [joined[:, count:]] if joined.shape[1] > count else []
        return joined[:, :count]


def read_audio(audio: AudioSpec, sample_rate: int, max_samples: int) -> Iterator[np.ndarray]:
    """Decode ``audio.path`` as planar float stereo at ``sample_rate``, from ``audio.start`` seconds."""
    import av
    import numpy as np

    skip = round(audio.start * sample_rate)
    produced = 0
    try:
        with av.open(str(audio.path)) as container:
            if not container.streams.audio:
                raise MediaError(f"{audio.path} has no audio stream", "give a file with sound")
            resampler = av.AudioResampler(format="fltp", layout=AUDIO_LAYOUT, rate=sample_rate)
            for frame in container.decode(audio=0):
                for out in resampler.resample(frame):
                    samples = out.to_ndarray().reshape(2, -1).astype(np.float32) * audio.volume
                    if skip:
                        cut = min(skip, samples.shape[1])
                        samples, skip = samples[:, cut:], skip - cut
                    if samples.shape[1]:
                        yield samples
                        produced += samples.shape[1]
                    if produced >= max_samples:
                        return
    except av.FFmpegError as err:
        raise MediaError(f"cannot read audio {audio.path}: {err}", "give a WAV, MP3, M4A or video file") from None


def encode_clip(clip: Clip, path: Path, spec: EncoderSpec, *, overwrite: bool = False,
                progress: Progress | None = None, subtitles: Sequence[Cue] | None = None) -> EncodeResult:
    """Encode every frame of ``clip`` into ``path``; nothing is left at ``path`` if anything fails.

    ``subtitles``: cues to mux as a soft mov_text track (see :mod:`shortgen.subtitles`).
    """
    import av

    progress = progress or Progress()
    started = time.perf_counter()
    progress.start("encode", "Encoding", clip.num_frames)
    with atomic_output(path, overwrite=overwrite) as tmp:
        quiet_libav()
        try:
            count = _write_mp4(tmp, clip, spec, subtitles, progress)
        except av.FFmpegError as err:
            raise MediaError(f"the encoder failed writing {path.name}: {err}",
                             "check the preset's encoder settings") from None
    progress.finish("encode")
    return EncodeResult(path, count, float(count / clip.fps), path.stat().st_size,
                        time.perf_counter() - started)


def _write_mp4(tmp: Path, clip: Clip, spec: EncoderSpec, subtitles: Sequence[Cue] | None,
               progress: Progress) -> int:
    """Mux video, audio (and soft subtitles) into ``tmp`` in step; returns the number of frames written."""
    import av
    from av.video.reformatter import VideoReformatter

    from shortgen.subtitles import SubtitleTrack

    options = {"movflags": "+faststart+negative_cts_offsets", "use_editlist": "0"}
    with av.open(str(tmp), mode="w", format="mp4", options=options) as container:
        video = _add_video_stream(container, clip, spec)
        audio = _add_audio_stream(container, spec)
        feed = AudioFeed(clip.audio, spec.audio_sample_rate, clip.duration)
        track = SubtitleTrack(container, subtitles) if subtitles else None
        reformatter = VideoReformatter()
        count = 0
        for frame in clip.frames:
            if count == clip.num_frames:
                break
            _check_frame(frame, clip)
            container.mux(video.encode(to_video_frame(frame, count, clip.fps, reformatter)))
            count += 1
            for audio_frame in feed.frames_until(count / clip.fps):
                container.mux(audio.encode(audio_frame))
            if track is not None:
                container.mux(list(track.packets_until(count / clip.fps)))
            progress.advance("encode")
        if count != clip.num_frames:
            raise MediaError(f"the stream ended after {count} of {clip.num_frames} frames")
        for audio_frame in feed.frames_until(clip.duration):
            container.mux(audio.encode(audio_frame))
        container.mux(video.encode(None))
        container.mux(audio.encode(None))
    return count


def _check_frame(frame: Any, clip: Clip) -> None:
    shape = getattr(frame, "shape", None) or (getattr(frame, "height", None), getattr(frame, "width", None), 3)
    if tuple(shape) != (clip.height, clip.width, 3):
        raise MediaError(f"frame of size {shape[1]}x{shape[0]} in a {clip.width}x{clip.height} stream")
