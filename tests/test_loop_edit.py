"""``shortgen edit --loop`` end to end: decode what was encoded and measure its seam; audio loops too."""

from __future__ import annotations

import json
import wave
from pathlib import Path

import av
import numpy as np
import pytest
from typer.testing import CliRunner

from shortgen.cli.app import app
from shortgen.encode import AudioFeed
from shortgen.frames import AudioSpec
from shortgen.seam import seam_score
from tests.helpers import decode_frames, small_preset, write_test_video

runner = CliRunner()
FPS = 30
FRAMES = 60  # 2 s


def strong_motion(n: int, width: int = 96, height: int = 160) -> list[np.ndarray]:
    """Bars scrolling 3 px a frame while the picture brightens: every step moves a lot, and the end is far
    (in phase and brightness) from the start."""
    xx = np.arange(width, dtype=np.float32)[None, :, None]
    frames = []
    for i in range(n):
        bars = 70 * np.sin(2 * np.pi * (xx - 3 * i) / 24)
        level = 50 + 150 * i / max(1, n - 1)
        frames.append(np.clip(np.broadcast_to(bars + level, (height, width, 3)), 0, 255).astype(np.uint8))
    return frames


def write_motion_video(path: Path, n: int, fps: int, audio: bool) -> Path:
    return write_test_video(path, n=n, fps=fps, audio=audio, frames=strong_motion(n), crf=8)


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_motion_video(tmp_path_factory.mktemp("loop-edit") / "motion.mp4", FRAMES, FPS, audio=True)


def edit(tmp_path: Path, source: Path, *args: str) -> tuple[object, Path]:
    out = tmp_path / "out.mp4"
    preset = small_preset(tmp_path, output={"width": 96, "height": 160, "fps": FPS})
    result = runner.invoke(app, ["edit", str(source), "--preset", str(preset), "-o", str(out), "--json", *args])
    return result, out


def video_stream_facts(path: Path) -> tuple[int, float, float]:
    """(decoded frames, video duration, audio duration) of a file."""
    with av.open(str(path)) as container:
        video, audio = container.streams.video[0], container.streams.audio[0]
        frames = sum(1 for _ in container.decode(video=0))
        return frames, float(video.duration * video.time_base), float(audio.duration * audio.time_base)


@pytest.mark.parametrize(("mode", "frames"), [("crossfade", FRAMES - 15), ("pingpong", 2 * FRAMES - 2)])
def test_edit_loops_strong_motion_with_no_visible_seam(tmp_path: Path, source: Path, mode: str,
                                                       frames: int) -> None:
    before = seam_score(decode_frames(source))
    assert before > 3  # well above the 1.5 of a seamless loop
    result, out = edit(tmp_path, source, "--loop", mode, "--loop-overlap", "0.5")
    assert result.exit_code == 0, result.stderr
    decoded = decode_frames(out)
    after = seam_score(decoded)
    assert after <= 1.5
    count, video_seconds, audio_seconds = video_stream_facts(out)
    assert count == len(decoded) == frames and video_seconds == pytest.approx(frames / FPS)
    assert abs(audio_seconds - frames / FPS) < 1024 / 48000 + 1e-6  # AAC pads to its 1024-sample frames
    summary = json.loads(result.stdout)
    assert summary["frames"] == frames and summary["duration"] == pytest.approx(frames / FPS)
    assert summary["info"]["loop"]["mode"] == mode
    assert summary["info"]["seam_score"] == pytest.approx(after, abs=0.5)  # measured on the encoded file
    sidecar = json.loads(out.with_suffix(".json").read_text(encoding="utf-8"))
    assert sidecar["result"]["info"]["seam_score"] == summary["info"]["seam_score"]


@pytest.mark.parametrize(("args", "message"), [
    (["--loop", "crossfade", "--loop-overlap", "1.5"], "longer than half the 2 s clip"),
    (["--loop", "seamless"], "needs 'make'"),
    (["--loop", "sideways"], "--loop"),
])
def test_bad_loops_exit_2_with_one_line_and_no_file(tmp_path: Path, source: Path, args: list[str],
                                                    message: str) -> None:
    result, out = edit(tmp_path, source, *args)
    assert result.exit_code == 2
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: ") and message in lines[0]
    assert not out.exists() and not out.with_suffix(".json").exists() and result.stdout == ""


def test_a_one_frame_clip_is_refused_as_a_still(tmp_path: Path) -> None:
    still = write_motion_video(tmp_path / "still.mp4", 1, FPS, audio=False)
    result, out = edit(tmp_path, still, "--loop", "pingpong")
    assert result.exit_code == 2 and "is a still image, not a video" in result.stderr
    assert not out.exists()


# ------------------------------------------------------------------------------------------------ audio


def write_ramp(path: Path, seconds: float, rate: int = 48000) -> np.ndarray:
    """A stereo WAV whose samples rise steadily from -0.5 to 0.5: every instant has its own value."""
    ramp = np.linspace(-0.5, 0.5, round(seconds * rate), endpoint=False)
    pcm = np.round(ramp * 32767).astype("<i2")
    with wave.open(str(path), "wb") as handle:
        handle.setnchannels(2)
        handle.setsampwidth(2)
        handle.setframerate(rate)
        handle.writeframes(np.repeat(pcm, 2).tobytes())
    return pcm.astype(np.float32) / 32768


def feed_all(spec: AudioSpec, seconds: float) -> np.ndarray:
    feed = AudioFeed(spec, 48000, seconds)
    return np.concatenate([frame.to_ndarray().reshape(2, -1) for frame in feed.frames_until(seconds)], axis=1)


def test_audio_loop_crossfade_mirrors_the_video(tmp_path: Path) -> None:
    source = write_ramp(tmp_path / "ramp.wav", 2.0)
    x, total = 0.25, 1.5  # the video starts 0.25 s in and crossfades its last 0.25 s back into the start
    got = feed_all(AudioSpec(tmp_path / "ramp.wav", start=x, loop_crossfade=x), total)
    n, lead, fade = round(total * 48000), round(x * 48000), round(x * 48000)
    assert got.shape == (2, n)
    np.testing.assert_allclose(got[0, :n - fade], source[lead:lead + n - fade], atol=1e-4)
    position = (np.arange(fade) + 0.5) / fade
    want_tail = source[lead + n - fade:lead + n] * np.cos(position * np.pi / 2) + source[:fade] * np.sin(
        position * np.pi / 2)
    np.testing.assert_allclose(got[0, n - fade:], want_tail, atol=1e-4)
    # replaying: the last sample runs straight into the first, as consecutive samples of the file do
    assert abs(got[0, -1] - got[0, 0]) < 1e-3


def test_audio_loop_crossfade_before_the_file_starts_fades_from_silence(tmp_path: Path) -> None:
    source = write_ramp(tmp_path / "ramp.wav", 2.0)
    got = feed_all(AudioSpec(tmp_path / "ramp.wav", start=0.0, loop_crossfade=0.1), 1.0)
    fade = 4800
    position = (np.arange(fade) + 0.5) / fade
    np.testing.assert_allclose(got[1, -fade:], source[48000 - fade:48000] * np.cos(position * np.pi / 2),
                               atol=1e-4)
