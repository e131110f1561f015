"""Plan model calls for a target length, and stitch their frames into one stream.

A model makes a few seconds per call. To reach ``duration × fps`` frames, ``make`` chains segments:
each segment after the first is conditioned on the last ``overlap`` frames of the one before (placed
at its frame 0), so it continues the motion. Those shared frames are crossfaded from the old segment
into the new one, so there is neither a jump nor a repeated frame. This module is pure Python (no
torch), so ``--dry-run`` can print the plan instantly.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
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


@dataclass(frozen=True)
class SplitModel:
    """A model whose denoising and decoding can be called apart, for :func:`stream_segments_ahead`.

    ``decode(denoise(r), r)`` must give what a one-call generate gives; ``decode_tail(latents, r, n)`` the last
    ``n`` of those frames, or a cheap approximation of them. ``decode`` may run on a worker thread.
    """

    denoise: Callable[[SegmentRequest], Any]
    decode: Callable[[Any, SegmentRequest], np.ndarray]
    decode_tail: Callable[[Any, SegmentRequest, int], np.ndarray]


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
    stitcher = _Stitcher(plan, first_conditions, last_conditions, match_colour)
    for segment, request in zip(plan.segments, requests, strict=True):
        frames = generate(_with_conditions(request, stitcher.conditions(segment, stitcher.held)))
        yield from stitcher.take(segment, frames, on_segment)
        del frames
        if stitcher.done:
            return


def stream_segments_ahead(plan: SegmentPlan, requests: Sequence[SegmentRequest], model: SplitModel, *,
                          worker: bool = True, first_conditions: Sequence[FrameCondition] = (),
                          last_conditions: Callable[[np.ndarray], Sequence[FrameCondition]] | None = None,
                          on_segment: SegmentHook | None = None, match_colour: bool = False) -> Iterator[np.ndarray]:
    """:func:`stream_segments`, with each segment's full decode running while the next segment denoises.

    After segment i denoises, only the tail the next segment is conditioned on is decoded (``decode_tail``);
    segment i's full decode goes to one worker thread (``worker=False``: it runs right there, for tests)
    and segment i+1 denoises meanwhile. The emitted frames all come from full decodes, in order; at most
    one decode is pending. The conditions are built as :func:`stream_segments` builds them (crossfade,
    colour matching) but from the decoded tail, so the frames differ from it only as far as the tail decode
    differs from the full one (colour matching takes its statistics from the tail alone).
    """
    stitcher = _Stitcher(plan, first_conditions, last_conditions, match_colour)
    executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="shortgen-decode") if worker else None
    pending: tuple[Segment, Future[np.ndarray]] | None = None
    condition: np.ndarray | None = None  # the frames the next segment continues from
    try:
        for segment, request in zip(plan.segments, requests, strict=True):
            if pending is not None and stitcher.needs_opening(segment):
                yield from stitcher.take(pending[0], pending[1].result(), on_segment)
                pending = None
            conditioned = _with_conditions(request, stitcher.conditions(segment, condition))
            latents = model.denoise(conditioned)
            following = stitcher.next_overlap(segment)
            tail = model.decode_tail(latents, conditioned, following) if following else None
            ready = stitcher.take(pending[0], pending[1].result(), on_segment) if pending is not None else None
            condition = stitcher.condition_from_tail(segment, tail) if tail is not None else None
            pending = (segment, _submit(executor, model.decode, latents, conditioned))
            del latents, tail
            if ready is not None:
                yield from ready
            if stitcher.done:
                return
        if pending is not None:
            yield from stitcher.take(pending[0], pending[1].result(), on_segment)
    finally:
        if executor is not None:
            executor.shutdown(wait=True, cancel_futures=True)


def _submit(executor: ThreadPoolExecutor | None, fn: Callable[..., np.ndarray], *args: Any) -> Future[np.ndarray]:
    if executor is not None:
        return executor.submit(fn, *args)
    done: Future[np.ndarray] = Future()
    try:
        done.set_result(fn(*args))
    except BaseException as err:
        done.set_exception(err)
    return done


class _Stitcher:
    """Turns each segment's frames into the frames to emit (crossfading the overlap, matching colours), holding
    back the tail the next segment overlaps, and builds each segment's conditions."""

    def __init__(self, plan: SegmentPlan, first_conditions: Sequence[FrameCondition],
                 last_conditions: Callable[[np.ndarray], Sequence[FrameCondition]] | None,
                 match_colour: bool) -> None:
        self.plan = plan
        self.first_conditions = list(first_conditions)
        self.last_conditions = last_conditions
        self.match_colour = match_colour
        self.held: np.ndarray | None = None  # the previous segment's tail, not yet emitted
        self.opening: np.ndarray | None = None
        self.reference: Any = None  # the first segment's colour statistics, with match_colour
        self.emitted = 0

    @property
    def done(self) -> bool:
        return self.emitted >= self.plan.total_frames

    def is_last(self, segment: Segment) -> bool:
        return segment.index == len(self.plan.segments) - 1

    def next_overlap(self, segment: Segment) -> int:
        return 0 if self.is_last(segment) else self.plan.segments[segment.index + 1].overlap

    def needs_opening(self, segment: Segment) -> bool:
        return self.last_conditions is not None and self.is_last(segment) and self.opening is None

    def conditions(self, segment: Segment, held: np.ndarray | None) -> list[FrameCondition]:
        """``segment``'s conditions, continuing from ``held`` (the previous segment's last frames)."""
        conditions = list(self.first_conditions) if segment.index == 0 else []
        if held is not None and segment.overlap:
            conditions.append(FrameCondition(frames=held, frame_index=0, strength=1.0))
        if self.last_conditions is not None and self.is_last(segment) and self.opening is not None:
            conditions.extend(self.last_conditions(self.opening))
        return conditions

    def take(self, segment: Segment, frames: np.ndarray, on_segment: SegmentHook | None) -> np.ndarray:
        """The frames of ``segment`` to emit now (at most up to ``plan.total_frames``); the state moves on."""
        import numpy as np

        if self.match_colour:
            frames, self.reference = _match_first_colours(frames, self.reference)
        if on_segment:
            on_segment(segment)
        if self.opening is None:
            self.opening = frames[: min(len(frames), 2 * max(segment.overlap, 9))].copy()
        body = frames
        if self.held is not None and segment.overlap:
            body = np.concatenate([_crossfade(self.held, frames[: segment.overlap]), frames[segment.overlap:]])
        emit_upto = len(body) - self.next_overlap(segment)
        self.held = body[emit_upto:].copy() if emit_upto < len(body) else None
        out = body[: max(0, min(emit_upto, self.plan.total_frames - self.emitted))]
        self.emitted += len(out)
        return out

    def condition_from_tail(self, segment: Segment, tail: np.ndarray) -> np.ndarray:
        """What :meth:`take` will hold back from ``segment``, built from its last frames only (``tail``); call it
        before ``take(segment, ...)``, while :attr:`held` is still the previous segment's tail."""
        if self.match_colour and self.reference is not None:
            tail = _match_first_colours(tail.copy(), self.reference)[0]
        start = segment.num_frames - len(tail)  # where the tail sits in the segment
        if self.held is None or not segment.overlap or start >= segment.overlap:
            return tail
        shared = segment.overlap - start  # tail frames inside the crossfade with the previous segment
        import numpy as np

        mixed = _crossfade(self.held[start:segment.overlap], tail[:shared], offset=start, span=segment.overlap)
        return np.concatenate([mixed, tail[shared:]])


def _match_first_colours(frames: np.ndarray, reference: Any) -> tuple[np.ndarray, Any]:
    from shortgen.colour import colour_stats, match_colours

    if reference is None:
        return frames, colour_stats(frames)
    return match_colours(frames, reference), reference


def _with_conditions(request: SegmentRequest, conditions: list[FrameCondition]) -> SegmentRequest:
    from dataclasses import replace

    return replace(request, conditions=tuple(conditions))


def _crossfade(old: np.ndarray, new: np.ndarray, offset: int = 0, span: int | None = None) -> np.ndarray:
    """Blend from ``old`` to ``new`` over their shared frames (weights strictly between 0 and 1). ``offset`` and
    ``span``: these frames are frames ``offset...`` of a crossfade ``span`` frames long (default: all of it)."""
    import numpy as np

    n = len(new)
    span = n if span is None else span
    weights = (np.arange(offset + 1, offset + n + 1, dtype=np.float32) / (span + 1)).reshape(n, 1, 1, 1)
    mixed = old.astype(np.float32) * (1 - weights) + new.astype(np.float32) * weights
    return np.clip(mixed + 0.5, 0, 255).astype(np.uint8)


class AudioStitcher:
    """Joins the sound of consecutive segments (a backend that makes sound with the picture) as the frames are
    joined: segment k's audio covers exactly its frames' time span (``round(frame * rate / fps)`` samples from
    the clip's start, so nothing drifts however many segments there are); over the frames it shares with k-1
    the two are crossfaded (equal power) and the tail k+1 will overlap is held back. ``emit`` gets each stretch
    of final audio in order, ``plan.total_frames / fps`` seconds in all."""

    def __init__(self, plan: SegmentPlan, sample_rate: int, emit: Callable[[np.ndarray], None]) -> None:
        self.plan = plan
        self.rate = sample_rate
        self.emit = emit
        self.held: np.ndarray | None = None
        self.emitted = 0
        self.spans: list[tuple[int, int]] = []  # each segment's (first, end) sample in the clip, for the record

    def sample_at(self, frame: int) -> int:
        return round(frame * self.rate / self.plan.fps)

    def add(self, index: int, samples: np.ndarray) -> None:
        """Segment ``index``'s audio (``(channels, n)`` float, any n: it is fitted to the segment's span)."""
        import numpy as np

        from shortgen.soundgen.buffer import as_stereo, equal_power_crossfade, fit_length

        segment = self.plan.segments[index]
        begin, end = self.sample_at(segment.start), self.sample_at(segment.start + segment.num_frames)
        self.spans.append((begin, end))
        body = fit_length(np.clip(as_stereo(samples), -1.0, 1.0), end - begin)
        if self.held is not None and segment.overlap:
            shared = self.held.shape[1]
            body = np.concatenate([equal_power_crossfade(self.held, body[:, :shared]), body[:, shared:]], axis=1)
        last = index == len(self.plan.segments) - 1
        keep = body.shape[1] if last else self.sample_at(self.plan.segments[index + 1].start) - begin
        self.held = None if last else body[:, keep:].copy()
        final = body[:, : max(0, min(keep, self.sample_at(self.plan.total_frames) - self.emitted))]
        self.emitted += final.shape[1]
        self.emit(final)
