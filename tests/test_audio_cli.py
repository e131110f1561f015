"""Sound end to end through ``shortgen edit`` / ``inspect``: decode what was written and judge it with ffmpeg."""

from __future__ import annotations

import json
from pathlib import Path

import av
import numpy as np
import pytest
from typer.testing import CliRunner

from shortgen.cli.app import app
from tests.audio_helpers import (
    RATE,
    band_level,
    corrupt_packet,
    decode_audio,
    ffmpeg_loudness,
    tone,
    write_avi_ac3,
    write_wav,
)
from tests.helpers import small_preset, write_test_video

runner = CliRunner()
FPS = 10
FRAMES = 30  # 3 s
AAC_PRIMING = 1024


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("sound")


@pytest.fixture(scope="module")
def with_sound(folder: Path) -> Path:
    return write_test_video(folder / "with-sound.mp4", n=FRAMES, fps=FPS, audio=True)


@pytest.fixture(scope="module")
def silent_video(folder: Path) -> Path:
    return write_test_video(folder / "silent.mp4", n=FRAMES, fps=FPS)


@pytest.fixture(scope="module")
def music(folder: Path) -> Path:
    return write_wav(folder / "music.wav", np.stack([tone(2.2, 1000, 0.3)] * 2))


def edit(tmp_path: Path, source: Path, *args: str, preset: Path | None = None) -> tuple[object, Path]:
    out = tmp_path / "out.mp4"
    preset = preset or small_preset(tmp_path, output={"width": 96, "height": 160, "fps": FPS})
    result = runner.invoke(app, ["edit", str(source), "--preset", str(preset), "-o", str(out), "--json", *args])
    return result, out


def warnings_of(result: object) -> list[str]:
    return [line for line in result.stderr.splitlines() if line.startswith("warning:")]


def durations(path: Path) -> tuple[int, float, float]:
    """(frames, video seconds, audio seconds) of a file."""
    with av.open(str(path)) as container:
        video, audio = container.streams.video[0], container.streams.audio[0]
        frames = sum(1 for _ in container.decode(video=0))
        return frames, float(video.duration * video.time_base), float(audio.duration * audio.time_base)


def assert_full_length(path: Path, frames: int = FRAMES) -> None:
    count, video_seconds, audio_seconds = durations(path)
    assert count == frames
    assert abs(audio_seconds - video_seconds) <= 1 / FPS  # audio and video agree within one frame


# ------------------------------------------------------------------------------------------------ damage


@pytest.mark.parametrize("kind", ["mp4 with AAC", "avi with AC-3"])
def test_a_damaged_audio_packet_in_the_source_edits_with_one_warning(tmp_path: Path, kind: str) -> None:
    clean = (write_test_video(tmp_path / "clean.mp4", n=FRAMES, fps=FPS, audio=True) if kind.startswith("mp4")
             else write_avi_ac3(tmp_path / "clean.avi", seconds=FRAMES / FPS, fps=FPS))
    damaged = tmp_path / f"damaged{clean.suffix}"
    corrupt_packet(clean, 40, damaged)
    result, out = edit(tmp_path, damaged)
    assert result.exit_code == 0, result.stderr
    warnings = warnings_of(result)
    assert len(warnings) == 1 and "1 damaged audio packet" in warnings[0] and damaged.name in warnings[0]
    assert_full_length(out)
    sidecar = json.loads(out.with_suffix(".json").read_text(encoding="utf-8"))
    assert sidecar["result"]["info"]["audio"]["inputs"][0]["damage"]["damaged_packets"] == 1

    inspected = runner.invoke(app, ["inspect", str(damaged), "--json", "--no-seam"])
    assert inspected.exit_code == 0 and len(warnings_of(inspected)) == 1
    assert json.loads(inspected.stdout)["loudness_lufs"] is not None

    result, quiet = edit(tmp_path, damaged, "--audio", "none", "--overwrite")
    assert result.exit_code == 0, result.stderr
    assert warnings_of(result) == []  # the damaged track is never read
    assert_full_length(quiet)
    assert np.abs(decode_audio(quiet)).max() < 1e-4  # a silent AAC track stays


def test_a_damaged_music_file_is_named_in_the_warning(tmp_path: Path, silent_video: Path) -> None:
    source = write_test_video(tmp_path / "tune.mp4", n=FRAMES, fps=FPS, audio=True)
    damaged = tmp_path / "damaged-tune.m4a"
    corrupt_packet(source, 30, damaged)
    result, out = edit(tmp_path, silent_video, "--music", str(damaged))
    assert result.exit_code == 0, result.stderr
    warnings = warnings_of(result)
    assert len(warnings) == 1 and f"--music {damaged}" in warnings[0]
    assert_full_length(out)


# ------------------------------------------------------------------------------------------------ loudness


def test_the_sources_sound_is_normalised_to_the_presets_target(tmp_path: Path, with_sound: Path) -> None:
    result, out = edit(tmp_path, with_sound)
    assert result.exit_code == 0, result.stderr
    integrated, peak = ffmpeg_loudness(out)
    assert integrated == pytest.approx(-14.0, abs=0.5) and peak < -1.0
    preset = small_preset(tmp_path, name="quiet", output={"width": 96, "height": 160, "fps": FPS},
                          audio={"loudness_lufs": -23, "true_peak_db": -2})
    result, out = edit(tmp_path, with_sound, "--overwrite", preset=preset)
    assert result.exit_code == 0, result.stderr
    integrated, peak = ffmpeg_loudness(out)
    assert integrated == pytest.approx(-23.0, abs=0.5) and peak < -2.0
    summary = json.loads(result.stdout)
    assert summary["info"]["audio"]["loudness"]["target_lufs"] == -23

    inspected = runner.invoke(app, ["inspect", str(out), "--json", "--no-seam"])
    report = json.loads(inspected.stdout)
    assert report["loudness_lufs"] == pytest.approx(integrated, abs=0.2)
    assert report["true_peak_db"] == pytest.approx(peak, abs=0.3)
    assert json.loads(runner.invoke(app, ["inspect", str(out), "--json", "--no-loudness"]).stdout)[
        "loudness_lufs"] is None


def test_an_unknown_key_in_the_presets_audio_section_is_an_error(tmp_path: Path, with_sound: Path) -> None:
    preset = small_preset(tmp_path, name="typo", output={"width": 96, "height": 160, "fps": FPS},
                          audio={"loudnes_lufs": -14})
    result, out = edit(tmp_path, with_sound, preset=preset)
    assert result.exit_code == 2 and "audio.loudnes_lufs" in result.stderr and not out.exists()


# ------------------------------------------------------------------------------------------------ music, voice


def test_music_under_a_silent_clip_is_looped_faded_and_normalised(tmp_path: Path, silent_video: Path,
                                                                 music: Path) -> None:
    result, out = edit(tmp_path, silent_video, "--music", str(music), "--music-volume", "-6")
    assert result.exit_code == 0, result.stderr
    assert_full_length(out)
    sound = decode_audio(out)[0]
    body = np.abs(sound[RATE:2 * RATE]).max()
    assert np.abs(sound[:RATE // 10]).max() < 0.5 * body  # faded in
    assert np.abs(sound[round(FRAMES / FPS * RATE) - RATE // 10:]).max() < 0.5 * body  # and out
    integrated, _ = ffmpeg_loudness(out)
    assert integrated == pytest.approx(-14.0, abs=0.5)
    inputs = json.loads(out.with_suffix(".json").read_text(encoding="utf-8"))["result"]["info"]["audio"]["inputs"]
    assert inputs[0]["role"] == "music" and inputs[0]["volume_db"] == -6 and inputs[0]["repeated"] is True


def test_a_looping_edit_loops_its_music_at_the_loop_point(tmp_path: Path, silent_video: Path, music: Path) -> None:
    result, out = edit(tmp_path, silent_video, "--music", str(music), "--loop", "crossfade", "--loop-overlap", "0.5")
    assert result.exit_code == 0, result.stderr
    assert_full_length(out, FRAMES - 5)
    # The MP4 has no edit list, so a decoder plays the AAC encoder's 1024 priming samples first.
    sound = decode_audio(out)[0][AAC_PRIMING:AAC_PRIMING + round((FRAMES - 5) / FPS * RATE)]
    own_step = np.abs(np.diff(sound[RATE // 2:RATE])).max()
    assert abs(sound[0] - sound[-1]) <= own_step * 1.5  # through AAC: the seam is no bigger than a step


def test_voice_over_on_top_with_the_music_ducked(tmp_path: Path, silent_video: Path, music: Path) -> None:
    speech = tone(3.0, 220, 0.3)
    speech[: RATE * 3 // 2] = 0
    voice = write_wav(tmp_path / "voice.wav", np.stack([speech] * 2))
    result, out = edit(tmp_path, silent_video, "--music", str(music), "--voice", str(voice))
    assert result.exit_code == 0, result.stderr
    sound = decode_audio(out)[0]
    before = band_level(sound[RATE // 2:RATE], RATE, 1000)
    under = band_level(sound[RATE * 2:RATE * 5 // 2], RATE, 1000)
    assert 20 * np.log10(before / under) >= 12  # the preset's duck_db
    assert band_level(sound[RATE * 2:RATE * 5 // 2], RATE, 220) > 4 * under  # the voice is on top
    assert_full_length(out)


# ------------------------------------------------------------------------------------------------ bad input


@pytest.mark.parametrize(("flag", "make", "message"), [
    ("--music", lambda folder: folder / "missing.mp3", "does not exist"),
    ("--voice", lambda folder: write_test_video(folder / "mute.mp4", n=5), "has no audio stream"),
    ("--music", lambda folder: (folder / "notes.txt").write_text("la la la") and folder / "notes.txt",
     "not a media file"),
    ("--audio", lambda folder: folder / "gone.wav", "does not exist"),
    ("--music-volume", lambda folder: "loud", "--music-volume"),
    ("--duck", None, "pass --music"),
])
def test_bad_sound_input_is_one_line_exit_2_and_no_output(tmp_path: Path, with_sound: Path, flag: str,
                                                          make: object, message: str) -> None:
    args = [flag] if make is None else [flag, str(make(tmp_path))]
    result, out = edit(tmp_path, with_sound, *args)
    assert result.exit_code == 2
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: ") and message in lines[0], lines
    assert not out.exists() and not out.with_suffix(".json").exists()


# ------------------------------------------------------------------------------------------------ make


def test_make_lays_music_under_a_generated_looping_clip(tiny_model_dir: Path, tmp_path: Path, music: Path) -> None:
    out = tmp_path / "made.mp4"
    preset = small_preset(tmp_path)  # 10 fps, 180x320 output
    result = runner.invoke(app, ["make", "waves at dusk", "--model", str(tiny_model_dir), "--preset", str(preset),
                                 "--duration", "2", "--loop", "crossfade", "--loop-overlap", "0.3", "--music",
                                 str(music), "-o", str(out), "--json"])
    assert result.exit_code == 0, result.stderr
    assert_full_length(out, 20)
    integrated, peak = ffmpeg_loudness(out)
    assert integrated == pytest.approx(-14.0, abs=0.5) and peak < -1.0
    inputs = json.loads(result.stdout)["info"]["audio"]["inputs"]
    assert [entry["role"] for entry in inputs] == ["music"] and inputs[0]["loop_crossfade"] == pytest.approx(0.3)


def test_make_dry_run_checks_the_sound_files(tmp_path: Path) -> None:
    result = runner.invoke(app, ["make", "waves", "--dry-run", "--music", str(tmp_path / "nope.mp3")])
    assert result.exit_code == 2 and "--music file" in result.stderr and "does not exist" in result.stderr


def test_a_job_files_sound_paths_resolve_against_its_folder_and_none_stays_none(tmp_path: Path) -> None:
    from shortgen.batch.plan import _absolute_inputs
    from shortgen.config import MakeOptions

    options = _absolute_inputs(MakeOptions(audio="none", music="bed.wav", voice="/abs/voice.wav"), tmp_path)
    assert (options.audio, options.music, options.voice) == ("none", str(tmp_path / "bed.wav"), "/abs/voice.wav")
