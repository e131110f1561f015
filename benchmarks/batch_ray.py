"""Ray's overhead against the local runner: the same small batch of tiny-model jobs, side by side.

Each row is one ``shortgen batch --json`` process, as a user runs it (imports, a local Ray started by the process
for the Ray rows, one model load per worker). From its wall time and its report (each job's seconds and worker):

    per job   = median seconds of the jobs that were not a worker's first (the first includes the model load)
    start-up  = wall - the busiest worker's rendering, counting its first job as a plain job
              = what the process spent before (and after) rendering: imports, Ray, workers, model loads

"ray, 1 worker" does the local runner's work on the same CPU budget (OMP_NUM_THREADS=1 in every row, as Ray gives
a 1-CPU actor), so its ratios are Ray's own cost; "ray, 2 workers" shows what two CPU actors buy on this machine.
``python -m benchmarks batch_ray`` (needs shortgen[ray]).
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import yaml

from benchmarks.harness import machine

os.environ.setdefault("HF_HUB_OFFLINE", "1")

JOBS = 6
FAST = {"gen_size": "96x160", "segment_frames": 17, "overlap_frames": 9, "steps": 2, "duration": 2}
PRESET = {"output": {"width": 180, "height": 320, "fps": 10}, "duration": {"default": 2, "min": 1, "max": 30},
          "generation": {"width": 96, "height": 160, "steps": 2, "segment_frames": 17, "overlap_frames": 9},
          "encoder": {"preset": "ultrafast"}, "safe_zone": {"left": 10, "top": 25, "right": 15, "bottom": 60},
          "captions": {"font_size": 18, "min_font_size": 8, "outline_width": 2}}
RUNNERS: dict[str, list[str]] = {
    "local": [],
    "ray, 1 worker": ["--ray", "--workers", "1"],
    "ray, 2 workers": ["--ray", "--workers", "2"],
}


@dataclass(frozen=True)
class Timing:
    wall: float
    per_job: float
    startup: float


def timing(wall: float, jobs: list[dict[str, object]]) -> Timing:
    by_worker: dict[str, list[float]] = {}
    for job in jobs:
        by_worker.setdefault(str(job["worker"]), []).append(float(job["seconds"]))  # type: ignore[arg-type]
    later = [seconds for times in by_worker.values() for seconds in times[1:]]
    per_job = statistics.median(later) if later else 0.0
    busiest = max(sum(times) - times[0] + per_job for times in by_worker.values())
    return Timing(wall, per_job, wall - busiest)


def write_jobs(folder: Path, model: Path, count: int) -> Path:
    (folder / "bench.yaml").write_text(yaml.safe_dump(PRESET), encoding="utf-8")
    jobs = [f"benchmark prompt number {i}" for i in range(1, count + 1)]
    data = {"defaults": {"preset": "bench.yaml", "model": str(model), **FAST}, "jobs": jobs}
    path = folder / f"jobs-{count}.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


def run_batch(jobs: Path, out: Path, extra: list[str]) -> Timing:
    command = [sys.executable, "-m", "shortgen", "batch", str(jobs), "--out-dir", str(out), "--json", *extra]
    env = {**os.environ, "RAY_ADDRESS": "", "OMP_NUM_THREADS": "1"}  # a local Ray started by the process
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
    wall = time.perf_counter() - started
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed ({done.returncode}): {done.stderr[-800:]}")
    report = json.loads(done.stdout)
    assert report["counts"]["done"] == report["counts"]["total"] == JOBS, report["counts"]
    return timing(wall, report["jobs"])


def main() -> None:
    from shortgen.backends.tiny import build_tiny_ltx

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        model = build_tiny_ltx(folder / "tiny-ltx")
        jobs = write_jobs(folder, model, JOBS)
        results = {name: run_batch(jobs, folder / f"out-{number}", extra)
                   for number, (name, extra) in enumerate(RUNNERS.items())}
    print_table(results)


def print_table(results: dict[str, Timing]) -> None:
    base = results["local"]
    print(f"\n## Batch on Ray vs the local runner: {JOBS} tiny-model jobs (2 s clips, 96x160 → 180x320), "
          f"one process each, OMP_NUM_THREADS=1\n{machine()}\n")
    print("| runner | wall (s) | start-up (s) | per job (s) | wall ratio to local | start-up ratio to local | "
          "per-job ratio to local |")
    print("|---|---|---|---|---|---|---|")
    for name, t in results.items():
        print(f"| {name} | {t.wall:.1f} | {t.startup:.1f} | {t.per_job:.2f} | {t.wall / base.wall:.2f} | "
              f"{t.startup / base.startup:.2f} | {t.per_job / base.per_job:.2f} |")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
