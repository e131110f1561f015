"""Slow tests (``python -m pytest -m slow``; CI runs them as a separate step): full-length clips."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from shortgen.inspect import inspect_video
from tests.helpers import probe, top_level_boxes

pytestmark = pytest.mark.slow


def test_thirty_second_seamless_captioned_clip(tiny_model_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "waves.mp4"
    cmd = [sys.executable, "-m", "shortgen", "make", "waves rolling onto a beach at dusk | the sun sets",
           "--model", str(tiny_model_dir), "--gen-size", "288x512", "--duration", "30", "--preset", "reels",
           "--loop", "seamless", "--caption", "Golden hour 🌅", "--subtitles", "both", "-o", str(out), "--json"]
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    info = probe(out)
    assert (info["width"], info["height"], info["fps"], info["frames"]) == (1080, 1920, 30, 900)
    assert info["subtitles"] == ["mov_text"] and out.with_suffix(".srt").is_file()
    boxes = top_level_boxes(out)
    assert boxes.index("moov") < boxes.index("mdat")
    assert summary["info"]["seam_score_before_encode"] <= 1.5  # the frames handed to the encoder
    # The tiny model's frames are temporal noise that x264 smooths between P-frames, so the decoded file's
    # score is not comparable here (tests/test_loop_model.py checks the decoded score at a size where the
    # bitrate keeps the noise); the sidecar reports the file's score, which is inspect's.
    assert abs(inspect_video(out).seam_score - summary["info"]["seam_score"]) <= 0.1
    sidecar = json.loads(out.with_suffix(".json").read_text(encoding="utf-8"))
    assert len(sidecar["plan"]["segments"]) >= 8


def test_the_python_api_example_runs_and_writes_what_it_says(tiny_model_dir: Path, tmp_path: Path) -> None:
    import runpy

    example = runpy.run_path(str(Path(__file__).parent.parent / "examples" / "python_api.py"))
    example["main"](tmp_path, str(tiny_model_dir))
    made, edited, posted = (inspect_video(tmp_path / name) for name in ("fox.mp4", "fox-captioned.mp4",
                                                                        "gradient.mp4"))
    assert (made.width, made.height, made.frames) == (1080, 1920, 300)
    assert (edited.width, edited.height) == (1080, 1920) and edited.frames < 300  # the loop blends its overlap
    assert (posted.width, posted.height, posted.frames) == (1080, 1920, 300)
    assert json.loads((tmp_path / "fox.json").read_text(encoding="utf-8"))["seed"] == 7
