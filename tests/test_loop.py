"""Loop stage and seam score on in-memory clips: exact frame order and counts, seams, bad input."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shortgen.backends import LTX_RULES
from shortgen.backends.base import SegmentRequest
from shortgen.chain import plan_segments, stream_segments
from shortgen.errors import UsageError
from shortgen.frames import AudioSpec, Clip
from shortgen.seam import SeamMeter, seam_score
from shortgen.stages import build_stage
from shortgen.stages.loop import (
    SEAMLESS_CONDITION_FRAMES,
    LoopStage,
    closing_index,
    crossfade_weight,
    pingpong_source_frames,
    seamless_chain_options,
    seamless_loop,
)
from tests.helpers import moving_square_frames


def numbered_frames(n: int, size: int = 4) -> Iterator[np.ndarray]:
    """Frame i is filled with the value i, so the output's order can be read back exactly."""
    for i in range(n):
        yield np.full((size, size, 3), i % 256, dtype=np.uint8)


def numbered_clip(n: int, fps: int = 10) -> Clip:
    return Clip(4, 4, Fraction(fps), n, numbered_frames(n))


def values(clip: Clip) -> list[int]:
    frames = list(clip.frames)
    assert all(f.shape == (4, 4, 3) and (f == f.flat[0]).all() for f in frames)
    return [int(f.flat[0]) for f in frames]


def square_clip(n: int, fps: int = 30) -> Clip:
    return Clip(96, 160, Fraction(fps), n, moving_square_frames(n, 96, 160))


# ------------------------------------------------------------------------------------------------ seam score


def circle_frames(n: int, period: int) -> Iterator[np.ndarray]:
    """A dot going round a circle, ``period`` frames per turn."""
    for i in range(n):
        frame = np.zeros((64, 64, 3), dtype=np.uint8)
        angle = 2 * np.pi * i / period
        x, y = int(32 + 20 * np.cos(angle)), int(32 + 20 * np.sin(angle))
        frame[y - 5:y + 5, x - 5:x + 5] = 255
        yield frame


def test_a_full_turn_scores_about_one_and_a_jump_scores_high() -> None:
    assert seam_score(circle_frames(40, 40)) == pytest.approx(1.0, abs=0.3)
    assert seam_score(circle_frames(20, 40)) > 2.5  # half a turn: the seam jumps across the circle


def test_seam_score_needs_two_frames_and_handles_a_still_clip() -> None:
    assert seam_score(numbered_frames(1)) is None
    still = [np.full((4, 4, 3), 9, np.uint8)] * 5
    assert seam_score(still) == 0.0


@settings(max_examples=40, deadline=None)
@given(st.lists(st.integers(0, 255), min_size=2, max_size=12), st.integers(0, 2**16))
def test_streaming_meter_matches_the_definition(levels: list[int], seed: int) -> None:
    rng = np.random.default_rng(seed)
    frames = [np.clip(rng.integers(-20, 20, (6, 5, 3)) + level, 0, 255).astype(np.uint8) for level in levels]
    steps = [np.abs(b.astype(float) - a.astype(float)).mean() for a, b in itertools.pairwise(frames)]
    seam = np.abs(frames[-1].astype(float) - frames[0].astype(float)).mean()
    meter = SeamMeter()
    for frame in frames:
        meter.add(frame)
    assert meter.score() == pytest.approx(seam / max(float(np.median(steps)), 0.5))


# ------------------------------------------------------------------------------------------------ crossfade


def test_crossfade_on_a_file_drops_the_overlap_and_blends_the_end_into_the_start() -> None:
    stage = LoopStage("crossfade", overlap_seconds=0.3)  # 3 frames at 10 fps
    out = stage.apply(numbered_clip(20))
    got = values(out)
    assert out.num_frames == len(got) == 17
    assert got[:14] == list(range(3, 17))  # the body is untouched, starting after the held-back opening
    # frame 17+j fades into frame j: smoothstep weights strictly between the two, rising
    for j, value in enumerate(got[14:]):
        w = crossfade_weight(j, 3)
        assert value == round((17 + j) * (1 - w) + j * w)
    assert 0 < crossfade_weight(0, 3) < crossfade_weight(2, 3) < 1


@settings(max_examples=60, deadline=None)
@given(st.integers(2, 120), st.floats(0.05, 3.0), st.sampled_from([10, 24, 30]))
def test_crossfade_for_make_gives_exactly_the_requested_frames(frames: int, overlap: float, fps: int) -> None:
    stage = LoopStage("crossfade", overlap_seconds=overlap, frames=frames)
    k = round(overlap * fps) or 1
    if 2 * k > frames:
        with pytest.raises(UsageError, match="longer than half"):
            stage.extra_frames(frames, fps)
        return
    extra = stage.extra_frames(frames, fps)
    assert extra == k
    out = stage.apply(numbered_clip(frames + extra, fps))
    assert out.num_frames == frames and len(values(out)) == frames


def test_crossfade_closes_a_strong_motion_loop() -> None:
    assert seam_score(moving_square_frames(60, 96, 160)) > 5
    out = LoopStage("crossfade", overlap_seconds=0.5).apply(square_clip(60))
    frames = list(out.frames)
    assert len(frames) == 45 and seam_score(frames) <= 1.5
    assert out.facts["seam_score"] == pytest.approx(seam_score(frames), abs=1e-3)
    assert out.info["loop"] == {"mode": "crossfade", "overlap_frames": 15}


# ------------------------------------------------------------------------------------------------ ping-pong


def test_pingpong_on_a_file_plays_forward_and_back_without_repeating_the_turns() -> None:
    out = LoopStage("pingpong").apply(numbered_clip(5))
    assert values(out) == [0, 1, 2, 3, 4, 3, 2, 1]
    assert out.num_frames == 8


@settings(max_examples=80, deadline=None)
@given(st.integers(2, 200))
def test_pingpong_for_make_gives_exactly_the_requested_frames(frames: int) -> None:
    stage = LoopStage("pingpong", frames=frames)
    source = frames + stage.extra_frames(frames, 30)
    assert source == pingpong_source_frames(frames) <= frames // 2 + 2
    got = values(stage.apply(numbered_clip(source)))
    assert len(got) == frames
    peak = got.index(max(got))
    assert got[:peak + 1] == list(range(peak + 1))  # forward
    back = got[peak + 1:]
    assert back == sorted(back, reverse=True) and (not back or back[-1] == 1)  # back to frame 1, not 0
    assert all(a != b for a, b in zip(got, got[1:] + got[:1], strict=True))  # no frame shown twice in a row


def test_pingpong_spills_to_disk_and_cleans_up(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", None)
    out = LoopStage("pingpong").apply(square_clip(30))
    frames = list(out.frames)
    assert len(frames) == 58 and seam_score(frames) <= 1.5
    assert list(tmp_path.iterdir()) == []


# ------------------------------------------------------------------------------------------------ seamless


def test_seamless_keeps_a_closed_loop_and_crossfades_an_open_one() -> None:
    closed = list(circle_frames(40 + 9, 40))  # frames 40..48 repeat the opening, as the conditioned model does
    report: dict[str, object] = {}
    out = list(seamless_loop(iter(closed), 40, 9, 1.5, 64, 64, report))
    assert len(out) == 40 and all(np.array_equal(a, b) for a, b in zip(out, closed, strict=False))
    assert report["crossfade_frames"] == 0

    opened = list(circle_frames(30 + 9, 40))  # three quarters of a turn: the end does not meet the start
    report = {}
    out = list(seamless_loop(iter(opened), 30, 9, 1.5, 64, 64, report))
    assert len(out) == 30 and report["crossfade_frames"] == 9
    assert report["seam_score_generated"] > 2.5 and seam_score(out) <= 1.5  # type: ignore[operator]


def test_seamless_stage_plans_the_regenerated_opening_and_records_both_scores() -> None:
    stage = LoopStage("seamless", frames=30)
    assert stage.extra_frames(30, 30) == SEAMLESS_CONDITION_FRAMES
    clip = Clip(64, 64, Fraction(30), 39, circle_frames(39, 40))
    out = stage.apply(clip)
    frames = list(out.frames)
    assert len(frames) == out.num_frames == 30
    assert out.info["loop"]["seam_score_generated"] > 1.5 and out.facts["seam_score"] <= 1.5


def test_seamless_chain_conditions_the_last_segment_where_the_clip_ends() -> None:
    frames = 60
    plan = plan_segments(frames + SEAMLESS_CONDITION_FRAMES, rules=LTX_RULES, segment_frames=33, overlap=9,
                         prompts=["x"], width=32, height=32, fps=30)
    index = closing_index(plan, frames)
    assert index is not None and plan.segments[-1].start + index == frames
    warnings: list[str] = []
    options = seamless_chain_options(plan, frames, warnings.append)
    assert options["match_colour"] and not warnings
    opening = np.stack(list(numbered_frames(18, 32)))
    (condition,) = options["last_conditions"](opening)
    assert condition.frame_index == index and len(condition.frames) == SEAMLESS_CONDITION_FRAMES
    assert np.array_equal(condition.frames, opening[:9])


def test_seamless_chain_warns_when_there_is_no_earlier_segment() -> None:
    plan = plan_segments(40, rules=LTX_RULES, segment_frames=41, overlap=9, prompts=["x"], width=32, height=32,
                         fps=30)
    warnings: list[str] = []
    options = seamless_chain_options(plan, 31, warnings.append)
    assert "last_conditions" not in options and "crossfade" in warnings[0]


def test_colour_drift_across_segments_is_matched_to_the_first() -> None:
    plan = plan_segments(60, rules=LTX_RULES, segment_frames=25, overlap=9, prompts=["x"], width=32, height=32,
                         fps=30)
    rng = np.random.default_rng(0)

    def drifting(request: SegmentRequest) -> np.ndarray:  # each call is redder and brighter than the last
        base = rng.integers(60, 140, (request.num_frames, 32, 32, 3)).astype(np.float32)
        base[..., 0] += 25 * request.index
        base *= 1 + 0.1 * request.index
        return np.clip(base, 0, 255).astype(np.uint8)

    from shortgen.chain import GenerationSettings, segment_requests

    requests = segment_requests(plan, GenerationSettings("", 1, 1.0, 0))
    count = len(plan.segments)
    assert count >= 3
    for match, check in ((False, lambda d: d > 30), (True, lambda d: d < 3)):
        rng = np.random.default_rng(0)
        out = np.stack(list(stream_segments(plan, requests, drifting, match_colour=match)))
        first, last = out[:16].reshape(-1, 3).mean(0), out[-16:].reshape(-1, 3).mean(0)
        assert check(float(np.abs(first - last).max())), (match, first, last)


# ------------------------------------------------------------------------------------------------ audio, bad input


def test_loop_audio_starts_where_the_video_starts_and_crossfades_back() -> None:
    audio = AudioSpec(path=Path("music.wav"))
    out = LoopStage("crossfade", overlap_seconds=0.5).apply(Clip(4, 4, Fraction(30), 60, numbered_frames(60),
                                                                 audio=audio))
    assert out.audio == AudioSpec(path=Path("music.wav"), start=0.5, loop_crossfade=0.5)


@pytest.mark.parametrize(("spec", "clip_frames", "message"), [
    ({"mode": "sideways"}, 10, "unknown loop mode 'sideways'"),
    ({"mode": "crossfade", "overlap_seconds": 0.6}, 10, "longer than half the 1 s clip"),
    ({"mode": "pingpong"}, 1, "at least 2 frames"),
    ({"mode": "seamless"}, 10, "needs 'make'"),
    ({"mode": "crossfade", "overlap_seconds": 0}, 10, "must be positive"),
])
def test_bad_loops_are_usage_errors(spec: dict[str, object], clip_frames: int, message: str) -> None:
    with pytest.raises(UsageError, match=message):
        build_stage({"key": "loop", **spec}).apply(numbered_clip(clip_frames))
