"""Ray's overhead against the local runner: the same small batch of tiny-model jobs, side by side.

Each measurement is one ``shortgen batch`` process, as a user runs it (imports, a local Ray started by the
process for the Ray rows, the model loaded by each worker). Every runner renders the same job file twice into fresh
folders, with N and 2N jobs; the difference gives the seconds per job and what is left of the N-job wall time is the
start-up (imports, Ray, workers, model loads):

    per job  = (wall(2N) - wall(N)) / N        start-up = wall(N) - N * per job

"ray, 1 worker" does the local runner's work on the same single CPU budget, so its ratios are Ray's own cost;
"ray, 2 workers" shows what two CPU actors buy on this machine. ``python -m benchmarks batch_ray`` (needs
shortgen[ray]).
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

JOBS = 3  # N; the second file has 2N
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
    small: float  # wall seconds for N jobs
    large: float  # wall seconds for 2N jobs
    job_seconds: float  # median per-job seconds the report gives (inside a worker, model load included once)

    @property
    def per_job(self) -> float:
        return (self.large - self.small) / JOBS

    @property
    def startup(self) -> float:
        return self.small - JOBS * self.per_job


def write_jobs(folder: Path, model: Path, count: int) -> Path:
    (folder / "bench.yaml").write_text(yaml.safe_dump(PRESET), encoding="utf-8")
    jobs = [f"benchmark prompt number {i}" for i in range(1, count + 1)]
    data = {"defaults": {"preset": "bench.yaml", "model": str(model), **FAST}, "jobs": jobs}
    path = folder / f"jobs-{count}.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


def run_batch(jobs: Path, out: Path, extra: list[str]) -> tuple[float, list[float]]:
    command = [sys.executable, "-m", "shortgen", "batch", str(jobs), "--out-dir", str(out), "--json", *extra]
    env = {**os.environ, "RAY_ADDRESS": ""}  # a local Ray started by the process, never a cluster nearby
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
    wall = time.perf_counter() - started
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed ({done.returncode}): {done.stderr[-800:]}")
    report = json.loads(done.stdout)
    assert report["counts"]["done"] == report["counts"]["total"], report["counts"]
    return wall, [job["seconds"] for job in report["jobs"]]


def measure(folder: Path, model: Path, name: str, extra: list[str]) -> Timing:
    small, small_jobs = run_batch(write_jobs(folder, model, JOBS), folder / f"out-{name}-small", extra)
    large, large_jobs = run_batch(write_jobs(folder, model, 2 * JOBS), folder / f"out-{name}-large", extra)
    return Timing(small, large, statistics.median([*small_jobs, *large_jobs]))


def main() -> None:
    from shortgen.backends.tiny import build_tiny_ltx

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        model = build_tiny_ltx(folder / "tiny-ltx")
        results = {name: measure(folder, model, f"runner{number}", extra)
                   for number, (name, extra) in enumerate(RUNNERS.items())}
    print_table(results)


def print_table(results: dict[str, Timing]) -> None:
    base = results["local"]
    print(f"\n## Batch on Ray vs the local runner: {JOBS} and {2 * JOBS} tiny-model jobs (2 s clips, 96x160 → "
          f"180x320), one process each\n{machine()}\n")
    print(f"| runner | wall {JOBS} jobs (s) | wall {2 * JOBS} jobs (s) | start-up (s) | per job (s) | "
          "start-up ratio to local | per-job ratio to local | median job time in its report (s) |")
    print("|---|---|---|---|---|---|---|---|")
    for name, t in results.items():
        print(f"| {name} | {t.small:.1f} | {t.large:.1f} | {t.startup:.1f} | {t.per_job:.2f} | "
              f"{t.startup / base.startup:.2f} | {t.per_job / base.per_job:.2f} | {t.job_seconds:.2f} |")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
