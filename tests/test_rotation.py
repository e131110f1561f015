"""Phone videos stored sideways (a display-matrix rotation) are edited upright, as players show them."""

from __future__ import annotations

import subprocess
from pathlib import Path

import imageio_ffmpeg
import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

from shortgen.cli.app import app
from shortgen.media import open_video
from tests.helpers import decode_frames, small_preset, write_test_video


def rotated_copy(source: Path, degrees: int, out: Path) -> Path:
    ffmpeg = imageio_ffmpeg.get_ffmpeg_exe()
    subprocess.run([ffmpeg, "-v", "error", "-y", "-display_rotation", str(degrees), "-i", str(source), "-c", "copy",
                    str(out)], check=True)
    return out


def ffmpeg_first_frame(path: Path) -> np.ndarray:
    """ffmpeg's own autorotated first frame: the oracle for which way is up."""
    png = path.with_suffix(".png")
    subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-v", "error", "-y", "-i", str(path), "-frames:v", "1", str(png)],
                   check=True)
    return np.asarray(Image.open(png).convert("RGB"))


@pytest.mark.parametrize("degrees", [90, 180, -90])
def test_decoded_frames_are_upright(tmp_path: Path, degrees: int) -> None:
    landscape = write_test_video(tmp_path / "land.mp4", n=5, width=160, height=96)
    rotated = rotated_copy(landscape, degrees, tmp_path / "rot.mp4")
    clip = open_video(rotated)
    first = next(iter(clip.frames))
    expected = ffmpeg_first_frame(rotated)
    assert (clip.width, clip.height) == (expected.shape[1], expected.shape[0])
    assert first.shape == expected.shape
    assert np.abs(first.astype(int) - expected.astype(int)).mean() < 2


def test_edit_of_a_sideways_phone_clip_is_upright(tmp_path: Path) -> None:
    portrait_content = write_test_video(tmp_path / "land.mp4", n=5, width=160, height=96)
    rotated = rotated_copy(portrait_content, 90, tmp_path / "phone.mp4")
    out = tmp_path / "out.mp4"
    preset = small_preset(tmp_path, output={"width": 96, "height": 160, "fps": 10})
    result = CliRunner().invoke(app, ["edit", str(rotated), "--preset", str(preset), "-o", str(out)])
    assert result.exit_code == 0, result.stderr
    got = decode_frames(out)[0]
    expected = ffmpeg_first_frame(rotated)  # already 96x160 upright: no crop or scale needed
    assert got.shape == expected.shape
    assert np.abs(got.astype(int) - expected.astype(int)).mean() < 6
