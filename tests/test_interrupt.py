"""A real Ctrl-C (SIGINT) in the middle of encoding: exit code 130, one line, nothing left behind."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path


def test_sigint_while_encoding_exits_130_and_leaves_no_file(tiny_model_dir: Path, tmp_path: Path) -> None:
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    out = out_dir / "clip.mp4"
    cmd = [sys.executable, "-m", "shortgen", "make", "x", "--model", str(tiny_model_dir), "--gen-size", "96x160",
           "--duration", "30", "-o", str(out)]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "NO_COLOR": "1"})
    deadline = time.monotonic() + 120
    while not any(out_dir.glob(".clip.partial-*")) and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert proc.poll() is None, proc.communicate()[1]
    proc.send_signal(signal.SIGINT)
    _, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 130, stderr
    assert [line for line in stderr.splitlines() if line.startswith("error:")] == [
        "error: interrupted; no output was written"]
    assert list(out_dir.iterdir()) == []
