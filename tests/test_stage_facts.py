"""Facts a stage learns while frames stream survive the stages after it."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from shortgen.cli.app import app
from tests.helpers import small_preset, write_test_video


def test_seam_score_survives_a_caption_stage_after_the_loop(tmp_path: Path) -> None:
    source = write_test_video(tmp_path / "in.mp4", n=30)
    preset = small_preset(tmp_path)
    out = tmp_path / "out.mp4"
    result = CliRunner().invoke(app, ["edit", str(source), "--preset", str(preset), "--loop", "crossfade",
                                      "--caption", "loop", "-o", str(out), "--json"])
    assert result.exit_code == 0, result.stderr
    info = json.loads(result.stdout)["info"]
    assert info["captions"]["cues"] == 1
    # The frames the loop made are seamless; the sidecar's seam_score is the encoded file's, as inspect measures it.
    assert info["seam_score_before_encode"] <= 1.5 and info["seam_score"] is not None
    sidecar = json.loads(out.with_suffix(".json").read_text(encoding="utf-8"))
    assert sidecar["result"]["info"]["seam_score"] == info["seam_score"]
