"""Run a command as a child process; measure its wall time and the peak RSS of its whole process tree."""

from __future__ import annotations

import contextlib
import os
import platform
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass

import psutil


@dataclass(frozen=True)
class Measurement:
    name: str
    seconds: float
    peak_mb: float
    runs: int


def _tree_rss(proc: psutil.Process) -> int:
    total = 0
    for p in [proc, *proc.children(recursive=True)]:
        with contextlib.suppress(psutil.NoSuchProcess, psutil.AccessDenied):
            total += p.memory_info().rss
    return total


def measure_once(cmd: Sequence[str], env: dict[str, str] | None = None) -> tuple[float, float]:
    started = time.perf_counter()
    child = subprocess.Popen(list(cmd), env={**os.environ, **(env or {})}, stdout=subprocess.DEVNULL,
                             stderr=subprocess.PIPE)
    peak = 0
    proc = psutil.Process(child.pid)
    done = threading.Event()

    def poll() -> None:
        nonlocal peak
        while not done.is_set():
            try:
                peak = max(peak, _tree_rss(proc))
            except psutil.NoSuchProcess:
                return
            time.sleep(0.02)

    poller = threading.Thread(target=poll, daemon=True)
    poller.start()
    _, err = child.communicate()
    seconds = time.perf_counter() - started
    done.set()
    poller.join()
    if child.returncode != 0:
        raise RuntimeError(f"{cmd[0]} failed ({child.returncode}): {err.decode(errors='replace')[-800:]}")
    return seconds, peak / 2**20


def measure(name: str, cmd: Sequence[str], runs: int = 3, env: dict[str, str] | None = None) -> Measurement:
    """Median wall time and the largest peak memory over ``runs`` runs."""
    results = [measure_once(cmd, env) for _ in range(runs)]
    return Measurement(name, statistics.median(r[0] for r in results), max(r[1] for r in results), runs)


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    mem = psutil.virtual_memory().total / 2**30
    python = platform.python_version()
    return f"{platform.node() or 'host'}: {os.cpu_count()} cores {cpu}, {mem:.0f} GiB, Python {python}"


def print_table(title: str, rows: list[Measurement], baseline: str) -> None:
    base = next(r for r in rows if r.name == baseline)
    print(f"\n## {title}\n{machine()}\n")
    print(f"| method | wall (s, median of {base.runs}) | ratio to {baseline} | peak memory (MB) |")
    print("|---|---|---|---|")
    for r in rows:
        print(f"| {r.name} | {r.seconds:.2f} | {r.seconds / base.seconds:.2f} | {r.peak_mb:.0f} |")
    sys.stdout.flush()
