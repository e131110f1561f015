"""Memory independent of length: peak RSS of ``make`` (tiny model) and ``edit`` for 10 s against 30 s clips.

Target: the 30 s run peaks at most 1.2x the 10 s run (no stage holds a whole clip).
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from benchmarks.harness import Measurement, machine, measure

DURATIONS = (10, 30)


def make_cmd(model: Path, seconds: int, out: Path) -> list[str]:
    return [sys.executable, "-m", "shortgen", "make", "memory test", "--model", str(model), "--gen-size", "288x512",
            "--duration", str(seconds), "--caption", "Peak memory stays flat", "-o", str(out), "--quiet"]


def edit_cmd(source: Path, out: Path) -> list[str]:
    return [sys.executable, "-m", "shortgen", "edit", str(source), "--caption", "Captioned and re-encoded",
            "--loop", "crossfade", "-o", str(out), "--quiet"]


def main() -> None:
    from shortgen.backends.tiny import build_tiny_ltx

    rows: list[tuple[str, Measurement, Measurement]] = []
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        model = build_tiny_ltx(folder / "tiny-ltx")
        made = {s: measure(f"make {s} s", make_cmd(model, s, folder / f"make{s}.mp4"), runs=1) for s in DURATIONS}
        rows.append(("make (tiny model, 288x512 → 1080x1920, caption)", made[10], made[30]))
        edited = {s: measure(f"edit {s} s", edit_cmd(folder / f"make{s}.mp4", folder / f"edit{s}.mp4"), runs=1)
                  for s in DURATIONS}
        rows.append(("edit (1080x1920 in, caption + crossfade loop)", edited[10], edited[30]))
    print(f"\n## Peak memory, 10 s against 30 s\n{machine()}\n")
    print("| command | 10 s peak (MB) | 30 s peak (MB) | ratio (target ≤ 1.2) | 10 s wall (s) | 30 s wall (s) |")
    print("|---|---|---|---|---|---|")
    for name, short, long in rows:
        ratio = long.peak_mb / short.peak_mb
        print(f"| {name} | {short.peak_mb:.0f} | {long.peak_mb:.0f} | {ratio:.2f} | {short.seconds:.1f} | "
              f"{long.seconds:.1f} |")


if __name__ == "__main__":
    main()
