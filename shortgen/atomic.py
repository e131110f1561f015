"""Outputs that appear only when complete: write to a temp file beside the target, then rename."""

from __future__ import annotations

import contextlib
import os
import secrets
from collections.abc import Iterator
from pathlib import Path

from shortgen.errors import OutputExistsError, UsageError

PARTIAL_MARK = ".partial-"


def check_output_path(path: Path, overwrite: bool) -> None:
    """Fail early (before any expensive work) if ``path`` cannot or must not be written."""
    if path.exists() and not overwrite:
        raise OutputExistsError(f"{path} already exists", "pass --overwrite to replace it")
    if path.is_dir():
        raise UsageError(f"{path} is a directory", "give a file name such as clip.mp4")
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise UsageError(f"output folder {folder} does not exist", "create it first")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise UsageError(f"output folder {folder} is not writable", "choose another -o path")


def partial_path(path: Path) -> Path:
    """A hidden sibling temp name that keeps the suffix (muxers pick the format from it)."""
    return path.with_name(f".{path.stem}{PARTIAL_MARK}{secrets.token_hex(4)}{path.suffix}")


@contextlib.contextmanager
def atomic_output(path: Path, *, overwrite: bool) -> Iterator[Path]:
    """Yield a temp path; on success rename it over ``path``, on any failure (Ctrl-C too) delete it."""
    check_output_path(path, overwrite)
    tmp = partial_path(path)
    try:
        yield tmp
        if not overwrite and path.exists():
            raise OutputExistsError(f"{path} appeared while rendering", "pass --overwrite to replace it")
        os.replace(tmp, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()


def write_text_atomic(path: Path, text: str, *, overwrite: bool = True) -> None:
    with atomic_output(path, overwrite=overwrite) as tmp:
        tmp.write_text(text, encoding="utf-8")
