"""``make --loop seamless`` on the tiny random-weight LTX model: the last call is conditioned on the clip's
opening at the frame where the clip ends, and the finished file loops without a visible seam."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from shortgen.backends import LoadOptions, load_backend
from shortgen.backends.base import SegmentRequest
from shortgen.config import MakeOptions
from shortgen.pipeline import make_clip, plan_for_stages
from shortgen.progress import RecordingProgress
from shortgen.seam import seam_score
from shortgen.stages.loop import SEAMLESS_CONDITION_FRAMES
from tests.helpers import decode_frames, small_preset


class Spy:
    """Wraps a loaded backend; keeps every request and the frames it returned."""

    def __init__(self, backend: Any) -> None:
        self.backend = backend
        self.calls: list[tuple[SegmentRequest, np.ndarray]] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self.backend, name)

    def generate(self, request: SegmentRequest, on_step: Any = None) -> np.ndarray:
        frames = self.backend.generate(request, on_step)
        self.calls.append((request, frames.copy()))
        return frames


@pytest.fixture(scope="module")
def backend(tiny_model_dir: Path) -> Any:
    return load_backend("ltx", LoadOptions(model=str(tiny_model_dir)))


@pytest.fixture(scope="module")
def seamless_run(backend: Any, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    folder = tmp_path_factory.mktemp("seamless")
    preset = small_preset(folder, generation={"segment_frames": 25, "overlap_frames": 9})
    out = folder / "waves.mp4"
    spy = Spy(backend)
    progress = RecordingProgress()
    options = MakeOptions(prompt="waves rolling onto a beach at dusk", preset=str(preset), duration=3,
                          loop="seamless", output=str(out))
    result = make_clip(options, backend=spy, progress=progress)  # type: ignore[arg-type]
    return {"result": result, "spy": spy, "out": out, "progress": progress}


def test_the_last_call_is_conditioned_to_end_on_the_opening(seamless_run: dict[str, Any]) -> None:
    calls, result = seamless_run["spy"].calls, seamless_run["result"]
    segments = result.plan["segments"]
    assert len(calls) == len(segments) == 2
    first_request, first_frames = calls[0]
    assert first_request.conditions == ()  # nothing to close the loop on yet
    last_request = calls[-1][0]
    continuity, closing = last_request.conditions
    assert continuity.frame_index == 0
    # the opening, regenerated right after the clip's 30 frames: frame 30 of the timeline
    assert closing.frame_index == 30 - segments[-1]["start"]
    assert closing.frame_index >= segments[-1]["overlap"]  # clear of the frames continued from segment 1
    assert closing.frame_index + len(closing.frames) <= last_request.num_frames
    assert len(closing.frames) == SEAMLESS_CONDITION_FRAMES and closing.strength == 1.0
    assert np.array_equal(closing.frames, first_frames[:SEAMLESS_CONDITION_FRAMES])
    assert seamless_run["progress"].warnings == []


def test_the_seamless_clip_has_the_requested_length_and_no_visible_seam(seamless_run: dict[str, Any]) -> None:
    result, out = seamless_run["result"], seamless_run["out"]
    decoded = decode_frames(out)
    assert len(decoded) == result.frames == 30 and result.duration == 3.0
    assert result.plan["generated_frames"] >= 30 + SEAMLESS_CONDITION_FRAMES
    assert seam_score(decoded) <= 1.5
    info = result.info
    assert info["loop"]["mode"] == "seamless" and info["seam_score"] <= 1.5
    assert "seam_score_generated" in info["loop"]
    sidecar = json.loads(out.with_suffix(".json").read_text(encoding="utf-8"))
    assert sidecar["result"]["info"]["seam_score"] == info["seam_score"]


@pytest.mark.parametrize(("mode", "generated"), [("crossfade", 30 + 5), ("pingpong", 16)])
def test_make_plans_the_frames_a_loop_needs_and_keeps_the_duration(backend: Any, tmp_path: Path, mode: str,
                                                                   generated: int) -> None:
    out = tmp_path / f"{mode}.mp4"
    options = MakeOptions(prompt="a dog runs", preset=str(small_preset(tmp_path)), duration=3, loop=mode,
                          loop_overlap=0.5, output=str(out))
    result = make_clip(options, backend=backend)
    assert plan_for_stages(options).segments.total_frames == generated  # what --dry-run shows
    decoded = decode_frames(out)
    assert len(decoded) == result.frames == 30 and result.duration == 3.0
    assert seam_score(decoded) <= 1.5 and result.info["seam_score"] <= 1.5
