"""One table from exceptions to a one-line message and an exit code.

Known errors print one line; anything unexpected prints one line too, unless ``SHORTGEN_DEBUG=1``
asks for the traceback. Ctrl-C exits 130 (after the library has removed its temp files).
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from typing import Any, TypeVar

import typer

from shortgen.cli.output import Output
from shortgen.errors import ShortgenError

EXIT_INTERRUPTED = 130
F = TypeVar("F", bound=Callable[..., Any])


def debug_enabled() -> bool:
    return os.environ.get("SHORTGEN_DEBUG", "") not in ("", "0")


def _one_line(err: BaseException) -> str:
    text = str(err).strip().splitlines()
    return text[0] if text else type(err).__name__


def report_errors(func: F) -> F:
    """Wrap a command so every failure ends as one line on stderr and a meaningful exit code."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except (typer.Exit, typer.Abort):
            raise
        except ShortgenError as err:
            if debug_enabled():
                raise
            Output().error(str(err))
            raise typer.Exit(err.exit_code) from None
        except KeyboardInterrupt:
            Output().error("interrupted; no output was written")
            raise typer.Exit(EXIT_INTERRUPTED) from None
        except MemoryError:
            Output().error("out of memory; try --low-memory, a smaller --gen-size or a shorter --duration")
            raise typer.Exit(1) from None
        except Exception as err:
            if debug_enabled():
                raise
            Output().error(f"unexpected {type(err).__name__}: {_one_line(err)} "
                           "(set SHORTGEN_DEBUG=1 for the traceback)")
            raise typer.Exit(1) from None

    return wrapper  # type: ignore[return-value]
