"""Per-output locks and the sweep of what killed runs left behind.

A job's lock is a hidden file beside its output, ``.NAME.shortgen-lock``, locked with ``flock`` (released by the
kernel when a process dies, so kill -9 leaves no stale lock) and deleted when released, so that a finished batch
leaves only the files the user asked for. Deleting a lock file races with a process that opened it just before:
that process then holds a lock on a file no longer in the folder while a third process creates and locks a new
one. :meth:`OutputLock.acquire` closes the race by checking, once locked, that the path still names the file it
locked, and starting over when it does not.

Where ``fcntl`` is missing (Windows), :mod:`filelock`'s lock is used; it deletes its file on release too.
"""

from __future__ import annotations

import contextlib
import os
import re
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import filelock

from shortgen.atomic import PARTIAL_MARK

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

LOCK_SUFFIX = ".shortgen-lock"
OLD_LOCK_DIR = ".shortgen-locks"  # where versions before 0.2 kept lock files; swept when found
# A job waits this long for its lock: long enough to ride out another process's brief stale-file sweep.
LOCK_WAIT_SECONDS = 2.0
POLL_SECONDS = 0.05
PARTIAL_NAME = re.compile(rf"^\.(?P<stem>.+){re.escape(PARTIAL_MARK)}[0-9a-f]{{8}}\.[A-Za-z0-9]+$")
LOCK_NAME = re.compile(rf"^\.(?P<stem>.+){re.escape(LOCK_SUFFIX)}$")


class OutputLock:
    """An exclusive lock on a lock file that exists only while it is held (see the module docstring)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd: int | None = None

    @property
    def is_locked(self) -> bool:
        return self._fd is not None

    def acquire(self, timeout: float = -1) -> None:
        """Block until locked; with ``timeout >= 0`` give up after that many seconds (:class:`filelock.Timeout`)."""
        deadline = time.monotonic() + timeout
        while True:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)
                if timeout >= 0 and time.monotonic() >= deadline:
                    raise filelock.Timeout(str(self.path)) from None
                time.sleep(POLL_SECONDS)
                continue
            if self._names(fd):
                self._fd = fd
                return
            os.close(fd)  # the holder before us deleted this file after we opened it: lock the current one

    def _names(self, fd: int) -> bool:
        try:
            on_path = os.stat(self.path)
        except FileNotFoundError:
            return False
        held = os.fstat(fd)
        return (on_path.st_dev, on_path.st_ino) == (held.st_dev, held.st_ino)

    def release(self) -> None:
        if self._fd is None:
            return
        fd, self._fd = self._fd, None
        try:
            with contextlib.suppress(FileNotFoundError):
                self.path.unlink()  # while still locked: whoever locks this file next sees it is gone
        finally:
            os.close(fd)  # closing the last descriptor drops the flock

    def __enter__(self) -> OutputLock:
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


def output_lock(output: Path) -> Any:
    """The lock guarding ``output`` and its sidecar."""
    return stem_lock(output.parent, output.stem)


def stem_lock(folder: Path, stem: str) -> Any:
    path = folder / f".{stem}{LOCK_SUFFIX}"
    if fcntl is None:  # pragma: no cover - Windows
        return filelock.FileLock(str(path), is_singleton=False)
    folder.mkdir(parents=True, exist_ok=True)
    return OutputLock(path)


@contextlib.contextmanager
def try_lock(lock: Any, timeout: float) -> Iterator[bool]:
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
    """Delete temp files and lock files a killed process left in ``folders``, unless a live process holds their
    lock. Returns the temp files removed."""
    removed: list[Path] = []
    for folder in sorted(set(folders)):
        if not folder.is_dir():
            continue
        for entry in sorted(folder.iterdir()):
            partial, lock = PARTIAL_NAME.match(entry.name), LOCK_NAME.match(entry.name)
            if not (partial or lock) or not entry.is_file():
                continue
            stem = (partial or lock)["stem"]  # type: ignore[index]
            with try_lock(stem_lock(folder, stem), timeout=0) as free:  # releasing deletes a stale lock file
                if free and partial:
                    entry.unlink(missing_ok=True)
                    removed.append(entry)
        _sweep_old_lock_dir(folder / OLD_LOCK_DIR)
    return removed


def clean_partials_of(output: Path) -> None:
    """Delete temp files of ``output`` (the caller holds its lock, so any there were left by a dead process)."""
    with contextlib.suppress(OSError):
        for entry in output.parent.iterdir():
            match = PARTIAL_NAME.match(entry.name)
            if match and match["stem"] == output.stem and entry.is_file():
                entry.unlink(missing_ok=True)


def _sweep_old_lock_dir(folder: Path) -> None:
    if not folder.is_dir() or folder.is_symlink():
        return
    for entry in folder.glob("*.lock"):
        with try_lock(filelock.FileLock(str(entry), is_singleton=False), timeout=0) as free:
            if free:
                entry.unlink(missing_ok=True)
    with contextlib.suppress(OSError):
        folder.rmdir()  # only when empty: a lock another (older) process holds stays
