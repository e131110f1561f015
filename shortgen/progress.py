"""How the library reports progress and warnings without knowing about terminals.

The core calls a :class:`Progress`; the CLI passes one that draws Rich bars on stderr, Python callers
pass nothing (silent) or their own subclass.
"""

from __future__ import annotations


class Progress:
    """Silent progress sink. Subclass and override what you want to see."""

    def start(self, key: str, description: str, total: int | None = None) -> None:
        """A task begins; ``total`` is its number of steps when known."""

    def advance(self, key: str, steps: int = 1) -> None:
        """``steps`` more steps of ``key`` are done."""

    def finish(self, key: str) -> None:
        """``key`` is complete."""

    def warn(self, message: str) -> None:
        """Something the user should know that does not stop the run."""

    def fail(self, key: str, message: str) -> None:
        """``key`` ended with an error (instead of :meth:`finish`); ``message`` says why."""
        self.warn(message)


class RecordingProgress(Progress):
    """Keeps every event; useful in tests and for callers that want a log."""

    def __init__(self) -> None:
        self.events: list[tuple[str, ...]] = []
        self.warnings: list[str] = []

    def start(self, key: str, description: str, total: int | None = None) -> None:
        self.events.append(("start", key, description, str(total)))

    def advance(self, key: str, steps: int = 1) -> None:
        self.events.append(("advance", key, str(steps)))

    def finish(self, key: str) -> None:
        self.events.append(("finish", key))

    def warn(self, message: str) -> None:
        self.warnings.append(message)

    def fail(self, key: str, message: str) -> None:
        self.events.append(("fail", key, message))
        self.warnings.append(message)
