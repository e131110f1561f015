"""Errors a user can act on.

Every error shortgen raises on purpose is a :class:`ShortgenError`: one line saying what is wrong and
what to do. The CLI maps ``exit_code`` to the process exit status (2 for usage errors, 1 for failures).
"""

from __future__ import annotations


class ShortgenError(Exception):
    """A failure with a message meant for the user. Exit code 1."""

    exit_code = 1

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return f"{self.message} ({self.hint})" if self.hint else self.message


class UsageError(ShortgenError):
    """Bad input from the user: a flag, a file, a value out of range. Exit code 2."""

    exit_code = 2


class ConfigError(UsageError):
    """A preset or job file that does not validate."""


class ModelError(ShortgenError):
    """A model that cannot be found, loaded or run."""


class MediaError(ShortgenError):
    """A video, image, audio or caption file that cannot be read or written."""


class OutputExistsError(UsageError):
    """The output path exists and ``overwrite`` was not given."""


class Terminated(KeyboardInterrupt):
    """The process was asked to stop by a signal (SIGTERM from a CI runner's timeout, SIGHUP from a closed
    terminal). A ``KeyboardInterrupt``, so every cleanup that handles Ctrl-C handles it too; the CLI exits
    ``128 + signal number`` (143, 129) as shells and CI runners expect."""

    def __init__(self, signum: int, name: str) -> None:
        super().__init__(name)
        self.signum = signum
        self.name = name

    @property
    def exit_code(self) -> int:
        return 128 + self.signum


_first_stop: list[Terminated] = []  # the first signal that asked this process to stop (at most one entry)


def record_stop(err: Terminated) -> Terminated:
    """Remember that a signal asked this process to stop, and return the exception to raise for it. The
    exception is raised where the main thread happens to be; :func:`check_stop` raises it again between frames
    and between jobs, so a stop is never lost if that first exception is swallowed on its way up."""
    if not _first_stop:
        _first_stop.append(err)
    return err


def check_stop() -> None:
    """Raise :class:`Terminated` again if a signal has asked this process to stop."""
    if _first_stop:
        raise Terminated(_first_stop[0].signum, _first_stop[0].name)
