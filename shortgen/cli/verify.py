"""``shortgen verify FILE``: a clip's Content Credentials and whether they validate. Exit 1 unless valid."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from shortgen.cli import options as o
from shortgen.cli.errors import report_errors
from shortgen.cli.output import Output


@report_errors
def verify(
    file: Annotated[Path, typer.Argument(help="A signed MP4.", show_default=False)],
    trust: Annotated[Path | None, typer.Option("--trust", help="PEM file of trusted root CA certificate(s).",
                                               dir_okay=False)] = None,
    json: o.Json = False,
) -> None:
    """Print the manifest's claims, the signer and the validation state (valid / trusted / invalid)."""
    from shortgen.publish.verify import describe, verify_file

    out = Output(json_mode=json)
    report = verify_file(file, trust)
    if json:
        out.result(report.to_dict())
    else:
        for line in describe(report):
            out.console.print(line, markup=False, highlight=False)
    if not report.ok:
        raise typer.Exit(1)
