"""Make a clip loop: crossfade, ping-pong or a generated (seamless) loop, then measure its seam.

Every mode streams; what each holds and what it does to the length:

* ``crossfade``: the clip's opening ``K`` frames (``K = overlap_seconds × fps``) are held back and blended
  into its last ``K`` frames, so the end flows into what now opens the clip (source frame ``K``). The output
  is ``K`` frames shorter than its source: ``make`` generates ``K`` extra frames (:meth:`LoopStage.extra_frames`)
  so the clip keeps exactly the requested duration; ``edit`` on a file returns the file's length minus ``K``.
  Holds ``K`` frames in memory (at most half the clip).
* ``pingpong``: forward, then backward without repeating either turn-around frame: ``f0 … f(M-1) f(M-2) … f1``
  (``2M-2`` frames from ``M``), so the loop's seam ``f1 → f0`` is one ordinary step. ``make`` generates only
  ``frames // 2 + 1`` frames (one more for an odd count, whose backward pass skips the frame next to the turn);
  ``edit`` plays the whole file forward and back (``2M-2`` frames). The backward pass needs the frames again
  in reverse, so they are spilled to a temporary file (a numpy memmap), not kept in RAM.
* ``seamless``: for ``make`` only. The generator conditions the last segment to end on the clip's first
  ``SEAMLESS_CONDITION_FRAMES`` frames (see :func:`closing_conditions`), so the stream carries those frames
  again, regenerated, after the clip's ``frames``. The stage measures the seam of the clip without them; at
  or under ``threshold`` it drops them, above it a short crossfade (``min(tail, overlap)`` frames) of the
  regenerated tail into the opening finishes the loop. Deciding needs the whole clip's median step before
  the first frame goes out, so the stream is spilled to a temporary memmap first.

Audio loops at the same point: the clip's :class:`~shortgen.frames.AudioSpec` starts later by the crossfade's
length and crossfades its end into the audio just before that start (see :class:`~shortgen.encode.AudioFeed`).
In a seamless loop, sound a backend made with the frames (LTX-2) runs on past the clip's end under the
regenerated opening; it keeps its timing and closes ahead instead: its first ``overlap`` frames' worth fades
from the sound that followed the clip's last frame into its own (:func:`seamless_audio`).

Where the last segment regenerates the opening is planned in :mod:`shortgen.stages.loop_close` (LTX-2 can start
a condition only at frame 0 or 8j+1 of a call; a few frames generated before the clip and dropped by ``make``
put the clip's end on such a frame).
The seam score of the output (:mod:`shortgen.seam`) lands in ``clip.facts["seam_score"]`` when the stream ends.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace
from fractions import Fraction
from typing import TYPE_CHECKING, Any

from shortgen.errors import MediaError, UsageError
from shortgen.frames import AudioBuffer, AudioMix, AudioSpec, Clip
from shortgen.seam import SEAMLESS_THRESHOLD, SeamMeter, measured
from shortgen.stages.loop_close import (
    LATENT_PLACED_BACKENDS,
    SEAMLESS_CONDITION_FRAMES,
    closing_conditions,
    closing_index,
    condition_starts,
    latent_frame,
    room_to_close,
    seamless_chain_options,
)

if TYPE_CHECKING:
    import numpy as np

LOOP_MODES = ("none", "crossfade", "pingpong", "seamless")


def overlap_frame_count(seconds: float, fps: float | Fraction) -> int:
    """A crossfade of ``seconds`` in whole frames (at least one)."""
    return max(1, round(seconds * float(fps)))


def pingpong_source_frames(frames: int) -> int:
    """Source frames a ping-pong of ``frames`` output frames plays forward (``2M-2 >= frames``)."""
    return frames // 2 + 1 if frames % 2 == 0 else frames // 2 + 2


@dataclass
class LoopStage:
    mode: str = "crossfade"
    overlap_seconds: float = 0.5
    threshold: float = SEAMLESS_THRESHOLD
    # Output frames when a generator plans for this stage (make); None: derived from the input (edit).
    frames: int | None = None
    key: str = "loop"

    def __post_init__(self) -> None:
        if self.mode not in LOOP_MODES:
            raise UsageError(f"unknown loop mode '{self.mode}'", f"use one of {', '.join(LOOP_MODES)}")
        if not self.overlap_seconds > 0:
            raise UsageError(f"loop overlap {self.overlap_seconds:g} s must be positive", "pass --loop-overlap > 0")
        if not self.threshold > 0:
            raise UsageError(f"seam threshold {self.threshold:g} must be positive")
        if self.frames is not None and self.frames < 1:
            raise UsageError(f"a loop of {self.frames} frames is empty")

    def extra_frames(self, num_frames: int, fps: float) -> int:
        """Frames to generate beyond ``num_frames`` (negative for ping-pong, which mirrors half)."""
        self.check(num_frames, fps)
        if self.mode == "crossfade":
            return overlap_frame_count(self.overlap_seconds, fps)
        if self.mode == "pingpong":
            return pingpong_source_frames(num_frames) - num_frames
        if self.mode == "seamless":
            return SEAMLESS_CONDITION_FRAMES
        return 0

    def check(self, clip_frames: int, fps: float | Fraction) -> None:
        """Raise :class:`UsageError` if this loop cannot be made from a clip of ``clip_frames`` frames."""
        seconds = clip_frames / float(fps)
        if self.mode == "crossfade":
            overlap = overlap_frame_count(self.overlap_seconds, fps)
            if 2 * overlap > clip_frames:
                raise UsageError(f"loop overlap {self.overlap_seconds:g} s is longer than half the "
                                 f"{seconds:g} s clip", f"pass --loop-overlap {seconds / 2:g} or less")
        if self.mode == "pingpong" and clip_frames < 2:
            raise UsageError("pingpong needs a clip of at least 2 frames", "give a longer clip or another --loop")

    def apply(self, clip: Clip) -> Clip:
        info: dict[str, Any] = {**clip.info, "loop": {"mode": self.mode}}
        if self.mode == "crossfade":
            looped = self._crossfade(clip, info)
        elif self.mode == "pingpong":
            looped = self._pingpong(clip, info)
        elif self.mode == "seamless":
            looped = self._seamless(clip, info)
        else:
            looped = clip.with_frames(clip.frames, info=info)
        return looped.with_frames(_recording_seam(looped.frames, looped.facts))

    def _crossfade(self, clip: Clip, info: dict[str, Any]) -> Clip:
        self.check(self.frames or clip.num_frames, clip.fps)
        overlap = overlap_frame_count(self.overlap_seconds, clip.fps)
        output = self.frames if self.frames is not None else clip.num_frames - overlap
        _require_frames(clip, output + overlap, f"a {output}-frame crossfade loop")
        info["loop"].update(overlap_frames=overlap)
        return clip.with_frames(crossfade_loop(clip.frames, output + overlap, overlap), num_frames=output,
                                audio=loop_audio(clip.audio, overlap / clip.fps), info=info)

    def _pingpong(self, clip: Clip, info: dict[str, Any]) -> Clip:
        self.check(self.frames or clip.num_frames, clip.fps)
        output = self.frames if self.frames is not None else 2 * clip.num_frames - 2
        source = pingpong_source_frames(output) if self.frames is not None else clip.num_frames
        _require_frames(clip, source, f"a {output}-frame ping-pong")
        info["loop"].update(source_frames=source)
        overlap = min(overlap_frame_count(self.overlap_seconds, clip.fps), output // 2)
        frames = pingpong(clip.frames, source, output, clip.width, clip.height)
        return clip.with_frames(frames, num_frames=output, audio=loop_audio(clip.audio, overlap / clip.fps),
                                info=info)

    def _seamless(self, clip: Clip, info: dict[str, Any]) -> Clip:
        if self.frames is None:
            raise UsageError("--loop seamless is generated with the clip, so it needs 'make'",
                             "for an existing file use --loop crossfade or --loop pingpong")
        _require_frames(clip, self.frames, f"a {self.frames}-frame loop")
        tail = clip.num_frames - self.frames
        overlap = min(tail, overlap_frame_count(self.overlap_seconds, clip.fps), self.frames // 2)
        frames = seamless_loop(clip.frames, self.frames, overlap, self.threshold, clip.width, clip.height,
                               info["loop"])
        audio = seamless_audio(clip.audio, self.frames, clip.fps, overlap / clip.fps, clip.facts)
        return clip.with_frames(frames, num_frames=self.frames, audio=audio, info=info)


def _require_frames(clip: Clip, needed: int, what: str) -> None:
    if clip.num_frames < needed:
        raise UsageError(f"{what} needs {needed} source frames, the clip has {clip.num_frames}")


def _recording_seam(frames: Iterable[np.ndarray], facts: dict[str, Any]) -> Iterator[np.ndarray]:
    """Measure the output's seam while it streams; store the score in ``facts`` once the stream ends."""
    meter = SeamMeter()
    yield from measured(frames, meter)
    score = meter.score()
    facts["seam_score"] = None if score is None else round(score, 4)


def loop_audio(audio: AudioSpec | AudioBuffer | AudioMix | None,
               seconds: float | Fraction) -> AudioSpec | AudioBuffer | AudioMix | None:
    """The audio of a clip that now starts ``seconds`` later and crossfades its end into that start. In a mix,
    the clip's own sound, its music and its generated bed all loop that way (so they run on without a click
    when the clip replays); a voice-over plays once from the start."""
    if audio is None or seconds <= 0:
        return audio
    if isinstance(audio, AudioMix):
        return replace(audio, **{role: loop_audio(track, seconds) for role, track in audio.tracks().items()
                                 if role != "voice"})
    return replace(audio, start=audio.start + float(seconds), loop_crossfade=float(seconds))


def seamless_audio(audio: AudioSpec | AudioBuffer | AudioMix | None, frames: int, fps: Fraction,
                   seconds: float | Fraction, facts: dict[str, Any]) -> AudioSpec | AudioBuffer | AudioMix | None:
    """The sound of a seamless loop of ``frames`` frames. The clip's own generated sound (an :class:`AudioBuffer`
    as the source: a backend's, made with the frames, so it runs on under the regenerated opening after the
    clip's end) keeps its timing and closes the loop ahead: its first ``seconds`` are the sound that follows the
    clip's last frame, faded into its own opening (:func:`shortgen.audio.mix.close_loop_ahead`), so replaying
    runs on without a click and the picture stays in sync. How well it closes lands in ``facts["sound_seam"]``.
    Other tracks (music, a ``--sound`` bed, an ``--audio`` file) loop as :func:`loop_audio` loops them."""
    if audio is None or seconds <= 0:
        return audio
    if isinstance(audio, AudioBuffer):
        return _closed_ahead(audio, frames, fps, seconds, facts)
    if isinstance(audio, AudioMix):
        looped = {role: loop_audio(track, seconds) for role, track in audio.tracks().items() if role != "voice"}
        if isinstance(audio.source, AudioBuffer):
            looped["source"] = _closed_ahead(audio.source, frames, fps, seconds, facts)
        return replace(audio, **looped)
    return loop_audio(audio, seconds)


def _closed_ahead(track: AudioBuffer, frames: int, fps: Fraction, seconds: float | Fraction,
                  facts: dict[str, Any]) -> AudioBuffer:
    """``track`` whose samples, when the mixer takes them, have the clip's opening crossfaded from what follows
    its end (the clip: ``frames`` frames from ``track.start``)."""
    raw = track.samples

    def samples() -> np.ndarray:
        import numpy as np

        from shortgen.audio.mix import close_loop_ahead
        from shortgen.audio.seam import sound_seam

        data = np.asarray(raw() if callable(raw) else raw, dtype=np.float32)
        data = data[None] if data.ndim == 1 else data
        rate = track.sample_rate
        begin, count = round(track.start * rate), round(frames / fps * rate)
        closed, cross = close_loop_ahead(data, begin, count, round(float(seconds) * rate))
        facts["sound_seam"] = {"crossfade_seconds": round(cross / rate, 4),
                               **sound_seam(closed[:, begin:begin + count])}
        return closed

    return replace(track, samples=samples)


# ------------------------------------------------------------------------------------------- frame streams


def _take(frames: Iterator[np.ndarray]) -> np.ndarray:
    try:
        return next(frames)
    except StopIteration:
        raise MediaError("the frame stream ended before the loop was complete") from None


def blend(a: np.ndarray, b: np.ndarray, weight_b: float) -> np.ndarray:
    """``a`` faded towards ``b`` by ``weight_b`` (0..1), rounded back to uint8."""
    import numpy as np

    mixed = a.astype(np.float32) * (1.0 - weight_b) + b.astype(np.float32) * weight_b
    return np.clip(mixed + 0.5, 0, 255).astype(np.uint8)


def crossfade_weight(index: int, overlap: int) -> float:
    """Weight of the opening in the ``index``-th of ``overlap`` blended frames: strictly between 0 and 1.

    An ease-in-out (smoothstep) ramp rather than a straight one: the fade starts and ends gently, so the
    frames on either side of the blend (one of them the loop point) differ by about an ordinary step.
    """
    x = (index + 1) / (overlap + 1)
    return x * x * (3.0 - 2.0 * x)


def crossfade_loop(frames: Iterable[np.ndarray], source: int, overlap: int) -> Iterator[np.ndarray]:
    """``source`` frames in, ``source - overlap`` out: ``f[K] … f[M-K-1]``, then ``f[M-K+j]`` fading into ``f[j]``."""
    stream = iter(frames)
    opening: list[Any] = [_take(stream) for _ in range(overlap)]  # bounded: at most half the clip
    for _ in range(source - 2 * overlap):
        yield _take(stream)
    for j in range(overlap):
        yield blend(_take(stream), opening[j], crossfade_weight(j, overlap))
        opening[j] = None  # free as we go


class FrameSpill:
    """Frames parked in an anonymous temporary file (numpy memmap) to read back in any order, so a stage
    that needs random access to many frames does not hold them in RAM. Deleted on :meth:`close`."""

    def __init__(self, count: int, height: int, width: int) -> None:
        import numpy as np

        self._file = tempfile.TemporaryFile(prefix="shortgen-loop-")  # noqa: SIM115 - closed by close()
        self._frames: Any = np.memmap(self._file, dtype=np.uint8, mode="w+", shape=(max(1, count), height, width, 3))

    def write(self, index: int, frame: np.ndarray) -> None:
        self._frames[index] = frame

    def read(self, index: int) -> np.ndarray:
        import numpy as np

        return np.array(self._frames[index])

    def close(self) -> None:
        self._frames = None
        self._file.close()


def pingpong(frames: Iterable[np.ndarray], source: int, output: int, width: int,
             height: int) -> Iterator[np.ndarray]:
    """``f0 … f(M-1)`` then ``f(M-2) … f1`` (``2M-2`` frames); for ``2M-3``, the backward pass starts at f(M-3)."""
    stream = iter(frames)
    spill = FrameSpill(source - 2, height, width)  # f1 … f(M-2), read back in reverse
    try:
        for index in range(min(source, output)):
            frame = _take(stream)
            if 1 <= index <= source - 2:
                spill.write(index - 1, frame)
            yield frame
        first_back = source - 2 if output == 2 * source - 2 else source - 3
        for index in range(first_back, 0, -1):
            yield spill.read(index - 1)
    finally:
        spill.close()


def seamless_loop(frames: Iterable[np.ndarray], output: int, overlap: int, threshold: float, width: int,
                  height: int, report: dict[str, Any]) -> Iterator[np.ndarray]:
    """The first ``output`` frames if their seam is at most ``threshold``; else the regenerated tail that
    follows them crossfaded into the opening over ``overlap`` frames (see the module docstring)."""
    stream = iter(frames)
    spill = FrameSpill(output + overlap, height, width)
    try:
        meter = SeamMeter()
        for index in range(output + overlap):
            frame = _take(stream)
            spill.write(index, frame)
            if index < output:
                meter.add(frame)
        generated = meter.score()
        crossfade = overlap > 0 and generated is not None and generated > threshold
        report.update(seam_score_generated=None if generated is None else round(generated, 4),
                      crossfade_frames=overlap if crossfade else 0)
        if not crossfade:
            for index in range(output):
                yield spill.read(index)
            return
        # Frame j of the opening blends from the tail's frame j (its regenerated twin) into the original.
        for j in range(overlap):
            yield blend(spill.read(output + j), spill.read(j), crossfade_weight(j, overlap))
        for index in range(overlap, output):
            yield spill.read(index)
    finally:
        spill.close()


__all__ = ["LATENT_PLACED_BACKENDS", "LOOP_MODES", "SEAMLESS_CONDITION_FRAMES", "FrameSpill", "LoopStage", "blend",
           "closing_conditions", "closing_index", "condition_starts", "crossfade_loop", "latent_frame", "loop_audio",
           "overlap_frame_count", "pingpong", "pingpong_source_frames", "room_to_close", "seamless_audio",
           "seamless_chain_options", "seamless_loop"]
