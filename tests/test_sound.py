"""``--sound``: a text-to-audio model (the tiny Stable Audio Open, loaded through the real loading code) makes a
bed of the clip's length, in windows joined without clicks."""

from __future__ import annotations

import itertools
import json
from pathlib import Path
from typing import Any

import av
import numpy as np
import pytest

from shortgen.config import MakeOptions
from shortgen.errors import UsageError
from shortgen.pipeline import make_clip, plan_make
from shortgen.soundgen.buffer import equal_power_crossfade, fit_length
from shortgen.soundgen.plan import SoundRequest, join_windows, plan_windows, sound_prompt
from tests.helpers import probe, small_preset


def decode_audio(path: Path) -> tuple[np.ndarray, int]:
    """All of the first audio stream as planar float32, and its rate."""
    with av.open(str(path)) as container:
        stream = container.streams.audio[0]
        chunks = [f.to_ndarray().reshape(stream.channels, -1) for f in container.decode(stream)]
        return np.concatenate(chunks, axis=1).astype(np.float32), stream.rate


def video_duration(path: Path) -> float:
    with av.open(str(path)) as container:
        video = container.streams.video[0]
        frames = sum(1 for _ in container.decode(video))
        return frames / float(video.average_rate)


# --- planning (no model) -------------------------------------------------------------------------------------------
@pytest.mark.parametrize("total", [100, 1000, 1001, 4321, 10_000])
def test_windows_cover_the_track_exactly_with_the_crossfade_between_neighbours(total: int) -> None:
    windows = plan_windows(total, window=1000, crossfade=200, seed=7)
    assert windows[0].start == 0 and windows[0].overlap == 0
    assert windows[-1].start + windows[-1].length == total
    for before, after in itertools.pairwise(windows):
        assert after.overlap == 200 and after.start == before.start + before.length - 200
    assert all(w.length <= 1000 for w in windows)
    assert len({w.seed for w in windows}) == len(windows)


def test_joined_windows_have_no_step_at_the_joins() -> None:
    """Two windows at opposite DC levels: the join ramps, no sample-to-sample step larger than the ramp's."""
    windows = plan_windows(3000, window=2000, crossfade=400, seed=0)
    pieces = [(w, np.full((2, w.length), 0.5 if w.index % 2 == 0 else -0.5, np.float32)) for w in windows]
    track = join_windows(pieces, 3000)
    assert track.shape == (2, 3000)
    steps = np.abs(np.diff(track[0]))
    assert steps.max() < 4 * 1.0 / 400  # a full-scale swing spread over the 400-sample crossfade
    assert track[0, 0] == 0.5 and track[0, -1] == -0.5


def test_equal_power_crossfade_keeps_the_power_of_unrelated_noise() -> None:
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((2, 48_000)).astype(np.float32), rng.standard_normal((2, 48_000)).astype(np.float32)
    mixed = equal_power_crossfade(a, b)
    middle = mixed[:, 20_000:28_000]
    assert abs(float(np.sqrt((middle ** 2).mean())) - 1.0) < 0.05


def test_a_short_model_output_is_extended_without_a_step() -> None:
    ramp = np.linspace(0, 1, 100, dtype=np.float32)[None].repeat(2, axis=0)
    longer = fit_length(ramp, 130)
    assert longer.shape == (2, 130) and np.abs(np.diff(longer[0])).max() <= np.abs(np.diff(ramp[0])).max() + 1e-6


def test_sound_prompt_auto_uses_the_clip_prompt_and_empty_is_a_usage_error() -> None:
    assert sound_prompt("auto", ["waves at dusk", "gulls"]) == "waves at dusk, gulls"
    assert sound_prompt(" rain ", ["x"]) == "rain"
    assert sound_prompt(None, ["x"]) is None
    with pytest.raises(UsageError, match="--sound is empty"):
        sound_prompt("  ", ["x"])


def test_dry_run_plan_shows_the_sound_and_rejects_it_with_ltx2(tmp_path: Path) -> None:
    preset = small_preset(tmp_path)
    plan = plan_make(MakeOptions(prompt="rain", preset=str(preset), sound="auto"))
    assert plan.to_dict()["sound"]["prompt"] == "rain"
    assert plan.to_dict()["sound"]["model"] == "stabilityai/stable-audio-open-1.0"
    with pytest.raises(UsageError, match="ltx2 backend makes its own sound"):
        plan_make(MakeOptions(prompt="rain", preset=str(preset), sound="auto", backend="ltx2"))


# --- the tiny model ------------------------------------------------------------------------------------------------
def test_tiny_sound_model_makes_a_track_of_the_asked_length_same_seed_same_sound(tiny_sound_dir: Path) -> None:
    from shortgen.soundgen.stable_audio import generate_sound

    request = SoundRequest(prompt="rain on a tin roof", model=str(tiny_sound_dir), seconds=1.5, seed=3)
    track, facts = generate_sound(request)
    again, _ = generate_sound(request)
    other, _ = generate_sound(SoundRequest(prompt="rain on a tin roof", model=str(tiny_sound_dir), seconds=1.5,
                                           seed=4))
    samples = track.samples()
    assert samples.shape == (2, round(1.5 * track.sample_rate))
    assert facts["windows"] == 2 and facts["seed"] == 3 and facts["prompt"] == "rain on a tin roof"
    assert float(np.sqrt((samples ** 2).mean())) > 0.01  # not silent
    assert np.abs(samples).max() <= 1.0
    assert np.array_equal(samples, again.samples())
    assert not np.allclose(samples, other.samples())


def test_make_with_sound_writes_a_non_silent_track_of_the_clip_length(tiny_model_dir: Path, tiny_sound_dir: Path,
                                                                       tmp_path: Path) -> None:
    out = tmp_path / "rain.mp4"
    options = MakeOptions(prompt="rain on a tin roof", preset=str(small_preset(tmp_path)), model=str(tiny_model_dir),
                          duration=2, seed=11, sound="auto", sound_model=str(tiny_sound_dir), output=str(out))
    result = make_clip(options)
    assert probe(out)["audio"] == [("aac", 48000, 2)]
    audio, rate = decode_audio(out)
    assert abs(audio.shape[1] / rate - video_duration(out)) <= 1 / 10  # within one frame at 10 fps
    assert float(np.sqrt((audio ** 2).mean())) > 0.01
    sidecar = json.loads(result.sidecar.read_text(encoding="utf-8"))
    sound = sidecar["result"]["info"]["sound"]
    assert (sound["prompt"], sound["model"], sound["seed"]) == ("rain on a tin roof", str(tiny_sound_dir), 11)
    assert sound["windows"] == 3  # 2 s from 1.024 s windows: the joins are exercised
    assert "sound" in result.timings


def _cli(*args: str) -> Any:
    """The real CLI in this process (typer's runner): exit code, stdout and stderr apart."""
    from typer.testing import CliRunner

    from shortgen.cli.app import app

    return CliRunner().invoke(app, list(args))


def test_bad_sound_input_is_one_line_and_leaves_no_file(tiny_model_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "x.mp4"
    base = ["make", "rain", "--model", str(tiny_model_dir), "--preset", str(small_preset(tmp_path)), "-o", str(out)]
    empty = _cli(*base, "--sound", "")
    assert empty.exit_code == 2 and "--sound is empty" in empty.stderr
    assert len(empty.stderr.strip().splitlines()) <= 2 and "Traceback" not in empty.stderr
    offline = _cli(*base, "--sound", "rain", "--sound-model", "nobody/no-such-sound-model")
    assert offline.exit_code == 1, offline.stderr
    assert "nobody/no-such-sound-model" in offline.stderr and "not in the local Hugging Face cache" in offline.stderr
    assert "Traceback" not in offline.stderr
    wrong = _cli(*base, "--sound", "rain", "--sound-model", str(tiny_model_dir))
    assert wrong.exit_code == 1 and "not a text-to-audio model" in wrong.stderr
    assert not out.exists() and not list(tmp_path.glob("*.mp4"))


def test_models_tiny_sound_command_builds_a_loadable_folder(tmp_path: Path) -> None:
    folder = tmp_path / "snd"
    done = _cli("models", "tiny-sound", str(folder), "--json")
    assert done.exit_code == 0, done.stderr
    assert json.loads(done.stdout)["path"] == str(folder)
    assert json.loads((folder / "model_index.json").read_text())["_class_name"] == "StableAudioPipeline"


def test_sound_is_a_job_file_key(tmp_path: Path) -> None:
    from shortgen.batch.jobfile import parse_job

    job = parse_job({"prompt": "waves", "sound": "gulls, surf", "sound_steps": 20}, 1, "jobs.yaml")
    assert (job.options.sound, job.options.sound_steps) == ("gulls, surf", 20)
    options = MakeOptions(**{**{k: getattr(job.options, k) for k in ("prompt", "sound", "sound_steps")},
                             "preset": str(small_preset(tmp_path))})
    expected = {"prompt": "gulls, surf", "model": "stabilityai/stable-audio-open-1.0", "steps": 20}
    assert plan_make(options).to_dict()["sound"] == expected
