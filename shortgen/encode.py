"""The sink: stream frames into H.264/AAC MP4 that the platforms accept.

yuv420p, constant frame rate, BT.709 tags, closed GOPs of fixed length, CRF with a VBV bitrate cap,
``moov`` before ``mdat`` (faststart), and always an AAC track (silence unless audio is given; the clip's
sound is mixed by :mod:`shortgen.audio` before the first frame, then handed over in step with the video). The file
appears at ``path`` only when complete.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING, Any

from shortgen.atomic import atomic_output
from shortgen.audio.feed import AAC_FRAME, AudioFeed
from shortgen.audio.mix import sound_after_picture
from shortgen.config import EncoderSpec
from shortgen.errors import MediaError, check_stop
from shortgen.frames import Clip, prefetch
from shortgen.media import quiet_libav
from shortgen.progress import Progress

if TYPE_CHECKING:
    import av

    from shortgen.captions_io import Cue

AUDIO_LAYOUT = "stereo"


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
    }
    if spec.reproducible:
        # With a VBV cap, x264's frame threads read each other's running size estimates, and macroblock-tree rate
        # control varies from run to run as well, so the same frames encoded differently (measured: every packet
        # of a 10 s clip). One thread without mb-tree encodes them identically.
        params.update({"threads": 1, "mbtree": 0})
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
        # Sound that only exists once the picture does (a backend's, generated with the frames) is mixed
        # after the last frame; the muxer then writes the video ahead of it (bounded by its interleave delta).
        feed = None if sound_after_picture(clip.audio) else _feed(clip, spec, progress)
        track = SubtitleTrack(container, subtitles) if subtitles else None
        reformatter = VideoReformatter()
        count = 0
        for frame in prefetch(clip.frames, 4):
            if count == clip.num_frames:
                break
            check_stop()
            _check_frame(frame, clip)
            container.mux(video.encode(to_video_frame(frame, count, clip.fps, reformatter)))
            count += 1
            for audio_frame in feed.frames_until(count / clip.fps) if feed is not None else ():
                container.mux(audio.encode(audio_frame))
            if track is not None:
                container.mux(list(track.packets_until(count / clip.fps)))
            progress.advance("encode")
        if count != clip.num_frames:
            raise MediaError(f"the stream ended after {count} of {clip.num_frames} frames")
        feed = feed or _feed(clip, spec, progress)
        for audio_frame in feed.frames_until(clip.duration):
            container.mux(audio.encode(audio_frame))
        container.mux(video.encode(None))
        container.mux(audio.encode(None))
    return count


def _feed(clip: Clip, spec: EncoderSpec, progress: Progress) -> AudioFeed:
    feed = AudioFeed(clip.audio, spec.audio_sample_rate, clip.duration, warn=progress.warn,
                     aac_bitrate=spec.audio_bitrate_kbps * 1000)
    if feed.report:
        clip.facts["audio"] = feed.report  # reaches the result and the sidecar, as stage facts do
    return feed


def _check_frame(frame: Any, clip: Clip) -> None:
    shape = getattr(frame, "shape", None) or (getattr(frame, "height", None), getattr(frame, "width", None), 3)
    if tuple(shape) != (clip.height, clip.width, 3):
        raise MediaError(f"frame of size {shape[1]}x{shape[0]} in a {clip.width}x{clip.height} stream")


__all__ = ["AAC_FRAME", "AudioFeed", "EncodeResult", "encode_clip", "to_video_frame", "x264_params"]
