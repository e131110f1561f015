"""Segment planning and stitching, with an ideal fake model (proof of generation lives elsewhere)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shortgen.backends import LTX_RULES, SegmentRequest
from shortgen.chain import (
    GenerationSettings,
    plan_segments,
    prompt_for_segment,
    segment_requests,
    split_prompts,
    stream_segments,
)
from shortgen.errors import UsageError

OVERLAPS = st.sampled_from([0, 9, 17, 25])
SEGMENTS = st.sampled_from([33, 65, 97, 121, 161])


@given(total=st.integers(1, 1800), segment=SEGMENTS, overlap=OVERLAPS)
def test_plan_covers_exactly_and_every_call_fits_the_model(total: int, segment: int, overlap: int) -> None:
    if overlap >= segment:
        return
    plan = plan_segments(total, rules=LTX_RULES, segment_frames=segment, overlap=overlap, prompts=["a"],
                         width=544, height=960, fps=30)
    assert plan.generated_frames >= total
    assert all(LTX_RULES.valid_frames(s.num_frames) and s.num_frames <= max(segment, 9) for s in plan.segments)
    assert sum(s.new_frames for s in plan.segments) == plan.generated_frames
    # fewest calls: one fewer could not cover the clip
    count = len(plan.segments)
    if count > 1:
        assert (count - 1) * segment - (count - 2) * overlap < total
    # waste is bounded by one frame-rounding step per segment
    assert plan.generated_frames - max(total, LTX_RULES.min_frames) < 8 * count


def test_twelve_seconds_needs_several_segments() -> None:
    plan = plan_segments(360, rules=LTX_RULES, segment_frames=121, overlap=17, prompts=["a"], width=544,
                         height=960, fps=30)
    assert len(plan.segments) >= 2
    assert [s.overlap for s in plan.segments] == [0] + [17] * (len(plan.segments) - 1)


@pytest.mark.parametrize(("width", "height"), [(500, 960), (544, 1000)])
def test_sizes_must_be_multiples_of_32(width: int, height: int) -> None:
    with pytest.raises(UsageError, match="not a multiple of 32"):
        plan_segments(100, rules=LTX_RULES, segment_frames=121, overlap=17, prompts=["a"], width=width,
                      height=height, fps=30)


def test_segment_length_must_be_8k_plus_1() -> None:
    with pytest.raises(UsageError, match=r"8k\+1.*use 121"):
        plan_segments(100, rules=LTX_RULES, segment_frames=120, overlap=17, prompts=["a"], width=544,
                      height=960, fps=30)


def test_storyboard_prompts_split_and_spread() -> None:
    assert split_prompts(["city | rain starts", "neon"]) == ["city", "rain starts", "neon"]
    assert [prompt_for_segment(["a", "b"], i, 4) for i in range(4)] == ["a", "a", "b", "b"]
    with pytest.raises(UsageError, match="empty prompt"):
        split_prompts(["a | "])


class IdealModel:
    """Frames carry their global time in pixel values; a condition at frame 0 is reproduced exactly."""

    def __init__(self) -> None:
        self.requests: list[SegmentRequest] = []
        self.next_time = 0

    def __call__(self, request: SegmentRequest) -> np.ndarray:
        self.requests.append(request)
        frames = np.zeros((request.num_frames, 8, 8, 3), dtype=np.uint8)
        start = 0
        for cond in request.conditions:
            frames[: len(cond.frames)] = cond.frames
            start = len(cond.frames)
        t0 = int(frames[start - 1, 0, 0, 0]) + 1 if start else 0
        for i in range(start, request.num_frames):
            frames[i] = (t0 + i - start) % 256
        return frames


@settings(max_examples=25, deadline=None)
@given(total=st.integers(1, 240), overlap=st.sampled_from([9, 17]))
def test_stream_yields_exact_count_continuous_motion_no_repeats(total: int, overlap: int) -> None:
    plan = plan_segments(total, rules=LTX_RULES, segment_frames=33, overlap=overlap, prompts=["a"], width=32,
                         height=32, fps=10)
    model = IdealModel()
    requests = segment_requests(plan, GenerationSettings("", 8, 1.0, seed=7))
    frames = list(stream_segments(plan, requests, model))
    assert len(frames) == total
    times = [int(f[0, 0, 0]) for f in frames]
    assert times == [t % 256 for t in range(total)]  # no jump, no repeated frame
    for request, previous in zip(model.requests[1:], model.requests, strict=False):
        (cond,) = request.conditions
        assert cond.frame_index == 0 and len(cond.frames) == overlap
        assert request.seed != previous.seed


def test_first_conditions_go_to_first_call_only() -> None:
    from shortgen.backends import FrameCondition

    plan = plan_segments(60, rules=LTX_RULES, segment_frames=33, overlap=9, prompts=["a"], width=32, height=32,
                         fps=10)
    image = FrameCondition(frames=np.full((1, 8, 8, 3), 200, np.uint8))
    model = IdealModel()
    requests = segment_requests(plan, GenerationSettings("", 8, 1.0, seed=0))
    list(stream_segments(plan, requests, model, first_conditions=[image]))
    assert len(model.requests[0].conditions) == 1 and model.requests[0].conditions[0] is image
    assert all(c is not image for r in model.requests[1:] for c in r.conditions)
