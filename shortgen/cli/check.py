"""``shortgen check FILE...``: does each file meet its platform's rules? Exit 1 when any rule fails."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from shortgen.cli import options as o
from shortgen.cli.errors import report_errors
from shortgen.cli.output import Output


@report_errors
def check(
    files: Annotated[list[Path], typer.Argument(help="Video files (MP4).", show_default=False)],
    preset: Annotated[str | None, typer.Option("--preset", help="Preset whose platform rules apply (name or "
                                               ".yaml path; default: tiktok).")] = None,
    strict: Annotated[bool, typer.Option("--strict", help="Count warnings as failures.")] = False,
    json: o.Json = False,
    quiet: o.Quiet = False,
) -> None:
    """Hold each file to the preset's platform rules: one line per rule (pass / warn / fail, value, limit)."""
    from shortgen.presets import DEFAULT_PRESET, load_preset
    from shortgen.publish.check import check_file

    out = Output(json_mode=json, quiet=quiet)
    chosen = load_preset(preset or DEFAULT_PRESET)
    reports = [check_file(path, chosen) for path in files]
    failed = [r for r in reports if not r.ok or (strict and r.warnings)]
    if json:
        out.result({"ok": not failed, "preset": chosen.name, "strict": strict,
                    "files": [r.to_dict() for r in reports]})
    else:
        for report in reports:
            verdict = "FAIL" if report in failed else "ok"
            out.info(f"{report.path} ({chosen.name}): {verdict}")
            for rule in report.rules:
                if out.human:
                    out.console.print("  " + rule.line(), markup=False, highlight=False)
    if failed:
        raise typer.Exit(1)
