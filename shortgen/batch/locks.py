"""Per-output locks (OS file locks, released by the kernel when a process dies) and the stale-temp sweep."""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterable, Iterator
from pathlib import Path

import filelock

from shortgen.atomic import PARTIAL_MARK

LOCK_DIR = ".shortgen-locks"
# A job waits this long for its lock: long enough to ride out another process's brief stale-file sweep.
LOCK_WAIT_SECONDS = 2.0
PARTIAL_NAME = re.compile(rf"^\.(?P<stem>.+){re.escape(PARTIAL_MARK)}[0-9a-f]{{8}}\.[A-Za-z0-9]+$")


def output_lock(output: Path) -> filelock.BaseFileLock:
    """The lock guarding ``output`` and its sidecar; kept in a hidden folder beside them."""
    return stem_lock(output.parent, output.stem)


def stem_lock(folder: Path, stem: str) -> filelock.BaseFileLock:
    locks = folder / LOCK_DIR
    locks.mkdir(parents=True, exist_ok=True)
    return filelock.FileLock(str(locks / f"{stem}.lock"), is_singleton=False)


@contextlib.contextmanager
def try_lock(lock: filelock.BaseFileLock, timeout: float) -> Iterator[bool]:
    """Yield whether the lock was acquired within ``timeout`` seconds; release it afterwards."""
    try:
        lock.acquire(timeout=timeout)
    except filelock.Timeout:
        yield False
        return
    try:
        yield True
    finally:
        lock.release()


def clean_stale_partials(folders: Iterable[Path]) -> list[Path]:
    """Delete temp files a killed process left in ``folders``, unless a live process holds their lock."""
    removed: list[Path] = []
    for folder in sorted(set(folders)):
        if not folder.is_dir():
            continue
        for entry in sorted(folder.iterdir()):
            match = PARTIAL_NAME.match(entry.name)
            if not match or not entry.is_file():
                continue
            with try_lock(stem_lock(folder, match["stem"]), timeout=0) as free:
                if free:
                    entry.unlink(missing_ok=True)
                    removed.append(entry)
    return removed
