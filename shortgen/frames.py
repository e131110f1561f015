"""The frame stream every stage consumes and produces.

Frames are ``numpy.uint8`` arrays of shape ``(height, width, 3)`` in RGB order. A :class:`Clip` carries
the stream's geometry and length next to a *lazy* iterator, so stages can be chained without ever
holding the whole clip in memory.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field, replace
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    pass

Frame = "np.ndarray"


@dataclass(frozen=True)
class AudioSpec:
    """Audio to mux with the video: a file whose first audio stream is used, from ``start`` seconds.

    On its own (``Clip.audio = AudioSpec(...)``) it is muxed as it is; inside an :class:`AudioMix` it is one
    track of a mix that is normalised. ``label`` names it in messages (default: the path)."""

    path: Path
    start: float = 0.0
    # Seconds over which the end is crossfaded into the start when the clip loops (0 = none).
    loop_crossfade: float = 0.0
    volume: float = 1.0
    label: str | None = None


@dataclass(frozen=True)
class AudioBuffer:
    """Sound already in memory, e.g. generated for the clip: float samples shaped ``(channels, n)`` (or
    ``(n,)`` for mono) at ``sample_rate``; resampled to the encoder's rate when mixed. ``samples`` may also be
    a callable returning them: called after the last video frame, for sound made along with the frames (the
    encoder then writes the sound after the picture). ``info`` (prompt, model, seed...) is recorded in the
    sidecar. ``start``/``loop_crossfade``/``volume`` as for :class:`AudioSpec`."""

    samples: Any
    sample_rate: int
    start: float = 0.0
    loop_crossfade: float = 0.0
    volume: float = 1.0
    label: str = "generated sound"
    info: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class AudioMix:
    """The clip's sound as :mod:`shortgen.audio` mixes it: its own track, beds laid under it and a voice on
    top; the sum is normalised to ``loudness_lufs`` (``None``: left at its level) with true peaks at or below
    ``true_peak_db``.

    - ``source``: the clip's own sound, in sync with the picture (the input video's, ``--audio FILE``, or a
      backend's); it loops with the clip.
    - ``music`` and ``bed`` (sound generated for the clip): trimmed, or looped with crossfaded loop points,
      to the clip's length; faded in and out, or looped seamlessly when the clip loops; ducked by ``duck_db``
      under the voice (and under the source when ``duck_source``).
    - ``voice``: a voice-over from the start, on top.
    """

    source: AudioSpec | AudioBuffer | None = None
    music: AudioSpec | AudioBuffer | None = None
    bed: AudioSpec | AudioBuffer | None = None
    voice: AudioSpec | AudioBuffer | None = None
    duck_db: float = 12.0
    duck_source: bool = False
    fade_in: float = 0.5
    fade_out: float = 1.5
    loudness_lufs: float | None = -14.0
    true_peak_db: float = -1.0

    def tracks(self) -> dict[str, AudioSpec | AudioBuffer]:
        named = {"source": self.source, "music": self.music, "bed": self.bed, "voice": self.voice}
        return {role: track for role, track in named.items() if track is not None}


@dataclass(frozen=True)
class Clip:
    """A lazily evaluated video: geometry, rate and length, plus a one-shot frame iterator."""

    width: int
    height: int
    fps: Fraction
    num_frames: int
    frames: Iterable[Any]
    audio: AudioSpec | AudioMix | None = None
    # What stages say about the clip when they are set up (copied and extended stage by stage).
    info: dict[str, Any] = field(default_factory=dict)
    # What stages learn while frames stream (the loop stage's seam score). One dict shared by every clip
    # derived with with_frames, so a fact recorded at the end of the stream reaches the encoder's caller.
    facts: dict[str, Any] = field(default_factory=dict)

    @property
    def duration(self) -> float:
        return float(self.num_frames / self.fps)

    def with_frames(self, frames: Iterable[Any], **changes: Any) -> Clip:
        """The same clip description with another frame iterator (and optional field changes)."""
        return replace(self, frames=frames, **changes)

    def __iter__(self) -> Iterator[Any]:
        return iter(self.frames)


def map_frames(clip: Clip, fn: Callable[[Any], Any], *, width: int | None = None,
               height: int | None = None) -> Clip:
    """Apply ``fn`` to every frame lazily; give the new size when ``fn`` changes it."""
    return clip.with_frames((fn(f) for f in clip.frames), width=width or clip.width,
                            height=height or clip.height)


def as_fraction(fps: float | int | Fraction | str) -> Fraction:
    """A frame rate as an exact fraction (29.97 becomes 30000/1001)."""
    if isinstance(fps, Fraction):
        return fps
    if isinstance(fps, str) and "/" in fps:
        num, den = fps.split("/", 1)
        return Fraction(int(num), int(den))
    value = float(fps)
    for ntsc in (23.976, 29.97, 59.94):
        if abs(value - ntsc) < 0.01:
            return Fraction(round(ntsc + 0.03) * 1000, 1001)
    return Fraction(value).limit_denominator(1001)


_DONE = object()


def prefetch(items: Iterable[Any], maxsize: int) -> Iterator[Any]:
    """Run ``items`` in a background thread, at most ``maxsize`` items ahead of the consumer.

    With the model producing frames and the post path consuming them, the next segment is generated while
    this one is upscaled and encoded (torch, swscale and x264 release the GIL). Errors raised by ``items``
    are re-raised in the consumer; when the consumer stops early, the producer stops at its next item.
    """
    import queue
    import threading

    buffer: queue.Queue[Any] = queue.Queue(maxsize=max(1, maxsize))
    stop = threading.Event()

    def put(item: Any) -> bool:
        while not stop.is_set():
            try:
                buffer.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        _leave_stop_signals_to_the_main_thread()
        try:
            for item in items:
                if not put(item):
                    return
            put(_DONE)
        except BaseException as err:  # handed to the consumer, which re-raises it
            put(_Failure(err))

    threading.Thread(target=produce, name="shortgen-prefetch", daemon=True).start()
    try:
        while True:
            item = buffer.get()
            if item is _DONE:
                return
            if isinstance(item, _Failure):
                raise item.error
            yield item
    finally:
        stop.set()


def _leave_stop_signals_to_the_main_thread() -> None:
    """Block Ctrl-C, SIGTERM and SIGHUP in this thread (and the decoder and torch threads it starts): only the
    main thread runs Python's signal handlers, so the kernel should hand those signals to it, not to a thread
    that cannot act on them."""
    import signal

    wanted = {getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGHUP") if hasattr(signal, name)}
    if hasattr(signal, "pthread_sigmask"):  # not on Windows
        signal.pthread_sigmask(signal.SIG_BLOCK, wanted)


@dataclass(frozen=True)
class _Failure:
    error: BaseException
