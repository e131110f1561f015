"""Which caption state shows at time t: cues → segments of constant state, per style.

* ``clean`` / ``box``: one state per cue.
* ``highlight``: the cue's words together; from each word's start until the next word's, that word is in
  the accent colour.
* ``pop``: one to three words at a time (a chunk ends after punctuation); each chunk scales in over
  :data:`POP_SECONDS`, one state per frame of the animation.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Sequence
from dataclasses import dataclass

from shortgen.captions_io import Cue, Word, words_by_length
from shortgen.stages.captions.text import Unit, cue_units

POP_SECONDS = 0.15
POP_FROM = 0.7  # the scale a chunk starts at
POP_WORDS = 3
CHUNK_END = tuple(".,!?;:…。、，！？")


@dataclass(frozen=True)
class StateKey:
    cue: int
    focus: int = -1  # highlight: the spoken word; pop: the chunk; -1: none
    step: int = -1  # pop: frame of the scale-in animation; -1 when settled


@dataclass(frozen=True)
class Segment:
    start: float
    end: float
    key: StateKey


def _ease_out(x: float) -> float:
    return 1 - (1 - min(1.0, max(0.0, x))) ** 3


def pop_scale(step: int, steps: int) -> float:
    """The scale of a pop chunk ``step`` frames into its ``steps``-frame animation (1.0 once settled)."""
    if step < 0 or step >= steps:
        return 1.0
    return POP_FROM + (1 - POP_FROM) * _ease_out((step + 1) / (steps + 1))


def cue_words(cue: Cue, units: Sequence[Unit]) -> list[Word]:
    """Timing per word index: from the source when it had word timings, else by length."""
    if cue.words:
        return list(cue.words)
    texts: dict[int, str] = {}
    for unit in units:
        texts[unit.index] = texts.get(unit.index, "") + unit.text
    return words_by_length([texts[i] for i in sorted(texts)], cue.start, cue.end)


def pop_chunks(units: Sequence[Unit]) -> list[list[int]]:
    """Word indices grouped into chunks of up to POP_WORDS words; a chunk ends after punctuation."""
    chunks: list[list[int]] = []
    last_text: dict[int, str] = {}
    for unit in units:
        last_text[unit.index] = unit.text
    for index in sorted(last_text):
        if not chunks or len(chunks[-1]) >= POP_WORDS or last_text[chunks[-1][-1]].endswith(CHUNK_END):
            chunks.append([])
        chunks[-1].append(index)
    return chunks


class Timeline:
    """Segments in time order and a lookup from a time to the state that shows then."""

    def __init__(self, cues: Sequence[Cue], style: str, fps: float) -> None:
        self.fps = fps
        self.style = style
        self.pop_steps = max(1, math.ceil(POP_SECONDS * fps))
        self.segments = [s for i, cue in enumerate(cues) for s in self._segments(i, cue, style) if s.end > s.start]
        self._starts = [s.start for s in self.segments]

    def _segments(self, index: int, cue: Cue, style: str) -> list[Segment]:
        if style in ("clean", "box"):
            return [Segment(cue.start, cue.end, StateKey(index))]
        units = cue_units(cue)
        if not units:  # nothing but spaces: nothing to show
            return []
        words = cue_words(cue, units)
        if style == "highlight":
            starts = [max(cue.start, w.start) for w in words]
            segments = [Segment(cue.start, starts[0], StateKey(index))] if starts and starts[0] > cue.start else []
            bounds = [*starts[1:], cue.end]
            segments += [Segment(s, e, StateKey(index, k)) for k, (s, e) in enumerate(zip(starts, bounds,
                                                                                           strict=True))]
            return segments
        chunks = pop_chunks(units)
        starts = [cue.start] + [max(cue.start, words[c[0]].start) for c in chunks[1:]]
        bounds = [*starts[1:], cue.end]
        return [Segment(s, e, StateKey(index, k)) for k, (s, e) in enumerate(zip(starts, bounds, strict=True))]

    def state_at(self, seconds: float) -> StateKey | None:
        at = bisect.bisect_right(self._starts, seconds) - 1
        if at < 0:
            return None
        segment = self.segments[at]
        if seconds >= segment.end:
            return None
        if self.style == "pop":
            step = math.floor((seconds - segment.start) * self.fps + 1e-9)
            if step < self.pop_steps:
                return StateKey(segment.key.cue, segment.key.focus, step)
        return segment.key
