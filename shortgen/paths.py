"""Files the user gives: one-line errors that name the path, whatever the operating system says.

A missing file, a directory where a file belongs, bytes that are not UTF-8 and every ``OSError``
(ENAMETOOLONG, ENOTDIR, EACCES, ENOSPC...) become a :class:`UsageError` / :class:`ShortgenError` naming
the path, never an "unexpected OSError".
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

from shortgen.errors import ShortgenError, UsageError

# What to do about an OS error, by errno; the message itself is the OS's own wording.
_HINTS = {
    errno.ENOENT: "check the path",
    errno.ENOTDIR: "a part of the path is a file, not a folder",
    errno.EISDIR: "give a file, not a folder",
    errno.ENAMETOOLONG: "use a shorter name",
    errno.EACCES: "check the file's permissions",
    errno.EPERM: "check the file's permissions",
    errno.EROFS: "write somewhere writable",
    errno.ENOSPC: "free some disk space or write elsewhere",
    errno.EDQUOT: "free some disk space or write elsewhere",
    errno.ELOOP: "the path has a symbolic link loop",
}
# Errors about the path the user gave (exit 2), not about the machine failing (a full disk, I/O: exit 1).
_USAGE_ERRNOS = {errno.ENOENT, errno.ENOTDIR, errno.EISDIR, errno.ENAMETOOLONG, errno.ELOOP, errno.EACCES,
                 errno.EPERM, errno.EROFS}


def os_error(err: OSError, path: Path | str | None = None) -> ShortgenError:
    """``err`` as one line naming the path: ``cannot use clip.mp4: No space left on device (free ...)``."""
    where = path if path is not None else (err.filename or "a file")
    reason = err.strerror or type(err).__name__
    kind = UsageError if err.errno in _USAGE_ERRNOS else ShortgenError
    return kind(f"cannot use {where}: {reason}", _HINTS.get(err.errno or 0))


def check_input_file(path: Path, what: str = "file", hint: str = "check the path") -> None:
    """A readable regular file (or fifo / device a user points at on purpose), else one line saying why."""
    label = f"{what} {path}" if what else str(path)
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        raise UsageError(f"{label} does not exist", hint) from None
    except OSError as err:
        raise os_error(err, path) from None
    if stat.S_ISDIR(mode):
        raise UsageError(f"{label} is a directory", "give a file")
    if not os.access(path, os.R_OK):
        raise UsageError(f"{label} is not readable", "check the file's permissions")


def read_text_file(path: Path, what: str = "file", hint: str = "check the path") -> str:
    """The file's text; "not UTF-8 text" for other bytes, "is a directory", an OS error naming the path."""
    check_input_file(path, what, hint)
    try:
        data = path.read_bytes()
    except OSError as err:
        raise os_error(err, path) from None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        label = f"{what} {path}" if what else str(path)
        raise UsageError(f"{label} is not UTF-8 text (byte {err.start + 1})", "save it as UTF-8") from None


__all__ = ["check_input_file", "os_error", "read_text_file"]
