"""Outputs that appear only when complete: write to a temp file beside the target, then rename.

Nothing a user owns is replaced without ``overwrite``, and even then only a regular file: never a folder, a
device node (``/dev/null`` as root), a fifo, or a symbolic link to one of those. A clip and the files that go
with it (sidecar, ``.srt``) are staged together (:class:`StagedOutputs`) and appear together, or not at all.
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import stat
from collections.abc import Iterator
from pathlib import Path

from shortgen.errors import OutputExistsError, UsageError
from shortgen.paths import os_error

PARTIAL_MARK = ".partial-"
VIDEO_SUFFIXES = (".mp4",)  # the container encode_clip writes; a player trusts the name
_PARTIAL_EXTRA = len(".") + len(PARTIAL_MARK) + 8  # what partial_path adds to a name
_PARTIAL_STEM = re.compile(rf"\.(?P<stem>.+){re.escape(PARTIAL_MARK)}[0-9a-f]{{8}}")


def _existing(path: Path) -> os.stat_result | None:
    """The stat of what ``path`` names (following a link); None when nothing is there. A dangling link counts
    as something there (replacing it would replace the user's link)."""
    try:
        return path.stat()
    except FileNotFoundError:
        return path.lstat() if path.is_symlink() else None
    except OSError as err:  # ENAMETOOLONG, ENOTDIR (a folder part is a file), ELOOP, EACCES
        raise os_error(err, path) from None


def check_output_path(path: Path, overwrite: bool) -> None:
    """Fail early (before any expensive work) if ``path`` cannot or must not be written."""
    found = _existing(path)
    if found is not None and not overwrite:
        raise OutputExistsError(f"{path} already exists", "pass --overwrite to replace it")
    if found is not None and stat.S_ISDIR(found.st_mode):
        raise UsageError(f"{path} is a directory", "give a file name such as clip.mp4")
    if found is not None and not stat.S_ISREG(found.st_mode):
        raise UsageError(f"{path} is not a regular file; --overwrite replaces only regular files",
                         "choose another -o path")
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        if folder.exists() or _existing(folder) is not None:
            raise UsageError(f"output folder {folder} is not a folder", "choose another -o path")
        raise UsageError(f"output folder {folder} does not exist", "create it first")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise UsageError(f"output folder {folder} is not writable", "choose another -o path")
    if len(os.fsencode(path.name)) + _PARTIAL_EXTRA > _name_max(folder):
        raise UsageError(f"the file name {path.name[:40]}... is too long for the file system", "use a shorter name")


def _name_max(folder: Path) -> int:
    try:
        return os.pathconf(folder, "PC_NAME_MAX")
    except (OSError, ValueError, AttributeError):
        return 255


def check_video_suffix(path: Path) -> None:
    """The clip is an MP4 whatever its name says; a name that says otherwise is refused, not honoured."""
    if path.suffix.lower() not in VIDEO_SUFFIXES:
        raise UsageError(f"shortgen writes MP4 video, not '{path.suffix or path.name}'",
                         f"name the output {path.stem or 'clip'}.mp4")


def partial_path(path: Path) -> Path:
    """A hidden sibling temp name that keeps the suffix (muxers pick the format from it). The temp of a temp
    (a staged clip the encoder writes atomically) is another temp of the same target, not a longer name."""
    match = _PARTIAL_STEM.fullmatch(path.stem)
    stem = match["stem"] if match else path.stem
    return path.with_name(f".{stem}{PARTIAL_MARK}{secrets.token_hex(4)}{path.suffix}")


def _place(tmp: Path, path: Path, overwrite: bool) -> None:
    """Rename ``tmp`` to ``path``. Without ``overwrite`` a hard link does it, which fails rather than replace
    a file that appeared meanwhile; file systems without hard links fall back to a checked rename."""
    if overwrite:
        check_output_path(path, overwrite=True)  # still a regular file (or nothing) just before replacing it
        os.replace(tmp, path)
        return
    try:
        os.link(tmp, path)
    except FileExistsError:
        raise OutputExistsError(f"{path} appeared while rendering", "pass --overwrite to replace it") from None
    except OSError:
        if os.path.lexists(path):
            raise OutputExistsError(f"{path} appeared while rendering", "pass --overwrite to replace it") from None
        os.replace(tmp, path)
        return
    tmp.unlink()


@contextlib.contextmanager
def atomic_output(path: Path, *, overwrite: bool) -> Iterator[Path]:
    """Yield a temp path; on success rename it over ``path``, on any failure (Ctrl-C too) delete it."""
    check_output_path(path, overwrite)
    tmp = partial_path(path)
    try:
        yield tmp
        _place(tmp, path, overwrite)
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()


class StagedOutputs:
    """Files written to temp names, then renamed into place together by :meth:`commit` (the first one added
    last). Whatever fails before or during the commit, none of them is left at its path, nor any temp file."""

    def __init__(self, overwrite: bool) -> None:
        self.overwrite = overwrite
        self._files: list[tuple[Path, Path]] = []

    def add(self, path: Path) -> Path:
        """The temp path to write ``path``'s content to."""
        check_output_path(path, self.overwrite)
        tmp = partial_path(path)
        self._files.append((tmp, path))
        return tmp

    def commit(self) -> None:
        placed: list[Path] = []
        try:
            for tmp, path in reversed(self._files):
                _place(tmp, path, self.overwrite)
                placed.append(path)
        except BaseException:
            for path in placed:
                with contextlib.suppress(OSError):
                    path.unlink()
            raise

    def discard(self) -> None:
        for tmp, _ in self._files:
            with contextlib.suppress(OSError):
                tmp.unlink()


@contextlib.contextmanager
def staged_outputs(*, overwrite: bool) -> Iterator[StagedOutputs]:
    """A :class:`StagedOutputs`; the caller commits when every file is written, temp files go either way."""
    staged = StagedOutputs(overwrite)
    try:
        yield staged
    finally:
        staged.discard()


def write_text_atomic(path: Path, text: str, *, overwrite: bool = True) -> None:
    with atomic_output(path, overwrite=overwrite) as tmp:
        write_text(tmp, text, shown_as=path)


def write_text(path: Path, text: str, *, shown_as: Path | None = None) -> None:
    """Write UTF-8 text; an OS error (disk full...) is one line naming ``shown_as``."""
    try:
        path.write_text(text, encoding="utf-8")
    except OSError as err:
        raise os_error(err, shown_as or path) from None
