"""``shortgen models``: model utilities (the tiny offline model)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from shortgen.cli import options as o
from shortgen.cli.errors import report_errors
from shortgen.cli.output import Output, styled

app = typer.Typer(help="Model utilities.", no_args_is_help=True)


@app.command("tiny")
@report_errors
def tiny(
    folder: Annotated[Path, typer.Argument(help="Folder to write the pipeline into.")],
    seed: Annotated[int, typer.Option("--seed", min=0, help="Seed for the random weights.")] = 0,
    overwrite: o.Overwrite = False,
    json: o.Json = False,
) -> None:
    """Build a tiny random-weight LTX pipeline offline (makes noise; for smoke tests and CI)."""
    from shortgen.backends.tiny import build_tiny_ltx

    out = Output(json_mode=json)
    path = build_tiny_ltx(folder, seed=seed, overwrite=overwrite)
    out.info(styled("wrote", "bold green", f" tiny LTX pipeline (random weights) to {path}"))
    out.info(f'try: shortgen make "test" --model {path} --gen-size 288x512 --duration 10 -o smoke.mp4')
    out.result({"path": str(path), "seed": seed})
