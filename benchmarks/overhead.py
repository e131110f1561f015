"""Generation overhead: the time ``make`` spends outside the model calls, with the tiny LTX model.

``make_clip`` reports exclusive timings: ``model`` is the time inside ``backend.generate`` (the diffusers
pipeline call and the copy of its frames to uint8), ``generate`` is the time the post path spends pulling frames
from the segment stream. With ``overlap=False`` that pull runs the model calls itself, so the generation
overhead (planning conditions, crossfading the overlaps, colour matching, handing frames to the post path) is
``generate - model`` and the target is ``(generate - model) / generate < 10%``. The default ``overlap=True``
generates the next segment in a thread while the post path encodes this one; its row shows the wall time that
saves (there ``generate`` is only the time the encoder waited, so no overhead share is computed).
Everything ``make_clip`` does outside the timed parts (planning, building stages, output checks) shows as
"other". The model is the tiny random-weight LTX pipeline, built in a temporary folder and loaded once, so the
model calls are as cheap as they get: the worst case for this ratio.
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmarks.harness import machine

os.environ.setdefault("HF_HUB_OFFLINE", "1")

PROMPT = "a red fox runs through fresh snow | the fox looks up at the camera, golden hour"
# name → (make options, overlap generation with the post path)
SCENARIOS: dict[str, tuple[dict[str, Any], bool]] = {
    "tiktok 10 s, serial": ({"preset": "tiktok", "duration": 10}, False),
    "tiktok 10 s, seamless loop, serial": ({"preset": "tiktok", "duration": 10, "loop": "seamless"}, False),
    "tiktok 10 s, overlapped (make's default)": ({"preset": "tiktok", "duration": 10}, True),
}
TARGET = 0.10


@dataclass(frozen=True)
class Run:
    wall: float
    timings: dict[str, float]
    segments: int
    overlapped: bool

    @property
    def model(self) -> float:
        return self.timings.get("model", 0.0)

    @property
    def stitching(self) -> float:
        return max(0.0, self.timings.get("generate", 0.0) - self.model)

    @property
    def overhead(self) -> float:
        generation = self.model + self.stitching
        return self.stitching / generation if generation else 0.0

    @property
    def post(self) -> float:
        return sum(v for k, v in self.timings.items() if k not in {"model", "generate", "load"})

    @property
    def other(self) -> float:
        return max(0.0, self.wall - self.model - self.stitching - self.post)


def run_once(backend: Any, model: Path, folder: Path, options: dict[str, Any], overlap: bool) -> Run:
    from shortgen.config import MakeOptions
    from shortgen.pipeline import make_clip

    make = MakeOptions(prompt=PROMPT, model=str(model), seed=1, output=str(folder / "clip.mp4"), **options)
    started = time.perf_counter()
    result = make_clip(make, backend=backend, overwrite=True, write_sidecar=False, overlap=overlap)
    wall = time.perf_counter() - started
    return Run(wall, dict(result.timings), len((result.plan or {}).get("segments", [])), overlap)


def median_run(runs: list[Run]) -> Run:
    """The run with the median overhead share (its figures stay consistent with each other)."""
    return sorted(runs, key=lambda r: r.overhead)[len(runs) // 2]


def main(runs: int = 3) -> None:
    from shortgen.backends import LoadOptions, load_backend
    from shortgen.backends.tiny import build_tiny_ltx

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        model = build_tiny_ltx(folder / "tiny-ltx")
        started = time.perf_counter()
        backend = load_backend("ltx", LoadOptions(model=str(model), device="cpu"))
        load = time.perf_counter() - started
        results = {name: [run_once(backend, model, folder, options, overlap) for _ in range(runs)]
                   for name, (options, overlap) in SCENARIOS.items()}
    print_table(results, load, runs)


def print_table(results: dict[str, list[Run]], load: float, runs: int) -> None:
    print(f"\n## Generation overhead, tiny LTX model (run with the median overhead of {runs}; model load "
          f"{load:.1f} s, once)\n{machine()}\n")
    print("| scenario | segments | wall s | model s | stitching s | overhead (stitching / generation) | "
          "post s (share of wall) | other s | target < 10% |")
    print("|---|---|---|---|---|---|---|---|---|")
    for name, all_runs in results.items():
        r = median_run(all_runs)
        if r.overlapped:
            r = sorted(all_runs, key=lambda x: x.wall)[len(all_runs) // 2]
            print(f"| {name} | {r.segments} | {r.wall:.1f} | {r.model:.1f} (in a thread) | n/a | n/a | "
                  f"{r.post:.1f} | | |")
        else:
            spread = f"{min(x.overhead for x in all_runs):.1%}–{max(x.overhead for x in all_runs):.1%}"
            print(f"| {name} | {r.segments} | {r.wall:.1f} | {r.model:.1f} ({r.model / r.wall:.0%}) | "
                  f"{r.stitching:.2f} ({r.stitching / r.wall:.1%}) | {r.overhead:.1%} (runs: {spread}) | "
                  f"{r.post:.1f} ({r.post / r.wall:.0%}) | {r.other:.2f} | "
                  f"{'ok' if r.overhead < TARGET else 'OVER'} |")
        details = ", ".join(f"{k} {v:.2f}" for k, v in r.timings.items())
        print(f"|  timings: {details}; median wall of {runs}: {statistics.median(x.wall for x in all_runs):.1f} s "
              "| | | | | | | | |")
    sys.stdout.flush()


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 3)
