"""The ``shortgen`` command: assembles one module per command. Imports no torch or diffusers."""

from __future__ import annotations

import os
import sys
from typing import Any

import click
import typer
from typer.core import TyperGroup

from shortgen.cli import batch, doctor, edit, inspect, make, models, presets
from shortgen.cli.errors import install_signal_handlers, is_interrupt_exit
from shortgen.cli.output import Output


class OneLineErrors(TyperGroup):
    """Usage errors (bad flag, bad value) as one line on stderr with exit code 2, not a boxed panel."""

    def main(self, args: Any = None, prog_name: str | None = None, complete_var: str | None = None,
             standalone_mode: bool = True, **extra: Any) -> Any:
        try:
            result = super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        except click.ClickException as err:
            ctx = getattr(err, "ctx", None)
            if isinstance(err, click.exceptions.NoArgsIsHelpError):  # Typer has printed the help already
                return 0 if not standalone_mode else sys.exit(0)
            hint = f" (see '{ctx.command_path} --help')" if ctx is not None else ""
            Output().error(err.format_message() + hint)
            result = err.exit_code
        except click.exceptions.Abort:
            Output().error("aborted")
            result = 1
        if not standalone_mode:
            return result
        sys.exit(result if isinstance(result, int) else 0)


def _group(name: str, help_text: str) -> typer.Typer:
    return typer.Typer(name=name, help=help_text, cls=OneLineErrors, no_args_is_help=True,
                       pretty_exceptions_enable=False, add_completion=False,
                       context_settings={"help_option_names": ["-h", "--help"]})


app = _group("shortgen", "Prompt → finished vertical social clip (TikTok, Reels, Shorts).")
app.command("make")(make.make)
app.command("edit")(edit.edit)
app.command("doctor")(doctor.doctor)
app.command("inspect")(inspect.inspect)
app.command("batch", cls=batch.BatchCommand)(batch.batch)
app.add_typer(presets.app, name="presets")
app.add_typer(models.app, name="models")


def main() -> None:
    install_signal_handlers()
    try:
        app(prog_name="shortgen")
    except SystemExit as done:
        if is_interrupt_exit(done.code):
            # The library has already removed its temp files. A model call may still be running in the
            # prefetch thread; exiting without interpreter finalization keeps torch from aborting under it.
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(int(done.code))  # type: ignore[arg-type]
        raise
