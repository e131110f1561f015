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
from shortgen.errors import ShortgenError, Terminated, record_stop
from shortgen.paths import os_error

EXIT_INTERRUPTED = 130
STOP_SIGNALS = ("SIGTERM", "SIGHUP")  # handled like Ctrl-C: temp files removed, one line, exit 128 + number


def install_signal_handlers() -> None:
    """Turn SIGTERM and SIGHUP into :class:`Terminated` in the main thread, so they unwind like Ctrl-C.
    A second signal while cleaning up is ignored: the first one's cleanup finishes."""
    import signal

    def stop(signum: int, frame: object) -> None:
        for name in STOP_SIGNALS:
            if hasattr(signal, name):
                signal.signal(getattr(signal, name), signal.SIG_IGN)
        raise record_stop(Terminated(signum, signal.Signals(signum).name))

    for name in STOP_SIGNALS:
        if hasattr(signal, name):  # no SIGHUP on Windows
            signal.signal(getattr(signal, name), stop)


def is_interrupt_exit(code: object) -> bool:
    """An exit status that means "stopped by Ctrl-C or a signal"."""
    import signal

    return code == EXIT_INTERRUPTED or code in {128 + getattr(signal, name) for name in STOP_SIGNALS
                                                if hasattr(signal, name)}
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
        except Terminated as err:
            Output().error(f"stopped by {err.name}; no output was written")
            raise typer.Exit(err.exit_code) from None
        except KeyboardInterrupt:
            Output().error("interrupted; no output was written")
            raise typer.Exit(EXIT_INTERRUPTED) from None
        except OSError as err:  # one that no library call turned into a ShortgenError: name its path
            if debug_enabled():
                raise
            translated = os_error(err)
            Output().error(str(translated))
            raise typer.Exit(translated.exit_code) from None
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
