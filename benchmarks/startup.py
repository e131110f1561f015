"""Instant CLI: start-up of the fast commands against a bare ``python -c pass`` (target: < +0.3 s)."""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from benchmarks.harness import Measurement, machine, measure

RUNS = 7


def sample_video(folder: Path) -> Path:
    from fractions import Fraction

    import numpy as np

    from shortgen.config import EncoderSpec
    from shortgen.encode import encode_clip
    from shortgen.frames import Clip

    frames = (np.full((320, 180, 3), i * 8, np.uint8) for i in range(30))
    path = folder / "sample.mp4"
    encode_clip(Clip(180, 320, Fraction(30), 30, frames), path, EncoderSpec(preset="ultrafast"))
    return path


def main() -> None:
    py = sys.executable
    with tempfile.TemporaryDirectory() as tmp:
        video = sample_video(Path(tmp))
        commands = {
            "python -c pass": [py, "-c", "pass"],
            "shortgen --help": [py, "-m", "shortgen", "--help"],
            "shortgen presets list": [py, "-m", "shortgen", "presets", "list"],
            "shortgen make --dry-run": [py, "-m", "shortgen", "make", "a fox", "--dry-run"],
            "shortgen inspect": [py, "-m", "shortgen", "inspect", str(video)],
        }
        rows: list[Measurement] = []
        for name, cmd in commands.items():
            try:
                rows.append(measure(name, cmd, RUNS))
            except RuntimeError as err:
                print(f"{name}: failed: {err}")
    base = rows[0].seconds
    print(f"\n## Start-up (median of {RUNS})\n{machine()}\n")
    print("| command | wall (s) | over bare python (s) | target +0.30 s |")
    print("|---|---|---|---|")
    for r in rows:
        extra = r.seconds - base
        print(f"| {r.name} | {r.seconds:.3f} | {extra:+.3f} | {'ok' if extra <= 0.3 else 'OVER'} |")


if __name__ == "__main__":
    main()
