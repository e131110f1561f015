"""``make --backend ltx2 --loop seamless``: LTX-2 places a condition only at pixel frame 0 or 8j+1 (a latent index),
so the plan starts the clip a few frames into the stream (``loop_lead``) to put its end on such a frame; the last
call is conditioned there on the clip's opening (keyframe tokens), and the model's sound closes its loop ahead
(what follows the clip's end fades into its opening) without a click and without moving against the picture."""

from __future__ import annotations

import json
from fractions import Fraction
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest

from shortgen.audio.mix import close_loop_ahead, render
from shortgen.audio.seam import sound_seam
from shortgen.backends import LTX2_RULES, LoadOptions, load_backend
from shortgen.chain import plan_segments
from shortgen.config import MakeOptions
from shortgen.frames import AudioBuffer, AudioMix, AudioSpec
from shortgen.pipeline import make_clip, plan_for_stages
from shortgen.progress import RecordingProgress
from shortgen.seam import seam_score
from shortgen.stages.loop import (
    SEAMLESS_CONDITION_FRAMES,
    closing_conditions,
    closing_index,
    condition_starts,
    latent_frame,
    room_to_close,
    seamless_audio,
)
from tests.helpers import decode_frames, small_preset
from tests.test_ltx2 import Recording
from tests.test_sound import decode_audio

AAC_PRIMING = 1024  # the MP4 has no edit list: a decoder plays the encoder's priming samples first


def ltx2_preset(folder: Path) -> Path:
    return small_preset(folder, generation={"width": 64, "height": 96, "segment_frames": 33, "overlap_frames": 9})


# --- planning (no model) -------------------------------------------------------------------------------------------
@pytest.mark.parametrize("preset", ["tiktok", "shorts"])
def test_every_default_duration_closes_on_a_frame_ltx2_can_place(preset: str) -> None:
    for duration in range(10, 31):
        plan = plan_for_stages(MakeOptions(prompt="x", preset=preset, backend="ltx2", loop="seamless",
                                           duration=duration))
        frames = round(duration * plan.preset.output.fps)
        index = closing_index(plan.segments, frames, plan.loop_lead, latent_frame)
        assert index is not None and index % 8 == 1, duration  # pixel frame 8j+1: latent j+1
        assert 0 <= plan.loop_lead <= 7
        # the stream holds the dropped lead, the clip and the regenerated opening
        assert plan.segments.total_frames >= plan.loop_lead + frames + SEAMLESS_CONDITION_FRAMES
        assert plan.to_dict().get("loop_lead_frames", 0) == plan.loop_lead
        ltx = plan_for_stages(MakeOptions(prompt="x", preset=preset, loop="seamless", duration=duration))
        assert ltx.loop_lead == 0  # LTX-Video places a condition at any frame: its plans are unchanged


def test_without_a_lead_the_end_would_sit_off_the_latent_grid() -> None:
    def plan_for(more: int) -> Any:
        return plan_segments(36 + SEAMLESS_CONDITION_FRAMES + more, rules=LTX2_RULES, segment_frames=33, overlap=9,
                             prompts=["x"], width=64, height=96, fps=10)

    # 8k+1 segments overlapping by 8k+1 frames all start on a multiple of 8: the clip's end (36) sits at 36 mod 8.
    plan = plan_for(0)
    assert [s.start for s in plan.segments] == [0, 24]
    assert closing_index(plan, 36) == 12 and closing_index(plan, 36, 0, latent_frame) is None
    assert closing_index(plan, 36, 5, latent_frame) == 17
    assert room_to_close(plan_for, 36, 33) == (0, 0)  # LTX-Video: room already
    assert room_to_close(plan_for, 36, 33, condition_starts("ltx2")) == (5, 5)  # 5 frames more, all before the clip
    assert condition_starts("ltx") is not latent_frame


def test_the_closing_condition_is_the_opening_after_the_lead() -> None:
    first = np.arange(18, dtype=np.uint8)[:, None, None, None] * np.ones((1, 4, 4, 3), np.uint8)
    (condition,) = closing_conditions(33, 9, lead=3)(first)
    assert condition.frame_index == 9 and condition.strength == 1.0
    assert [int(f[0, 0, 0]) for f in condition.frames] == list(range(3, 12))


def test_the_refusal_is_gone_and_dry_run_shows_the_lead(tmp_path: Path) -> None:
    from tests.test_sound import _cli

    done = _cli("make", "drums", "--backend", "ltx2", "--preset", str(ltx2_preset(tmp_path)), "--loop", "seamless",
                "--duration", "3", "--dry-run", "--json")
    assert done.exit_code == 0, done.stderr
    plan = json.loads(done.stdout)
    plan = plan.get("plan", plan)
    assert plan["loop_lead_frames"] == 3 and plan["generated_frames"] >= 3 + 30 + SEAMLESS_CONDITION_FRAMES


# --- the loop's sound (no model) -----------------------------------------------------------------------------------
def sweep(seconds: float, rate: int) -> np.ndarray:
    """A rising tone: its end and its start are at unrelated phases and pitches, so a plain cut clicks."""
    t = np.arange(round(seconds * rate)) / rate
    return np.stack([0.5 * np.sin(2 * np.pi * (50 * t + 7 * t * t))] * 2).astype(np.float32)


def test_closing_ahead_removes_the_click_a_plain_cut_makes() -> None:
    rate, begin, count = 16_000, 4_800, 48_000
    track = sweep(4.2, rate)
    plain = sound_seam(track[:, begin:begin + count])
    assert plain["percentile"] == 100.0 and plain["step"] > 10 * plain["max_step"]  # a click
    closed, cross = close_loop_ahead(track, begin, count, 8_000)
    assert cross == 8_000
    seam = sound_seam(closed[:, begin:begin + count])
    assert seam["percentile"] < 99 and seam["score"] < 2  # an ordinary step
    # only the opening changed; it starts as what followed the clip's end and ends as the clip's own sound
    np.testing.assert_array_equal(closed[:, begin + cross:], track[:, begin + cross:])
    np.testing.assert_array_equal(closed[:, :begin], track[:, :begin])
    assert abs(closed[0, begin] - track[0, begin + count]) < 0.01
    assert abs(closed[0, begin + cross - 1] - track[0, begin + cross - 1]) < 0.01


def test_too_little_sound_after_the_end_shortens_the_crossfade() -> None:
    track = sweep(1.0, 1_000)
    assert close_loop_ahead(track, 100, 800, 300)[1] == 100
    closed, cross = close_loop_ahead(track, 200, 800, 300)
    assert cross == 0 and np.array_equal(closed, track)


def test_the_mixed_loop_keeps_the_own_sound_in_sync_and_loops_the_music(tmp_path: Path) -> None:
    rate, fps, frames, lead = 16_000, Fraction(10), 30, 3
    track = sweep(4.2, rate)  # the stream's sound: lead + clip + regenerated opening + more
    own = AudioBuffer(samples=lambda: track, sample_rate=rate, start=lead / 10, info={"source": "ltx2 backend"})
    music = AudioSpec(path=tmp_path / "m.wav")
    facts: dict[str, Any] = {}
    looped = seamless_audio(AudioMix(source=own, music=music, loudness_lufs=None), frames, fps, 0.5, facts)
    assert isinstance(looped, AudioMix) and looped.source is not None and looped.music is not None
    assert looped.source.start == 0.3 and looped.source.loop_crossfade == 0  # not moved against the picture
    assert looped.music.start == 0.5 and looped.music.loop_crossfade == 0.5  # loops as with crossfade
    mixed = render(AudioMix(source=looped.source, loudness_lufs=None), 48_000, 144_000, lambda m: None).samples
    assert facts["sound_seam"]["crossfade_seconds"] == 0.5 and facts["sound_seam"]["percentile"] < 99
    steps = np.abs(np.diff(mixed, axis=1))
    assert np.abs(mixed[:, 0] - mixed[:, -1]).max() <= np.percentile(steps, 99)
    # after the crossfade the clip's sound is the stream's own from the lead on (at 48 kHz: 3x the samples)
    native = track[0, 4_800 + 8_000:4_800 + 32_000:10]
    np.testing.assert_allclose(mixed[0, 3 * 8_000:3 * 32_000:30], native, atol=0.02)
    unclosed = render(AudioMix(source=own, loudness_lufs=None), 48_000, 144_000, lambda m: None).samples
    assert np.abs(unclosed[:, 0] - unclosed[:, -1]).max() > np.abs(np.diff(unclosed, axis=1)).max()  # would click


# --- the tiny LTX-2 model end to end -------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def seamless_ltx2(tiny_ltx2_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    backend = load_backend("ltx2", LoadOptions(model=str(tiny_ltx2_dir)))
    pipe = backend.pipeline
    calls: list[tuple[Any, Any]] = []  # (the pipeline's conditions, the keyframe coordinates it built)
    prepare = pipe.prepare_latents

    def spy(*args: Any, **kwargs: Any) -> Any:
        out = prepare(*args, **kwargs)
        calls.append((kwargs.get("conditions"), out[3]))
        return out

    pipe.prepare_latents = spy
    folder = tmp_path_factory.mktemp("ltx2-loop")
    out = folder / "drums.mp4"
    recording, progress = Recording(backend), RecordingProgress()
    frames: list[np.ndarray] = []
    real = recording.generate_with_audio

    def keep(request: Any, on_step: Any = None) -> Any:
        made = real(request, on_step)
        frames.append(made.frames)
        return made

    recording.generate_with_audio = keep  # type: ignore[method-assign]
    options = MakeOptions(prompt="a street drummer", preset=str(ltx2_preset(folder)), backend="ltx2",
                          loop="seamless", duration=3, seed=1, output=str(out))
    result = make_clip(options, backend=recording, progress=progress)
    return {"result": result, "out": out, "calls": calls, "recording": recording, "frames": frames,
            "progress": progress}


def test_the_last_call_is_conditioned_on_the_opening_at_a_latent_frame(seamless_ltx2: dict[str, Any]) -> None:
    result, recording = seamless_ltx2["result"], seamless_ltx2["recording"]
    assert result.plan["loop_lead_frames"] == 3 and seamless_ltx2["progress"].warnings == []
    segments = result.plan["segments"]
    assert len(recording.conditions) == len(segments) == 2 and recording.conditions[0] == ()
    continuity, closing = recording.conditions[-1]
    assert continuity.frame_index == 0 and len(continuity.frames) == segments[-1]["overlap"]
    # the clip (frames 3..32 of the stream) ends at frame 33 = 24 + 9 of the last call: pixel 8j+1
    assert closing.frame_index == 3 + 30 - segments[-1]["start"] == 9
    assert np.array_equal(closing.frames, seamless_ltx2["frames"][0][3:3 + SEAMLESS_CONDITION_FRAMES])
    # what the pipeline got: the continuity replaces latent 0 on; the opening goes in as keyframe tokens at latent 2,
    # timed at pixel frame 9 (0.9 s at 10 fps)
    (_, none), (conditions, keyframes) = seamless_ltx2["calls"]
    assert none is None and [c.index for c in conditions] == [0, 2]
    assert keyframes is not None and float(keyframes[0, 0, 0, 0]) == pytest.approx(0.9)


def test_the_loop_has_the_asked_length_drops_the_lead_and_records_its_seam(seamless_ltx2: dict[str, Any]) -> None:
    result, out = seamless_ltx2["result"], seamless_ltx2["out"]
    decoded = decode_frames(out)
    assert len(decoded) == result.frames == 30 and result.duration == 3.0
    info = result.info
    assert info["loop"]["mode"] == "seamless" and "seam_score_generated" in info["loop"]
    assert seam_score(decoded) <= 1.5 and info["seam_score"] <= 1.5
    sidecar = json.loads(out.with_suffix(".json").read_text(encoding="utf-8"))["result"]["info"]
    assert sidecar["seam_score"] == info["seam_score"] and sidecar["sound_seam"]["percentile"] < 99
    # frame k of the clip is stream frame 3 + k (past any crossfade at the opening), not frame k; the 64x96 frames
    # are centre-cropped to 9:16 (54 columns) and scaled up to 180x320
    first = seamless_ltx2["frames"][0][:, :, 5:59].astype(np.float32)
    start = info["loop"]["crossfade_frames"]
    for k in range(start, start + 5):
        shown = cv2.resize(decoded[k], (54, 96), interpolation=cv2.INTER_AREA).astype(np.float32)
        assert np.abs(shown - first[3 + k]).mean() < np.abs(shown - first[k]).mean() / 2


def test_the_sound_runs_from_its_last_sample_into_its_first(seamless_ltx2: dict[str, Any]) -> None:
    result, out = seamless_ltx2["result"], seamless_ltx2["out"]
    audio, rate = decode_audio(out)
    sound = audio[:, AAC_PRIMING:AAC_PRIMING + round(3.0 * rate)]
    assert sound.shape[1] == 3 * rate  # the clip's duration
    # Through AAC (whose first and last frames add their own edge noise) the seam is one of the sound's own steps;
    # the sidecar measured it before encoding, where it is an ordinary one.
    steps = np.abs(np.diff(sound, axis=1))
    assert np.abs(sound[:, 0] - sound[:, -1]).max() <= steps.max()
    assert result.info["sound_seam"]["percentile"] < 99 and result.info["sound_seam"]["score"] < 3
    source = result.info["audio"]["inputs"][0]
    assert source["role"] == "source" and source["start"] == 0.3  # the dropped lead's sound, not the picture's shift


def test_make_drops_the_lead_and_delays_only_the_models_sound(tmp_path: Path) -> None:
    from shortgen.pipeline.make import _drop_lead

    image = tmp_path / "start.png"
    cv2.imwrite(str(image), np.zeros((96, 64, 3), np.uint8))
    plan = plan_for_stages(MakeOptions(prompt="x", preset=str(ltx2_preset(tmp_path)), backend="ltx2",
                                       loop="seamless", duration=3, image=str(image)))
    own = AudioBuffer(samples=np.zeros((2, 10)), sample_rate=16_000)
    music = AudioSpec(path=tmp_path / "m.wav")
    progress = RecordingProgress()
    frames, audio = _drop_lead(plan, iter(range(42)), AudioMix(source=own, music=music), own_sound=True,
                               progress=progress)
    assert list(frames) == list(range(3, 42))
    assert audio is not None and audio.source.start == pytest.approx(0.3) and audio.music == music
    assert "starts 3 frame(s) after --image" in progress.warnings[0]
    _, kept = _drop_lead(plan, iter(()), AudioMix(source=music), own_sound=False, progress=progress)
    assert kept is not None and kept.source == music  # an --audio file starts with the clip
