"""``shortgen models``: model utilities (the tiny offline models)."""

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
    backend: Annotated[str, typer.Option("--backend", help="Which model family: ltx or ltx2.")] = "ltx",
    overwrite: o.Overwrite = False,
    json: o.Json = False,
) -> None:
    """Build a tiny random-weight LTX or LTX-2 pipeline offline (makes noise; for smoke tests and CI)."""
    out = Output(json_mode=json)
    if backend == "ltx2":
        from shortgen.backends.ltx2_tiny import build_tiny_ltx2

        path = build_tiny_ltx2(folder, seed=seed, overwrite=overwrite)
        out.info(f"[bold green]wrote[/] tiny LTX-2 pipeline (random weights, video + sound) to {path}")
        out.info(f'try: shortgen make "test" --backend ltx2 --model {path} --gen-size 64x96 --duration 10 '
                 "-o smoke.mp4")
        out.result({"path": str(path), "seed": seed, "backend": backend})
        return
    if backend != "ltx":
        from shortgen.errors import UsageError

        raise UsageError(f"no tiny model for backend '{backend}'", "use --backend ltx or ltx2")
    from shortgen.backends.tiny import build_tiny_ltx

    path = build_tiny_ltx(folder, seed=seed, overwrite=overwrite)
    out.info(styled("wrote", "bold green", f" tiny LTX pipeline (random weights) to {path}"))
    out.info(f'try: shortgen make "test" --model {path} --gen-size 288x512 --duration 10 -o smoke.mp4')
    out.result({"path": str(path), "seed": seed, "backend": backend})


@app.command("tiny-sound")
@report_errors
def tiny_sound(
    folder: Annotated[Path, typer.Argument(help="Folder to write the pipeline into.")],
    seed: Annotated[int, typer.Option("--seed", min=0, help="Seed for the random weights.")] = 0,
    overwrite: o.Overwrite = False,
    json: o.Json = False,
) -> None:
    """Build a tiny random-weight Stable Audio pipeline offline for --sound-model (makes noise; for tests)."""
    from shortgen.soundgen.tiny import build_tiny_sound

    out = Output(json_mode=json)
    path = build_tiny_sound(folder, seed=seed, overwrite=overwrite)
    out.info(f"[bold green]wrote[/] tiny text-to-audio pipeline (random weights) to {path}")
    out.info(f'try: shortgen make "test" --model TINY_LTX --sound auto --sound-model {path} -o smoke.mp4')
    out.result({"path": str(path), "seed": seed})
