"""Plan model calls for a target length, and stitch their frames into one stream.

A model makes a few seconds per call. To reach ``duration × fps`` frames, ``make`` chains segments:
each segment after the first is conditioned on the last ``overlap`` frames of the one before (placed
at its frame 0), so it continues the motion. Those shared frames are crossfaded from the old segment
into the new one, so there is neither a jump nor a repeated frame. This module is pure Python (no
torch), so ``--dry-run`` can print the plan instantly.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from shortgen.backends.base import FrameCondition, SegmentRequest, ShapeRules
from shortgen.errors import UsageError

if TYPE_CHECKING:
    import numpy as np


@dataclass(frozen=True)
class Segment:
    index: int
    prompt: str
    num_frames: int  # frames the model generates in this call
    overlap: int  # leading frames shared with the previous segment (0 for the first)
    start: int  # index in the output timeline of this segment's first frame

    @property
    def new_frames(self) -> int:
        return self.num_frames - self.overlap


@dataclass(frozen=True)
class SegmentPlan:
    total_frames: int  # frames the stream delivers (the clip's frames plus any a stage consumes)
    generated_frames: int  # frames the segments add up to before the final trim
    width: int
    height: int
    fps: float
    segments: tuple[Segment, ...]

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "segments": [asdict(s) for s in self.segments]}


def split_prompts(prompts: Sequence[str]) -> list[str]:
    """``["a | b", "c"]`` → ``["a", "b", "c"]``; rejects empty prompts."""
    parts = [p.strip() for text in prompts for p in text.split("|")]
    if not parts or any(not p for p in parts):
        raise UsageError("empty prompt", 'give a description, e.g. "a red fox running through snow"; '
                         'separate storyboard beats with "|"')
    return parts


def prompt_for_segment(prompts: Sequence[str], index: int, count: int) -> str:
    """Spread storyboard beats evenly over ``count`` segments."""
    return prompts[min(len(prompts) - 1, index * len(prompts) // count)]


def plan_segments(total_frames: int, *, rules: ShapeRules, segment_frames: int, overlap: int,
                  prompts: Sequence[str], width: int, height: int, fps: float) -> SegmentPlan:
    """Segments whose frames, minus overlaps, cover ``total_frames`` with as little excess as possible."""
    rules.check_size(width, height)
    rules.check_frames(segment_frames, "segment length")
    if overlap and not rules.valid_frames(overlap):
        rules.check_frames(overlap, "overlap")
    if overlap >= segment_frames:
        raise UsageError(f"overlap {overlap} must be shorter than the segment length {segment_frames}")
    if total_frames < 1:
        raise UsageError("the clip needs at least one frame")
    lengths = _segment_lengths(total_frames, rules, segment_frames, overlap)
    prompts = list(prompts) or [""]
    segments, start = [], 0
    for i, n in enumerate(lengths):
        shared = overlap if i else 0
        segments.append(Segment(i, prompt_for_segment(prompts, i, len(lengths)), n, shared, start - shared))
        start += n - shared
    return SegmentPlan(total_frames, start, width, height, fps, tuple(segments))


def _segment_lengths(total: int, rules: ShapeRules, full: int, overlap: int) -> list[int]:
    """Fewest calls that cover ``total``, all of one (balanced) length, so no segment is a stub."""
    if total <= full:
        return [rules.round_up_frames(total)]
    count = 2
    while count * full - (count - 1) * overlap < total:
        count += 1
    each = rules.round_up_frames(-(-(total + (count - 1) * overlap) // count))
    return [min(each, full)] * count


@dataclass(frozen=True)
class GenerationSettings:
    negative_prompt: str
    steps: int
    guidance_scale: float
    seed: int


Generate = Callable[[SegmentRequest], "np.ndarray"]
SegmentHook = Callable[[Segment], None]


def segment_requests(plan: SegmentPlan, settings: GenerationSettings) -> list[SegmentRequest]:
    """The unconditioned request for each segment (conditions are attached while streaming)."""
    return [
        SegmentRequest(
            index=s.index, prompt=s.prompt, negative_prompt=settings.negative_prompt, width=plan.width,
            height=plan.height, num_frames=s.num_frames, fps=plan.fps, steps=settings.steps,
            guidance_scale=settings.guidance_scale,
            # Each segment gets its own derived seed, so segments differ but the clip is reproducible.
            seed=settings.seed + 1_000_003 * s.index,
        )
        for s in plan.segments
    ]


def stream_segments(plan: SegmentPlan, requests: Sequence[SegmentRequest], generate: Generate, *,
                    first_conditions: Sequence[FrameCondition] = (),
                    last_conditions: Callable[[np.ndarray], Sequence[FrameCondition]] | None = None,
                    on_segment: SegmentHook | None = None, match_colour: bool = False) -> Iterator[np.ndarray]:
    """Generate segment by segment and yield exactly ``plan.total_frames`` frames.

    Only one segment (plus its overlap tail) is alive at a time. ``first_conditions`` go to the first
    call (e.g. a start image); ``last_conditions(first_frames)`` builds extra conditions for the last call
    from the clip's opening frames (used to close a loop). ``match_colour`` matches every later segment's
    colour statistics to the first segment's (:mod:`shortgen.colour`), against drift across extensions.
    """
    import numpy as np

    held: np.ndarray | None = None  # the previous segment's tail, not yet emitted
    opening: np.ndarray | None = None
    reference: Any = None  # the first segment's colour statistics, with match_colour
    emitted = 0
    for segment, request in zip(plan.segments, requests, strict=True):
        conditions = list(first_conditions) if segment.index == 0 else []
        if held is not None and segment.overlap:
            conditions.append(FrameCondition(frames=held, frame_index=0, strength=1.0))
        if last_conditions is not None and segment.index == len(plan.segments) - 1 and opening is not None:
            conditions.extend(last_conditions(opening))
        frames = generate(_with_conditions(request, conditions))
        if match_colour:
            frames, reference = _match_first_colours(frames, reference)
        if on_segment:
            on_segment(segment)
        if opening is None:
            opening = frames[: min(len(frames), 2 * max(segment.overlap, 9))].copy()
        body = frames
        if held is not None and segment.overlap:
            body = np.concatenate([_crossfade(held, frames[: segment.overlap]), frames[segment.overlap:]])
        is_last = segment.index == len(plan.segments) - 1
        tail = 0 if is_last else plan.segments[segment.index + 1].overlap
        emit_upto = len(body) - tail
        for frame in body[:emit_upto]:
            if emitted == plan.total_frames:
                return
            yield frame
            emitted += 1
        held = body[emit_upto:].copy() if tail else None
        del frames, body


def _match_first_colours(frames: np.ndarray, reference: Any) -> tuple[np.ndarray, Any]:
    from shortgen.colour import colour_stats, match_colours

    if reference is None:
        return frames, colour_stats(frames)
    return match_colours(frames, reference), reference


def _with_conditions(request: SegmentRequest, conditions: list[FrameCondition]) -> SegmentRequest:
    from dataclasses import replace

    return replace(request, conditions=tuple(conditions))


def _crossfade(old: np.ndarray, new: np.ndarray) -> np.ndarray:
    """Blend from ``old`` to ``new`` over their shared frames (weights strictly between 0 and 1)."""
    import numpy as np

    n = len(old)
    weights = (np.arange(1, n + 1, dtype=np.float32) / (n + 1)).reshape(n, 1, 1, 1)
    mixed = old.astype(np.float32) * (1 - weights) + new.astype(np.float32) * weights
    return np.clip(mixed + 0.5, 0, 255).astype(np.uint8)
