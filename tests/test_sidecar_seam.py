"""The sidecar's seam score is the file's: measured on the encoded clip the way ``shortgen inspect`` measures
it, after upscale, captions and encoding; the score before them keeps its own, different name."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from shortgen.cli.app import app
from tests.helpers import small_preset, write_test_video

runner = CliRunner()


def test_sidecar_seam_score_agrees_with_inspect(tmp_path: Path) -> None:
    source = write_test_video(tmp_path / "sweep.mp4", n=40, fps=10)
    out = tmp_path / "loop.mp4"
    result = runner.invoke(app, ["edit", str(source), "--preset", str(small_preset(tmp_path)), "-o", str(out),
                                 "--loop", "crossfade", "--loop-overlap", "0.5", "--caption", "a loop", "--crf", "40"])
    assert result.exit_code == 0, result.stderr
    info = json.loads(out.with_suffix(".json").read_text(encoding="utf-8"))["result"]["info"]
    inspected = runner.invoke(app, ["inspect", str(out), "--json"])
    assert inspected.exit_code == 0, inspected.stderr
    file_score = json.loads(inspected.stdout)["seam_score"]
    assert abs(info["seam_score"] - file_score) <= 0.1
    assert isinstance(info["seam_score_before_encode"], float)
