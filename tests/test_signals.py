"""SIGTERM (what CI runners send on timeout or cancel) and SIGHUP (a closed terminal) during ``edit`` clean up
like Ctrl-C: one ``error:`` line, exit 143 / 129, nothing at the output path and no temp file left."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.helpers import write_test_video


@pytest.fixture(scope="module")
def long_source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    # Upscaled to the default preset's 1080x1920, 20 s of frames take several seconds to encode.
    return write_test_video(tmp_path_factory.mktemp("signals") / "long.mp4", n=600, fps=30, crf=30)


@pytest.mark.parametrize(("name", "code"), [("SIGTERM", 143), ("SIGHUP", 129)])
def test_a_stop_signal_during_edit_cleans_up(long_source: Path, tmp_path: Path, name: str, code: int) -> None:
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    out = out_dir / "clip.mp4"
    cmd = [sys.executable, "-m", "shortgen", "edit", str(long_source), "-o", str(out)]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "NO_COLOR": "1"})
    deadline = time.monotonic() + 120
    while not any(out_dir.glob(".clip.partial-*")) and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    assert proc.poll() is None, proc.communicate()[1]
    proc.send_signal(getattr(signal, name))
    _, stderr = proc.communicate(timeout=60)
    assert proc.returncode == code, stderr
    assert "Traceback" not in stderr
    assert [line for line in stderr.splitlines() if line.startswith("error:")] == [
        f"error: stopped by {name}; no output was written"]
    assert list(out_dir.iterdir()) == []
