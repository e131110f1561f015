"""One object that knows how to talk to the user: human / json / quiet, on stderr, with or without colour.

Human output and progress go to stderr, so stdout carries only the ``--json`` result. Bars are drawn
only when stderr is a terminal; elsewhere (CI logs, pipes) each finished task is one plain line.
"""

from __future__ import annotations

import json
import os
import sys
import time
from typing import TYPE_CHECKING, Any

from rich.console import Console

from shortgen.progress import Progress

if TYPE_CHECKING:
    from rich.progress import Progress as RichBars
    from rich.progress import TaskID
    from rich.text import Text


def _colour_allowed() -> bool:
    return "NO_COLOR" not in os.environ and sys.stderr.isatty()


class Output:
    def __init__(self, *, json_mode: bool = False, quiet: bool = False) -> None:
        self.json_mode = json_mode
        self.quiet = quiet
        self.console = Console(stderr=True, no_color=not _colour_allowed(),
                               highlight=False, soft_wrap=True)

    @property
    def human(self) -> bool:
        return not self.json_mode and not self.quiet

    # Messages are printed literally: file names, prompts and captions are user text, and "holiday [final].mp4"
    # must not lose its brackets to Rich markup. Styling is given as rich Text (see ``styled``), never markup.
    def info(self, message: str | Text) -> None:
        if self.human:
            self.console.print(message, markup=False)

    def warn(self, message: str) -> None:
        if not self.quiet:
            self.console.print(self._labelled("warning:", "yellow", message), markup=False)

    def error(self, message: str) -> None:
        self.console.print(self._labelled("error:", "bold red", message), markup=False)

    @staticmethod
    def _labelled(label: str, style: str, message: str) -> str | Text:
        return styled(label, style, f" {message}") if _colour_allowed() else f"{label} {message}"

    def result(self, data: dict[str, Any]) -> None:
        """The one machine-readable line on stdout, in JSON mode."""
        if self.json_mode:
            sys.stdout.write(json.dumps(data, default=str) + "\n")
            sys.stdout.flush()

    def progress(self) -> CliProgress:
        return CliProgress(self)


def styled(lead: str, style: str, rest: str = "") -> Text:
    """``lead`` in ``style`` followed by ``rest``, both literal text."""
    from rich.text import Text

    return Text.assemble((lead, style), rest)


def cells(*values: object) -> list[Text]:
    """Table cells as literal text (a Table reads plain strings as markup)."""
    from rich.text import Text

    return [Text(str(value)) for value in values]


class CliProgress(Progress):
    """Rich bars with ETA on a terminal; one line per finished task otherwise; nothing when quiet."""

    def __init__(self, output: Output) -> None:
        self.output = output
        self.live = output.human and output.console.is_terminal
        self._bars = self._make_bars() if self.live else None
        self._tasks: dict[str, TaskID] = {}
        self._started: dict[str, tuple[str, float]] = {}

    def _make_bars(self) -> RichBars:
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )
        from rich.progress import Progress as RichBars

        return RichBars(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                        TimeRemainingColumn(), console=self.output.console, transient=False)

    def __enter__(self) -> CliProgress:
        if self._bars:
            self._bars.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._bars:
            self._bars.stop()

    def start(self, key: str, description: str, total: int | None = None) -> None:
        self._started[key] = (description, time.perf_counter())
        if self._bars:
            from rich.markup import escape

            self._tasks[key] = self._bars.add_task(escape(description), total=total)

    def advance(self, key: str, steps: int = 1) -> None:
        if self._bars and key in self._tasks:
            self._bars.advance(self._tasks[key], steps)

    def finish(self, key: str) -> None:
        description, started = self._started.pop(key, (key, time.perf_counter()))
        if self._bars and key in self._tasks:
            task = self._tasks.pop(key)
            total = next(t.total for t in self._bars.tasks if t.id == task)
            self._bars.update(task, completed=total if total is not None else 1, total=total or 1)
        elif self.output.human:
            self.output.console.print(f"{description}: done in {time.perf_counter() - started:.1f} s", markup=False)

    def warn(self, message: str) -> None:
        self.output.warn(message)

    def fail(self, key: str, message: str) -> None:
        """One warning line that says the task failed (never "done"); its bar, if any, stops where it was."""
        description, started = self._started.pop(key, (key, time.perf_counter()))
        if self._bars and key in self._tasks:
            self._bars.update(self._tasks.pop(key), description=f"{description}: failed")
        self.output.warn(f"{description}: failed after {time.perf_counter() - started:.1f} s: {message}")
