"""``shortgen doctor``: what works here, and how to fix what does not."""

from __future__ import annotations

import typer

from shortgen.cli import options as o
from shortgen.cli.errors import report_errors
from shortgen.cli.output import Output, cells


@report_errors
def doctor(json: o.Json = False) -> None:
    """Report device, versions, encoders and cached models, each problem with a fix."""
    from shortgen.doctor import checks_to_dict, run_checks

    out = Output(json_mode=json)
    checks = run_checks()
    if json:
        out.result(checks_to_dict(checks))
    else:
        from rich.table import Table

        table = Table("check", "status", "detail", "fix", box=None)
        for c in checks:
            table.add_row(*cells(c.name, "ok" if c.ok else "FAIL", c.detail, c.fix))
        out.console.print(table)
    if not all(c.ok for c in checks):
        raise typer.Exit(1)
