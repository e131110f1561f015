"""The Ray runner on a local Ray (num_cpus=2) with the tiny LTX model: CPU actors, resume, a killed worker, a
failing job, Ctrl-C, SIGKILL of the driver, and the bad input that must fail before any model loads.

Marked ``ray`` (off by default; CI runs ``pytest -m ray`` after installing shortgen[ray]). One Ray per module, and
one runner whose two workers stay warm from test to test (as they do between runs of one RayRunner).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from shortgen import batch as b
from shortgen.batch.resume import stamp_of
from shortgen.cli.app import app
from shortgen.errors import UsageError
from shortgen.progress import RecordingProgress
from tests.helpers import probe, small_preset

ray = pytest.importorskip("ray")  # the marker keeps this module out of runs without shortgen[ray]
pytestmark = pytest.mark.ray

from shortgen.batch.ray import RayRunner, Worker  # noqa: E402
from shortgen.batch.settings import RayOptions  # noqa: E402

FAST = {"gen_size": "96x160", "segment_frames": 17, "overlap_frames": 9, "steps": 2}
cli = CliRunner()


@pytest.fixture(scope="module")
def cluster() -> Iterator[str]:
    ray.init(num_cpus=2, include_dashboard=False, logging_level="ERROR", log_to_driver=False)
    yield ray.get_runtime_context().gcs_address
    ray.shutdown()


@pytest.fixture(scope="module")
def runner(cluster: str) -> Iterator[RayRunner]:
    shared = RayRunner(RayOptions(workers=2))
    shared.connect()
    yield shared
    shared.close()


def write_jobs(folder: Path, model: Path, jobs: list[Any]) -> Path:
    small_preset(folder, duration={"default": 1, "min": 1, "max": 3})
    data = {"defaults": {"preset": "tiny.yaml", "model": str(model), **FAST}, "jobs": jobs}
    path = folder / "jobs.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


def plan(path: Path, out: Path) -> b.BatchPlan:
    return b.plan_batch(b.load_job_file(path), out_dir=out)


def run(runner: RayRunner, path: Path, out: Path, report: b.BatchReport | None = None,
        **kwargs: Any) -> tuple[b.BatchReport, RecordingProgress]:
    progress = RecordingProgress()
    return b.run_batch(plan(path, out), runner=runner, progress=progress, report=report, **kwargs), progress


def assert_valid_clip(path: Path, frames: int) -> None:
    info = probe(path)
    assert (info["codec"], info["width"], info["height"], info["frames"]) == ("h264", 180, 320, frames)


def only_clips_and_sidecars(out: Path) -> list[str]:
    """Everything in ``out``, asserted to be clips and sidecars: no temp file, claim, lock or probe."""
    names = sorted(p.name for p in out.rglob("*"))
    assert all(name.endswith((".mp4", ".json")) and not name.startswith(".") for name in names), names
    assert all("state" not in (stamp_of(p) or {}) for p in out.glob("*.mp4")), "a claim was left behind"
    return names


def test_four_jobs_on_two_cpu_workers_each_load_the_model_once_a_raising_job_fails_and_a_rerun_skips_all(
        runner: RayRunner, tmp_path: Path, tiny_model_dir: Path) -> None:
    good = [f"prompt number {i}" for i in range(1, 5)]
    path = write_jobs(tmp_path, tiny_model_dir, [*good, {"name": "broken", "prompt": "five", "image": "missing.png"}])
    out = tmp_path / "out"
    result, progress = run(runner, path, out)
    report = result.to_dict()
    assert result.exit_code == 1  # the raising job fails the batch; the others finish
    assert report["runner"] == "ray" and [j["status"] for j in report["jobs"]] == ["done"] * 4 + ["failed"]
    assert "missing.png does not exist" in report["jobs"][4]["error"] and report["jobs"][4]["retries"] == 0
    assert [w["models_loaded"] for w in report["workers"]] == [1, 1] and report["models_loaded"] == 2
    assert [w["restarts"] for w in report["workers"]] == [0, 0] and sum(w["jobs"] for w in report["workers"]) == 4
    assert {j["worker"] for j in report["jobs"]} == {"worker-1", "worker-2"}
    assert any(event[0] == "fail" and event[1] == "job5" for event in progress.events)
    for job in report["jobs"][:4]:
        assert_valid_clip(Path(job["output"]), 10)
        assert stamp_of(Path(job["output"]))["job_key"] == job["key"]  # type: ignore[index]
    assert len(only_clips_and_sidecars(out)) == 8
    before = {p: p.stat().st_mtime_ns for p in out.iterdir()}

    write_jobs(tmp_path, tiny_model_dir, good)  # without the broken job: the four are done
    again, _ = run(runner, path, out)
    assert [j.status for j in again.jobs] == ["skipped"] * 4 and again.models_loaded == 0 and again.exit_code == 0
    assert {p: p.stat().st_mtime_ns for p in out.iterdir()} == before


def test_a_worker_killed_mid_job_is_replaced_and_the_job_retried(runner: RayRunner, tmp_path: Path,
                                                                 tiny_model_dir: Path) -> None:
    path = write_jobs(tmp_path, tiny_model_dir, [f"another prompt {i}" for i in range(1, 5)])
    out = tmp_path / "out"
    events: list[tuple[str, int, float]] = []

    def kill_when_rendering(job: b.PlannedJob, actor: Any) -> None:
        first_time = job.index == 2 and not any(index == 2 for _, index, _ in events)
        events.append(("dispatch", job.index, time.monotonic()))
        if not first_time:
            return

        def kill() -> None:  # once job 2 is being rendered (its claim or a temp file exists), kill its worker
            deadline = time.monotonic() + 300
            while time.monotonic() < deadline:
                if any(out.glob(".002-*.partial-*")) or (stamp_of(job.output) or {}).get("state") == "rendering":
                    break
                time.sleep(0.01)
            ray.kill(actor)
            events.append(("killed", job.index, time.monotonic()))

        threading.Thread(target=kill, daemon=True).start()

    runner.on_dispatch = kill_when_rendering
    try:
        result, progress = run(runner, path, out)
    finally:
        runner.on_dispatch = None
    assert [j.status for j in result.jobs] == ["done"] * 4, [j.error for j in result.jobs]
    assert [j.retries for j in result.jobs] == [0, 1, 0, 0]
    assert "." in (result.jobs[1].worker or "")  # rendered by a replacement actor, e.g. worker-2.2
    restarted = [w for w in result.workers if w["restarts"]]
    assert len(restarted) == 1 and restarted[0]["restarts"] == 1 and len(restarted[0]["pids"]) == 2
    assert any("died" in warning for warning in progress.warnings), progress.warnings
    # Job 2 went to the new worker only after the killed one was gone: never two renders of it at once.
    killed_at = next(t for kind, _, t in events if kind == "killed")
    assert killed_at < [t for kind, index, t in events if kind == "dispatch" and index == 2][1]
    with pytest.raises(ProcessLookupError):
        os.kill(restarted[0]["pids"][0], 0)
    for job in result.jobs:
        assert_valid_clip(job.output, 10)
    assert len(only_clips_and_sidecars(out)) == 8


def test_ctrl_c_cancels_the_jobs_in_flight_and_reports_what_finished(runner: RayRunner, tmp_path: Path,
                                                                     tiny_model_dir: Path) -> None:
    path = write_jobs(tmp_path, tiny_model_dir, [{"prompt": f"third batch {i}", "duration": 3} for i in range(1, 6)])
    out = tmp_path / "out"
    dispatched: list[int] = []

    def interrupt_at_the_third_job(job: b.PlannedJob, actor: Any) -> None:
        dispatched.append(job.index)
        if len(dispatched) == 3:
            raise KeyboardInterrupt  # as Ctrl-C lands in the driver's loop

    runner.on_dispatch = interrupt_at_the_third_job
    report = b.BatchReport(str(path), out, None, "now")
    try:
        with pytest.raises(KeyboardInterrupt):
            run(runner, path, out, report=report)
    finally:
        runner.on_dispatch = None
    assert report.interrupted and report.exit_code == 1 and report.count("done") >= 1
    assert [j.index for j in report.jobs] == [1, 2, 3, 4, 5]
    assert set(j.status for j in report.jobs) == {"done", "cancelled"}
    for job in report.jobs:
        assert job.output.exists() == (job.status == "done")
    assert len(only_clips_and_sidecars(out)) == 2 * report.count("done")


def test_sigkill_of_the_driver_then_a_rerun_completes_the_rest(cluster: str, runner: RayRunner, tmp_path: Path,
                                                               tiny_model_dir: Path) -> None:
    runner.stop_workers()  # the driver below needs the cluster's CPUs
    jobs = [{"prompt": f"prompt number {i}", "duration": 1 + i % 2} for i in range(1, 5)]
    path = write_jobs(tmp_path, tiny_model_dir, jobs)
    out = tmp_path / "out"
    driver = subprocess.Popen([sys.executable, "-m", "shortgen", "batch", str(path), "--out-dir", str(out),
                               "--ray", cluster, "--workers", "1", "--quiet"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env={**os.environ})
    try:
        deadline = time.monotonic() + 300
        while not (out / "001-prompt-number-1.json").exists() or "state" in (stamp_of(out / "001-prompt-number-1.mp4")
                                                                            or {"state": 1}):
            assert driver.poll() is None, driver.communicate()[1].decode()[-2000:]
            assert time.monotonic() < deadline, "the driver made no progress"
            time.sleep(0.05)
        driver.send_signal(signal.SIGKILL)  # its worker goes with it (Ray ends a dead driver's actors)
    finally:
        driver.wait(timeout=60)

    result, _ = run(runner, path, out)
    assert result.jobs[0].status == "skipped" and result.exit_code == 0
    assert set(j.status for j in result.jobs[1:]) <= {"done", "skipped"}
    for job in result.jobs:
        assert_valid_clip(job.output, 10 * (1 + job.index % 2))
    assert len(only_clips_and_sidecars(out)) == 8


# ---------------------------------------------------------------------------------------------- bad input


def test_an_out_dir_the_workers_do_not_share_is_one_line_before_any_model_loads(
        runner: RayRunner, tmp_path: Path, tiny_model_dir: Path) -> None:
    runner.stop_workers()

    class NodeLocalDisk(Worker):
        """A worker whose --out-dir is another folder (as on a node that mounts its own disk at that path)."""

        def probe(self, folder: str, token: str) -> dict[str, Any]:
            return super().probe(folder + "-on-the-worker-node", token)

    path = write_jobs(tmp_path, tiny_model_dir, ["one"])
    elsewhere = RayRunner(RayOptions(workers=1), worker_class=NodeLocalDisk)
    elsewhere.connect()
    try:
        with pytest.raises(UsageError, match=r"--out-dir .* is not shared with the Ray workers: worker-1 on .* "
                                             r"wrote \.shortgen-probe-"):
            b.run_batch(plan(path, tmp_path / "out"), runner=elsewhere)
    finally:
        elsewhere.close()
    assert only_clips_and_sidecars(tmp_path / "out") == []


@pytest.mark.parametrize(("args", "expected"), [
    (["--ray", "--gpus-per-worker", "1"], "--gpus-per-worker 1 is more than any node has (the cluster has no GPUs)"),
    (["--ray", "--workers", "0"], "Invalid value for '--workers': 0 is not in the range x>=1"),
    (["--workers", "2"], "--workers needs --ray"),
])
def test_bad_ray_flags_are_one_line_and_exit_2(cluster: str, tmp_path: Path, tiny_model_dir: Path,
                                               args: list[str], expected: str) -> None:
    path = write_jobs(tmp_path, tiny_model_dir, ["one"])
    result = cli.invoke(app, ["batch", str(path), "--out-dir", str(tmp_path / "out"), *args])
    assert result.exit_code == 2, result.output
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and expected in lines[0], lines
    assert not any((tmp_path / "out").glob("*"))


def test_ray_missing_says_how_to_install_it(tmp_path: Path, tiny_model_dir: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    path = write_jobs(tmp_path, tiny_model_dir, ["one"])
    monkeypatch.setitem(sys.modules, "ray", None)  # as if shortgen[ray] were not installed
    result = cli.invoke(app, ["batch", str(path), "--out-dir", str(tmp_path / "out"), "--ray"])
    assert result.exit_code == 2, result.output
    assert result.stderr.strip() == ('error: --ray needs Ray, which is not installed '
                                     '(install it with: pip install "shortgen[ray]")')


def test_an_unreachable_address_is_named_in_one_line(tmp_path: Path, tiny_model_dir: Path) -> None:
    path = write_jobs(tmp_path, tiny_model_dir, ["one"])
    result = subprocess.run([sys.executable, "-m", "shortgen", "batch", str(path), "--out-dir", str(tmp_path / "o"),
                             "--ray", "127.0.0.1:9"], capture_output=True, text=True, timeout=120,
                            env={**os.environ, "HF_HUB_OFFLINE": "1"})
    assert result.returncode == 2, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: cannot reach the Ray cluster at 127.0.0.1:9"), lines
    assert not (tmp_path / "o").exists()
