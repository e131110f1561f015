"""Caption colours, outline and box are settable by flags as well as presets."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from shortgen.cli.app import app
from tests.helpers import decode_frames, small_preset, write_test_video


def test_caption_colour_flags_reach_the_pixels(tmp_path: Path) -> None:
    source = write_test_video(tmp_path / "in.mp4", n=10)
    preset = small_preset(tmp_path, captions={"font_size": 40, "min_font_size": 8, "shadow": False})
    out = tmp_path / "out.mp4"
    result = CliRunner().invoke(app, ["edit", str(source), "--preset", str(preset), "--caption", "HI",
                                      "--caption-color", "#FF0000", "--caption-outline-width", "0", "-o", str(out)])
    assert result.exit_code == 0, result.stderr
    frame = decode_frames(out)[5].astype(int)
    red = (frame[..., 0] > 200) & (frame[..., 1] < 80) & (frame[..., 2] < 80)
    assert red.sum() > 50  # the source has no saturated red anywhere


def test_bad_colour_flag_is_one_line(tmp_path: Path) -> None:
    source = write_test_video(tmp_path / "in.mp4", n=5)
    out = tmp_path / "out.mp4"
    result = CliRunner().invoke(app, ["edit", str(source), "--caption", "x", "--caption-box-color", "blue",
                                      "-o", str(out)])
    assert result.exit_code == 2
    assert result.stderr.strip() == ("error: invalid value for --caption-box-color: 'blue' is not a colour; "
                                     "use #RRGGBB or #RRGGBBAA")
    assert not out.exists()
