"""Batch jobs with the tiny LTX model: real loads, real clips, resume after SIGKILL."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from shortgen import pipeline
from shortgen.cli.app import app
from tests.helpers import probe, small_preset

runner = CliRunner()
FAST = {"gen_size": "96x160", "segment_frames": 17, "overlap_frames": 9, "steps": 2}


def write_jobs(folder: Path, model: Path, jobs: list[Any]) -> Path:
    small_preset(folder, duration={"default": 1, "min": 1, "max": 3})
    data = {"defaults": {"preset": "tiny.yaml", "model": str(model), **FAST}, "jobs": jobs}
    path = folder / "jobs.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


def run_batch_cli(jobs: Path, out: Path, *args: str) -> tuple[int, dict[str, Any]]:
    result = runner.invoke(app, ["batch", str(jobs), "--out-dir", str(out), "--json", *args])
    return result.exit_code, json.loads(result.stdout)


def assert_valid_clip(path: Path, frames: int) -> None:
    info = probe(path)
    assert (info["codec"], info["width"], info["height"], info["frames"]) == ("h264", 180, 320, frames)
    assert info["audio"] == [("aac", 48000, 2)]


def read_or_empty(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except OSError:
        return ""


def wait_for(process: subprocess.Popen[bytes], condition: Any, timeout: float = 300) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert process.poll() is None, process.stderr.read() if process.stderr else ""
        assert time.monotonic() < deadline, "the batch made no progress"
        time.sleep(0.01)


@pytest.fixture
def count_loads(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    loads: list[str] = []
    real = pipeline.load_generator

    def counting(preset: Any, options: Any, progress: Any) -> Any:
        loads.append(preset.generation.model)
        return real(preset, options, progress)

    monkeypatch.setattr(pipeline, "load_generator", counting)
    return loads


def test_three_jobs_render_resume_redo_and_isolate_a_failure(tmp_path: Path, tiny_model_dir: Path,
                                                             count_loads: list[str]) -> None:
    jobs = [{"name": "fox", "prompt": "a red fox in snow"},
            {"name": "sea", "prompt": ["the sea", "night sky"], "duration": 2, "seed": 5},
            {"name": "cat", "prompt": "a cat on a table", "output": "cats/{name}-{seed}"}]
    path = write_jobs(tmp_path, tiny_model_dir, jobs)
    out = tmp_path / "out"

    code, report = run_batch_cli(path, out, "--report", str(tmp_path / "report.json"))
    assert code == 0, report
    assert [j["status"] for j in report["jobs"]] == ["done"] * 3
    assert report["models_loaded"] == 1 and count_loads == [str(tiny_model_dir)]  # one load for three jobs
    assert json.loads((tmp_path / "report.json").read_text()) == report
    clips = [out / "001-fox.mp4", out / "002-sea.mp4", out / "cats" / "cat-0.mp4"]
    for clip, frames in zip(clips, (10, 20, 10), strict=True):
        assert_valid_clip(clip, frames)
        sidecar = json.loads(clip.with_suffix(".json").read_text())
        assert sidecar["batch"]["job_key"] == next(j["key"] for j in report["jobs"] if j["output"] == str(clip))
    before = {clip: clip.stat().st_mtime_ns for clip in clips}

    code, again = run_batch_cli(path, out)
    assert code == 0 and [j["status"] for j in again["jobs"]] == ["skipped"] * 3
    assert again["models_loaded"] == 0 and len(count_loads) == 1
    assert {clip: clip.stat().st_mtime_ns for clip in clips} == before

    jobs[0]["prompt"] = "a grey fox in snow"  # edit one job; break another with an unreadable caption file
    jobs[2]["captions"] = "broken.srt"
    (tmp_path / "broken.srt").write_bytes(b"1\n00:00:00,000 --> 00:00:01,000\n\xff\xfe not text\n")
    write_jobs(tmp_path, tiny_model_dir, jobs)
    code, edited = run_batch_cli(path, out)
    assert code == 1
    assert [j["status"] for j in edited["jobs"]] == ["done", "skipped", "failed"]
    assert "broken.srt" in edited["jobs"][2]["error"] and edited["counts"]["failed"] == 1
    assert clips[0].stat().st_mtime_ns != before[clips[0]]
    assert clips[1].stat().st_mtime_ns == before[clips[1]]
    assert_valid_clip(clips[0], 10)
    assert clips[2].stat().st_mtime_ns == before[clips[2]]  # the failed redo left the old clip alone


def test_sigkill_mid_batch_then_rerun_finishes_every_clip(tmp_path: Path, tiny_model_dir: Path) -> None:
    jobs = [{"name": "one", "prompt": "a fox"}, {"name": "two", "prompt": "the sea", "duration": 3},
            {"name": "three", "prompt": "a city at night", "duration": 2}]
    path = write_jobs(tmp_path, tiny_model_dir, jobs)
    out = tmp_path / "out"
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    process = subprocess.Popen([sys.executable, "-m", "shortgen", "batch", str(path), "--out-dir", str(out),
                                "--quiet"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        wait_for(process, lambda: "job_key" in read_or_empty(out / "001-one.json"))  # the first clip is done
        # Kill while the second clip is being written, if this machine lets us catch it in the act.
        wait_for(process, lambda: any(out.glob(".002-two.partial-*.mp4")) or (out / "002-two.json").exists())
        process.send_signal(signal.SIGKILL)
    finally:
        process.wait(timeout=60)
    assert process.returncode == -signal.SIGKILL
    if not any(out.glob(".*.partial-*")):  # the kill landed between files: leave what it would have left
        (out / ".002-two.partial-0123abcd.mp4").write_bytes(b"\x00" * 100)
    assert not (out / "002-two.mp4").exists() or (out / "002-two.json").exists()

    code, report = run_batch_cli(path, out)
    assert code == 0, report
    assert report["jobs"][0]["status"] == "skipped"
    assert set(j["status"] for j in report["jobs"][1:]) <= {"done", "skipped"}
    for name, frames in (("001-one", 10), ("002-two", 30), ("003-three", 20)):
        assert_valid_clip(out / f"{name}.mp4", frames)
    leftovers = [p.name for p in out.rglob("*") if ".partial-" in p.name]
    assert leftovers == []
    assert sorted(p.name for p in out.iterdir() if p.is_file()) == [
        "001-one.json", "001-one.mp4", "002-two.json", "002-two.mp4", "003-three.json", "003-three.mp4"]
