"""Batch never loses a user's file and never leaves litter: ownership by stamp, --overwrite, lock files that go
away, relative model paths, failed jobs that say so, SIGTERM / SIGHUP cleaned up like Ctrl-C.

Rendering uses the numpy noise backend of test_batch.py through the real pipeline and encoder (no torch)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from shortgen import batch as b
from shortgen import pipeline
from shortgen.batch.locks import OutputLock
from shortgen.batch.resume import OnDisk, on_disk, write_claim
from shortgen.cli.app import app
from shortgen.errors import ConfigError
from tests.helpers import decode_frames, small_preset
from tests.test_batch import CountingLoader, job_file, plan

runner = CliRunner()


@pytest.fixture
def preset(tmp_path: Path) -> Path:
    return small_preset(tmp_path, duration={"default": 1, "min": 1, "max": 3})


def files_in(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))


# ------------------------------------------------------------------------------------------ model paths


def test_relative_model_path_resolves_against_the_job_file(tmp_path: Path, preset: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "models" / "mine").mkdir(parents=True)
    elsewhere = tmp_path / "cwd"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    path = job_file(tmp_path, [{"prompt": "a", "model": "models/mine"}, {"prompt": "b", "model": "org/name"},
                               {"prompt": "c", "model": "./models/mine"}])
    jobs = plan(path, tmp_path / "out").jobs
    assert [j.plan.preset.generation.model for j in jobs] == [
        str(tmp_path / "models" / "mine"), "org/name", str(tmp_path / "models" / "mine")]


@pytest.mark.parametrize("model", ["./models/missing", "models/missing.safetensors", "/nowhere/at/all"])
def test_dry_run_names_a_local_model_path_that_does_not_exist(tmp_path: Path, preset: Path, model: str) -> None:
    path = job_file(tmp_path, ["fine", {"name": "fox", "prompt": "b", "model": model}])
    result = runner.invoke(app, ["batch", str(path), "--out-dir", str(tmp_path / "out"), "--dry-run"])
    assert result.exit_code == 2, result.output
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "job 2 (fox): model path" in lines[0] and "does not exist" in lines[0], lines
    with pytest.raises(ConfigError, match="does not exist"):
        plan(path, tmp_path / "out")


# ------------------------------------------------------------------------------------------- reporting


def test_a_failed_job_says_failed_not_done(tmp_path: Path, preset: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pipeline, "load_generator", CountingLoader())
    path = job_file(tmp_path, [{"name": "fox", "prompt": "a", "image": "missing.png"}, "b"])
    result = runner.invoke(app, ["batch", str(path), "--out-dir", str(tmp_path / "out")])
    assert result.exit_code == 1, result.output
    fox = [line for line in result.stderr.splitlines() if "job 1 (fox)" in line]
    assert fox and all("done in" not in line for line in fox), result.stderr
    assert any(line.startswith("warning: [1/2] job 1 (fox): failed after") and "missing.png" in line
               for line in fox), result.stderr
    assert any("job 2 (b): done in" in line for line in result.stderr.splitlines()), result.stderr


# ------------------------------------------------------------------------------------------- ownership


def test_user_files_at_output_paths_are_left_alone_without_overwrite(tmp_path: Path, preset: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    mine = {out / "001-one.mp4": b"my own video", out / "002-two.json": b'{"my": "notes"}'}
    for path, data in mine.items():
        path.write_bytes(data)
    path = job_file(tmp_path, ["one", "two", "three"])
    dry = runner.invoke(app, ["batch", str(path), "--out-dir", str(out), "--dry-run", "--json"])
    assert [j["action"] for j in json.loads(dry.stdout)["jobs"]] == ["blocked", "blocked", "render"]

    report = b.run_batch(plan(path, out), loader=CountingLoader())
    assert [j.status for j in report.jobs] == ["failed", "failed", "done"] and report.exit_code == 1
    assert "001-one.mp4 already exists and was not written by shortgen batch" in (report.jobs[0].error or "")
    assert "002-two.json already exists" in (report.jobs[1].error or "") and "--overwrite" in report.jobs[1].error
    assert all(path.read_bytes() == data for path, data in mine.items())
    assert not (out / "002-two.mp4").exists()

    dry = runner.invoke(app, ["batch", str(path), "--out-dir", str(out), "--dry-run", "--json", "--overwrite"])
    assert [j["action"] for j in json.loads(dry.stdout)["jobs"]] == ["replace", "replace", "skip"]
    replaced = b.run_batch(plan(path, out), loader=CountingLoader(), overwrite=True)
    assert [j.status for j in replaced.jobs] == ["done", "done", "skipped"]
    assert len(decode_frames(out / "001-one.mp4")) == 10
    assert json.loads((out / "002-two.json").read_text())["batch"]["job_key"] == replaced.jobs[1].key


def test_resume_trusts_only_a_stamped_sidecar(tmp_path: Path, preset: Path) -> None:
    out = tmp_path / "out"
    path = job_file(tmp_path, ["one", "two"])
    assert [j.status for j in b.run_batch(plan(path, out), loader=CountingLoader()).jobs] == ["done", "done"]
    (out / "002-two.json").write_text('{"replaced": "by the user"}')  # the clip is no longer provably ours
    clip = (out / "002-two.mp4").read_bytes()
    report = b.run_batch(plan(path, out), loader=CountingLoader(), force=True)
    assert [j.status for j in report.jobs] == ["done", "failed"]
    assert (out / "002-two.mp4").read_bytes() == clip


def test_a_claim_left_by_a_killed_run_is_ours_and_rendered_again(tmp_path: Path, preset: Path) -> None:
    out = tmp_path / "out"
    job = plan(job_file(tmp_path, ["one"]), out).jobs[0]
    out.mkdir()
    job.output.write_bytes(b"clip renamed into place, then the process died before the sidecar")
    write_claim(job, "jobs.yaml")
    assert on_disk(job) is OnDisk.OURS and not b.is_up_to_date(job)
    report = b.run_batch(plan(job_file(tmp_path, ["one"]), out), loader=CountingLoader())
    assert [j.status for j in report.jobs] == ["done"] and len(decode_frames(job.output)) == 10
    assert "state" not in json.loads(job.output.with_suffix(".json").read_text())["batch"]


def test_a_failing_new_job_leaves_neither_clip_nor_claim(tmp_path: Path, preset: Path) -> None:
    out = tmp_path / "out"
    path = job_file(tmp_path, [{"prompt": "one", "captions": "bad.srt"}])
    (tmp_path / "bad.srt").write_bytes(b"1\n00:00:00,000 --> 00:00:01,000\n\xff\xfe not text\n")
    report = b.run_batch(plan(path, out), loader=CountingLoader())
    assert [j.status for j in report.jobs] == ["failed"]
    assert files_in(out) == []


# ------------------------------------------------------------------------------------------------ locks


def test_no_lock_files_stay_in_the_output_folder(tmp_path: Path, preset: Path) -> None:
    out = tmp_path / "out"
    (out / ".shortgen-locks").mkdir(parents=True)  # what an older version left behind
    (out / ".shortgen-locks" / "001-one.lock").write_bytes(b"")
    (out / ".002-two.shortgen-lock").write_bytes(b"")  # left by a process killed while holding it
    path = job_file(tmp_path, ["one", {"prompt": "two", "output": "sub/{name}"}])
    report = b.run_batch(plan(path, out), loader=CountingLoader())
    assert [j.status for j in report.jobs] == ["done", "done"]
    assert files_in(out) == ["001-one.json", "001-one.mp4", "sub", "sub/two.json", "sub/two.mp4"]


def test_lock_is_exclusive_even_while_released_locks_are_deleted(tmp_path: Path) -> None:
    path = tmp_path / ".clip.shortgen-lock"
    inside: list[int] = []
    overlaps: list[int] = []

    def worker(number: int) -> None:
        for _ in range(150):
            lock = OutputLock(path)
            lock.acquire(timeout=30)
            try:
                inside.append(number)
                if len(inside) > 1:
                    overlaps.append(number)
                time.sleep(0.0005)
                inside.remove(number)
            finally:
                lock.release()

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert overlaps == [] and not path.exists()


def test_lock_times_out_while_held(tmp_path: Path) -> None:
    held = OutputLock(tmp_path / ".x.shortgen-lock")
    held.acquire()
    try:
        with b.locks.try_lock(OutputLock(tmp_path / ".x.shortgen-lock"), 0.1) as got:
            assert not got
    finally:
        held.release()
    with b.locks.try_lock(OutputLock(tmp_path / ".x.shortgen-lock"), 0.1) as got:
        assert got
    assert list(tmp_path.iterdir()) == []


# -------------------------------------------------------------------------------------- SIGTERM, SIGHUP

SLOW_BATCH = """
import sys, time
import numpy as np
from shortgen import pipeline
from shortgen.backends import LTX_RULES
from shortgen.cli.app import main

class Slow:
    name = "slow-noise"
    rules = LTX_RULES
    def describe(self):
        return {"backend": self.name}
    def generate(self, request, on_step=None):
        time.sleep(0.4)
        rng = np.random.default_rng(request.seed)
        return rng.integers(0, 256, (request.num_frames, request.height, request.width, 3), dtype=np.uint8)

pipeline.load_generator = lambda *args: Slow()
sys.argv = ["shortgen", *sys.argv[1:]]
main()
"""


@pytest.mark.parametrize(("sig", "code"), [(signal.SIGTERM, 143), (signal.SIGHUP, 129)])
def test_sigterm_and_sighup_clean_up_like_ctrl_c(tmp_path: Path, preset: Path, sig: int, code: int) -> None:
    path = job_file(tmp_path, ["one", {"prompt": "two", "duration": 3}, "three"])
    out, report = tmp_path / "out", tmp_path / "report.json"
    process = subprocess.Popen([sys.executable, "-c", SLOW_BATCH, "batch", str(path), "--out-dir", str(out),
                                "--report", str(report)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                               env={**os.environ, "HF_HUB_OFFLINE": "1"})
    try:
        deadline = time.monotonic() + 120
        while not (out / "001-one.json").exists() or not any(out.glob(".002-two.partial-*.mp4")):
            assert process.poll() is None and time.monotonic() < deadline, process.stderr.read()  # type: ignore
            time.sleep(0.02)
        process.send_signal(sig)
        _, stderr = process.communicate(timeout=60)
    finally:
        process.kill()
    assert process.returncode == code, stderr
    errors = [line for line in stderr.decode().splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and signal.Signals(sig).name in errors[0], stderr
    assert "Traceback" not in stderr.decode()
    assert files_in(out) == ["001-one.json", "001-one.mp4"]
    data = json.loads(report.read_text())
    assert data["interrupted"] and not data["ok"]
    assert [j["status"] for j in data["jobs"]] == ["done", "cancelled", "cancelled"]


LOCAL_BATCH = """
import sys
import numpy as np
from shortgen import pipeline
from shortgen.backends import LTX_RULES
from shortgen.cli.app import app

class Noise:
    name = "noise"
    rules = LTX_RULES
    def describe(self):
        return {"backend": self.name}
    def generate(self, request, on_step=None):
        rng = np.random.default_rng(request.seed)
        return rng.integers(0, 256, (request.num_frames, request.height, request.width, 3), dtype=np.uint8)

pipeline.load_generator = lambda *args: Noise()
try:
    app(["batch", *sys.argv[1:]], prog_name="shortgen")
except SystemExit as done:
    assert done.code == 0, done.code
assert "ray" not in sys.modules, "the local batch imported ray"
"""


def test_a_local_batch_imports_no_ray(tmp_path: Path, preset: Path) -> None:
    path = job_file(tmp_path, ["one"])
    subprocess.run([sys.executable, "-c", LOCAL_BATCH, str(path), "--out-dir", str(tmp_path / "out"), "--quiet"],
                   check=True, timeout=120, env={**os.environ, "HF_HUB_OFFLINE": "1"})
    assert (tmp_path / "out" / "001-one.mp4").is_file()
