"""The ltx2 backend on the tiny random-weight LTX-2 pipeline (loaded through the real loading code): picture and
sound from one model, segments chained on the previous frames, their sound joined without gaps."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from shortgen.backends import LoadOptions, load_backend
from shortgen.backends.base import FrameCondition, SegmentOutput
from shortgen.chain import AudioStitcher, SegmentPlan, plan_segments
from shortgen.config import MakeOptions
from shortgen.errors import ModelError, UsageError
from shortgen.pipeline import make_clip, plan_make
from tests.helpers import probe, small_preset
from tests.test_sound import decode_audio, video_duration


@pytest.fixture(scope="module")
def ltx2_backend(tiny_ltx2_dir: Path) -> Any:
    return load_backend("ltx2", LoadOptions(model=str(tiny_ltx2_dir)))


class Recording:
    """The real backend, keeping each segment's raw sound and conditions (to check the joins against)."""

    def __init__(self, backend: Any) -> None:
        self.backend = backend
        self.name, self.rules, self.audio_sample_rate = backend.name, backend.rules, backend.audio_sample_rate
        self.raw: list[np.ndarray] = []
        self.conditions: list[tuple[FrameCondition, ...]] = []

    def describe(self) -> dict[str, Any]:
        return self.backend.describe()

    def generate(self, request: Any, on_step: Any = None) -> np.ndarray:
        return self.generate_with_audio(request, on_step).frames

    def generate_with_audio(self, request: Any, on_step: Any = None) -> SegmentOutput:
        made = self.backend.generate_with_audio(request, on_step)
        self.raw.append(made.audio)
        self.conditions.append(request.conditions)
        return made


def ltx2_options(tmp_path: Path, model: Path, **extra: Any) -> MakeOptions:
    preset = small_preset(tmp_path, generation={"width": 64, "height": 96})
    return MakeOptions(**{"prompt": "a street drummer", "preset": str(preset), "backend": "ltx2",
                          "model": str(model), "duration": 3, **extra})


# --- shape rules and folders, before any weights load --------------------------------------------------------------
def test_ltx2_shape_rules_are_checked_in_the_plan(tmp_path: Path) -> None:
    preset = small_preset(tmp_path, generation={"width": 100, "height": 96})
    with pytest.raises(UsageError, match="width 100 is not a multiple of 32"):
        plan_make(MakeOptions(prompt="x", preset=str(preset), backend="ltx2"))
    preset = small_preset(tmp_path, generation={"width": 64, "height": 96, "segment_frames": 20})
    with pytest.raises(UsageError, match="8k\\+1"):
        plan_make(MakeOptions(prompt="x", preset=str(preset), backend="ltx2"))


def test_seamless_loops_are_planned_with_ltx2(tmp_path: Path) -> None:
    from shortgen.pipeline import plan_for_stages

    preset = small_preset(tmp_path, generation={"width": 64, "height": 96})
    assert plan_for_stages(MakeOptions(prompt="x", preset=str(preset), backend="ltx2", loop="seamless", duration=3))
    assert plan_for_stages(MakeOptions(prompt="x", preset=str(preset), backend="ltx2", loop="crossfade", duration=3))


def test_ltx2_without_a_model_uses_its_own_default(tmp_path: Path) -> None:
    preset = small_preset(tmp_path, generation={"width": 64, "height": 96})
    plan = plan_make(MakeOptions(prompt="x", preset=str(preset), backend="ltx2"))
    assert plan.to_dict()["model"] == "diffusers/LTX-2.3-Distilled-Diffusers"
    assert plan_make(MakeOptions(prompt="x", preset=str(preset))).to_dict()["model"].startswith("Lightricks/LTX-Video")


def test_a_folder_for_the_other_backend_names_the_backend_it_is_for(tiny_model_dir: Path, tiny_ltx2_dir: Path,
                                                                    tmp_path: Path) -> None:
    preset = small_preset(tmp_path, generation={"width": 64, "height": 96})
    with pytest.raises(ModelError, match="a model for the ltx backend, not ltx2") as wrong:
        plan_make(MakeOptions(prompt="x", preset=str(preset), backend="ltx2", model=str(tiny_model_dir)))
    assert "--backend ltx" in wrong.value.hint
    with pytest.raises(ModelError, match="a model for the ltx2 backend, not ltx"):
        plan_make(MakeOptions(prompt="x", preset=str(preset), model=str(tiny_ltx2_dir)))
    with pytest.raises(ModelError, match="for the ltx backend"):
        load_backend("ltx2", LoadOptions(model=str(tiny_model_dir)))


def test_cli_reports_the_wrong_folder_in_one_line_and_writes_nothing(tiny_model_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "d.mp4"
    env = {**os.environ, "NO_COLOR": "1", "HF_HUB_OFFLINE": "1"}
    done = subprocess.run([sys.executable, "-m", "shortgen", "make", "drums", "--backend", "ltx2", "--model",
                           str(tiny_model_dir), "-o", str(out)], capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 1 and "for the ltx backend" in done.stderr and "Traceback" not in done.stderr
    assert not out.exists()


def test_conditions_map_to_latent_indices_or_fail_clearly() -> None:
    from shortgen.backends.ltx2 import latent_index

    frames = np.zeros((9, 96, 64, 3), np.uint8)
    assert latent_index(FrameCondition(frames, 0), 33) == 0
    assert latent_index(FrameCondition(frames, 17), 33) == 3
    with pytest.raises(UsageError, match="only frame 0 or 8j\\+1"):
        latent_index(FrameCondition(frames, 8), 33)
    with pytest.raises(UsageError, match="1 or 8k\\+1"):
        latent_index(FrameCondition(frames[:4], 0), 33)


# --- joining the sound of segments (no model) ----------------------------------------------------------------------
def _plan(total: int, fps: float, segment: int = 121, overlap: int = 17) -> SegmentPlan:
    from shortgen.backends import LTX2_RULES

    return plan_segments(total, rules=LTX2_RULES, segment_frames=segment, overlap=overlap, prompts=["x"],
                         width=64, height=96, fps=fps)


@pytest.mark.parametrize("fps", [24.0, 30.0, 25.0])
def test_stitched_sound_is_exactly_the_clip_length_over_30_seconds(fps: float) -> None:
    plan = _plan(round(30 * fps), fps)
    rate, out = 24_000, []
    stitcher = AudioStitcher(plan, rate, out.append)
    for segment in plan.segments:  # model audio a few hops short, as LTX-2's causal audio VAE makes it
        stitcher.add(segment.index, np.ones((2, round(segment.num_frames / fps * rate) - 300), np.float32))
        if segment.index + 1 < len(plan.segments):  # final up to where the next segment's sound begins
            following = plan.segments[segment.index + 1]
            assert sum(piece.shape[1] for piece in out) == round(following.start / fps * rate)
    total = sum(piece.shape[1] for piece in out)
    assert total == round(plan.total_frames / fps * rate)  # no drift: 0 samples, well under one frame
    for (begin, end), segment in zip(stitcher.spans, plan.segments, strict=True):
        assert begin == round(segment.start / fps * rate)
        assert end == round((segment.start + segment.num_frames) / fps * rate)


# --- the tiny model end to end -------------------------------------------------------------------------------------
def test_segment_output_has_frames_and_sound_of_the_segment_length(ltx2_backend: Any) -> None:
    from shortgen.backends.base import SegmentRequest

    request = SegmentRequest(index=0, prompt="drums", negative_prompt="", width=64, height=96, num_frames=17, fps=24,
                             steps=2, guidance_scale=1.0, seed=0)
    made = ltx2_backend.generate_with_audio(request)
    assert made.frames.shape == (17, 96, 64, 3) and made.frames.dtype == np.uint8
    assert made.sample_rate == 16000 and made.audio.shape[0] == 2
    assert abs(made.audio.shape[1] - 17 / 24 * 16000) < 0.05 * 16000  # about the segment's duration
    assert np.array_equal(ltx2_backend.generate(request), made.frames)


def test_eight_steps_on_a_distilled_model_run_the_distilled_sigmas_without_guidance(ltx2_backend: Any) -> None:
    from diffusers.pipelines.ltx2.utils import DISTILLED_SIGMA_VALUES

    from shortgen.backends.base import SegmentRequest

    request = SegmentRequest(index=0, prompt="drums", negative_prompt="", width=64, height=96, num_frames=9, fps=24,
                             steps=8, guidance_scale=3.0, seed=0)
    schedule = ltx2_backend._schedule(request)
    assert schedule["sigmas"] == list(DISTILLED_SIGMA_VALUES) and schedule["guidance_scale"] == 1.0
    assert schedule["stg_scale"] == 0.0 and schedule["audio_modality_scale"] == 1.0
    steps: list[tuple[int, int]] = []
    made = ltx2_backend.generate_with_audio(request, on_step=lambda step, total: steps.append((step, total)))
    assert steps[-1] == (8, 8) and made.frames.shape[0] == 9
    other = ltx2_backend._schedule(SegmentRequest(**{**request.__dict__, "steps": 4}))
    assert "sigmas" not in other and other["guidance_scale"] == 3.0  # not the distilled call: the request's own


def test_three_segment_chain_writes_a_clip_whose_sound_joins_without_gaps(ltx2_backend: Any, tmp_path: Path) -> None:
    recording = Recording(ltx2_backend)
    out = tmp_path / "drummer.mp4"
    result = make_clip(ltx2_options(tmp_path, Path("unused"), seed=2, output=str(out)), backend=recording)
    plan = result.plan
    segments = plan["segments"]
    assert len(segments) == 3
    info = probe(out)
    assert info["frames"] == 30 and info["audio"] == [("aac", 48000, 2)]
    audio, rate = decode_audio(out)
    assert abs(audio.shape[1] / rate - video_duration(out)) <= 1 / 10  # within one frame
    assert float(np.sqrt((audio ** 2).mean())) > 0.01
    # Each later segment is conditioned on the previous segment's last frames, at its frame 0.
    for conditions, segment in zip(recording.conditions[1:], segments[1:], strict=True):
        assert len(conditions) == 1 and conditions[0].frame_index == 0
        assert len(conditions[0].frames) == segment["overlap"]
    # The joined track, from memory: segment k+1's sound starts where k's overlap starts, is crossfaded over the
    # shared frames only, and is k+1's own sound from there to the next overlap.
    sound = result.info["sound"]
    spans = sound["segment_spans"]
    track_rate = sound["sample_rate"]
    for k in range(2):
        assert spans[k + 1][0] == round(segments[k + 1]["start"] * track_rate / 10)
        assert spans[k][1] == round((segments[k]["start"] + segments[k]["num_frames"]) * track_rate / 10)
        assert spans[k + 1][0] < spans[k][1]  # they overlap: no gap
        assert spans[k][1] - spans[k + 1][0] == round(segments[k + 1]["overlap"] * track_rate / 10)


def test_the_joined_track_is_each_segments_own_sound_between_the_crossfades(ltx2_backend: Any,
                                                                            tmp_path: Path) -> None:
    from shortgen.chain import plan_segments as plan_again
    from shortgen.soundgen.buffer import GeneratedAudio, fit_length

    recording = Recording(ltx2_backend)
    options = ltx2_options(tmp_path, Path("unused"), seed=4, output=str(tmp_path / "a.mp4"))
    make_clip(options, backend=recording, write_sidecar=False)
    plan = plan_make(options).segments
    assert plan_again is plan_segments and len(recording.raw) == 3
    track = GeneratedAudio(recording.audio_sample_rate)
    stitcher = AudioStitcher(plan, track.sample_rate, track.append)
    for index, raw in enumerate(recording.raw):
        stitcher.add(index, raw)
    joined = track.samples()
    for k, (begin, end) in enumerate(stitcher.spans):
        own = fit_length(np.clip(recording.raw[k], -1, 1), end - begin)
        first = stitcher.spans[k - 1][1] if k else begin  # after the crossfade with k-1
        last = stitcher.spans[k + 1][0] if k < 2 else min(end, joined.shape[1])  # before the one with k+1
        np.testing.assert_array_equal(joined[:, first:last], own[:, first - begin:last - begin])


def test_same_seed_same_sound_other_seed_other_sound(ltx2_backend: Any, tmp_path: Path) -> None:
    tracks = []
    for name, seed in (("a", 5), ("b", 5), ("c", 6)):
        out = tmp_path / f"{name}.mp4"
        make_clip(ltx2_options(tmp_path, Path("unused"), seed=seed, output=str(out), duration=2),
                  backend=ltx2_backend, write_sidecar=False)
        tracks.append(decode_audio(out)[0])
    assert np.array_equal(tracks[0], tracks[1])
    assert tracks[0].shape != tracks[2].shape or not np.allclose(tracks[0], tracks[2])


def test_make_loads_the_folder_encodes_prompts_then_frees_gemma(tiny_ltx2_dir: Path, tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    import shortgen.pipeline.make as make  # where make_clip looks load_generator up

    loaded: list[Any] = []
    real = make.load_generator
    monkeypatch.setattr(make, "load_generator", lambda *a: loaded.append(real(*a)) or loaded[-1])
    out = tmp_path / "d.mp4"
    result = make_clip(ltx2_options(tmp_path, tiny_ltx2_dir, output=str(out)))
    assert loaded[0].pipeline.text_encoder is None  # released after the prompts were encoded
    sidecar = json.loads(result.sidecar.read_text(encoding="utf-8"))
    assert sidecar["model"]["backend"] == "ltx2" and sidecar["model"]["random_weights"] is True
    assert sidecar["result"]["info"]["sound"]["source"] == "ltx2 backend"


def test_models_tiny_ltx2_command_builds_a_loadable_folder(tmp_path: Path) -> None:
    from tests.test_sound import _cli

    folder = tmp_path / "l2"
    done = _cli("models", "tiny", str(folder), "--backend", "ltx2", "--json")
    assert done.exit_code == 0, done.stderr
    assert json.loads((folder / "model_index.json").read_text())["_class_name"] == "LTX2ConditionPipeline"
    assert json.loads(done.stdout)["backend"] == "ltx2"
