"""Planning a generated (``--loop seamless``) loop close: where the last segment regenerates the clip's opening,
the frames to add so it has room, and the condition it gets. Pure Python (no torch), so ``--dry-run`` plans it;
the loop stage that finishes the loop is :mod:`shortgen.stages.loop`."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np

    from shortgen.backends.base import FrameCondition
    from shortgen.chain import SegmentPlan

# Frames of the clip's opening the last segment is conditioned to end on: 8k+1 frames, the shortest video
# condition LTX accepts (one frame would pin the picture but not the motion).
SEAMLESS_CONDITION_FRAMES = 9

# Backends whose conditions can start only at frame 0 or at frame 8j+1: LTX-2 places a condition at a latent index
# (pixel frame 8j+1 is latent j+1; see shortgen.backends.ltx2.latent_index). Torch-free, so --dry-run plans it.
LATENT_PLACED_BACKENDS = frozenset({"ltx2"})
# At most this many leading frames are generated and dropped to move the closing condition onto such a frame.
MAX_LEAD_FRAMES = 7


def anywhere(index: int) -> bool:
    return True


def latent_frame(index: int) -> bool:
    """Whether a condition can start at pixel frame ``index`` of an LTX-2 call (0 or 8j+1)."""
    return index == 0 or index % 8 == 1


def condition_starts(backend: str) -> Callable[[int], bool]:
    """Where ``backend`` can start a condition within a call."""
    return latent_frame if backend in LATENT_PLACED_BACKENDS else anywhere


def closing_index(plan: SegmentPlan, frames: int, lead: int = 0,
                  placeable: Callable[[int], bool] = anywhere) -> int | None:
    """Where, in the last segment of ``plan``, the clip's ``frames`` (after ``lead`` dropped frames) end and its
    regenerated opening can start; ``None`` when that falls inside the frames the last segment continues from its
    predecessor, there is no predecessor, or the backend cannot start a condition there (``placeable``)."""
    last = plan.segments[-1]
    index = lead + frames - last.start
    fits = last.overlap <= index <= last.num_frames - SEAMLESS_CONDITION_FRAMES and placeable(index)
    return index if len(plan.segments) > 1 and fits else None


def room_to_close(plan_for: Callable[[int], SegmentPlan], frames: int, limit: int,
                  placeable: Callable[[int], bool] = anywhere) -> tuple[int, int]:
    """``(more, lead)``: the fewest frames (up to ``limit``) to add to a seamless plan so that :func:`closing_index`
    finds room, and how many of them to generate before the clip (then dropped) so that the closing condition
    lands where the backend can place it; ``(0, 0)`` when the plan has room already or nothing up to ``limit``
    gives it. The other frames added come after the regenerated opening, where the loop stage ignores them.

    Why a lead: with LTX-2's 8k+1 segments and an 8k+1 overlap every segment starts on a multiple of 8, so the
    clip's end sits at ``frames mod 8`` past one whatever the segment lengths; only starting the clip ``lead``
    frames into the stream moves it onto an 8j+1 frame. A backend that places conditions ``anywhere`` gets no lead."""
    for more in range(limit + 1):
        plan = plan_for(more)
        for lead in range(min(more, MAX_LEAD_FRAMES) + 1 if placeable is not anywhere else 1):
            if closing_index(plan, frames, lead, placeable) is not None:
                return more, lead
    return 0, 0


def seamless_chain_options(plan: SegmentPlan, frames: int, warn: Callable[[str], None], lead: int = 0,
                           placeable: Callable[[int], bool] = anywhere) -> dict[str, Any]:
    """Keyword arguments for :func:`shortgen.chain.stream_segments` that generate a seamless loop of ``frames``
    (planned with :meth:`LoopStage.extra_frames` and :func:`room_to_close`): colour matching, and the last segment
    conditioned to regenerate the clip's opening right after its ``frames``. ``lead``: frames the stream holds
    before the clip's first one (dropped by the caller)."""
    options: dict[str, Any] = {"match_colour": True}
    index = closing_index(plan, frames, lead, placeable)
    if len(plan.segments) < 2:
        warn("a one-segment clip cannot be conditioned on its own opening; a crossfade closes the loop")
    elif index is None:
        warn("the last segment has no room to regenerate the opening; a crossfade closes the loop "
             "(segments with more new frames than the overlap leave room)")
    else:
        options["last_conditions"] = closing_conditions(plan.segments[-1].num_frames, index, lead)
    return options


def closing_conditions(segment_frames: int, condition_index: int,
                       lead: int = 0) -> Callable[[np.ndarray], Sequence[FrameCondition]]:
    """Build ``last_conditions`` for :func:`shortgen.chain.stream_segments`: the clip's opening frames (the first
    segment's frames from ``lead`` on), placed at ``condition_index`` of the last segment (where the clip's
    planned frames end), so the model regenerates the opening right after the clip's last frame."""
    from shortgen.backends.base import FrameCondition

    def conditions(first: np.ndarray) -> Sequence[FrameCondition]:
        opening = first[lead:]
        count = min(SEAMLESS_CONDITION_FRAMES, len(opening), segment_frames - condition_index)
        count = count if count == 1 or count % 8 == 1 else max(1, (count - 1) // 8 * 8 + 1)
        return [FrameCondition(frames=opening[:count].copy(), frame_index=condition_index, strength=1.0)]

    return conditions


__all__ = ["LATENT_PLACED_BACKENDS", "MAX_LEAD_FRAMES", "SEAMLESS_CONDITION_FRAMES", "anywhere", "closing_conditions",
           "closing_index", "condition_starts", "latent_frame", "room_to_close", "seamless_chain_options"]
