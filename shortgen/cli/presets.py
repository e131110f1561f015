"""``shortgen presets list|show``."""

from __future__ import annotations

from typing import Annotated

import typer

from shortgen.cli import options as o
from shortgen.cli.errors import report_errors
from shortgen.cli.output import Output, cells

app = typer.Typer(help="List and show presets (platform settings).", no_args_is_help=True)


@app.command("list")
@report_errors
def list_presets(json: o.Json = False) -> None:
    """List presets: built-in ones and those in your user folder."""
    from shortgen.presets import available_presets, load_preset, user_presets_dir

    out = Output(json_mode=json)
    rows = []
    for source in available_presets():
        preset = load_preset(str(source.path))
        rows.append({"name": source.name, "origin": source.origin, "path": str(source.path),
                     "size": f"{preset.output.width}x{preset.output.height}", "fps": preset.output.fps,
                     "description": preset.description})
    if json:
        out.result({"presets": rows, "user_dir": str(user_presets_dir())})
        return
    from rich.table import Table

    table = Table("name", "origin", "size", "fps", "description", box=None)
    for row in rows:
        table.add_row(*cells(row["name"], row["origin"], row["size"], row["fps"], row["description"]))
    out.console.print(table)
    out.info(f"user presets folder: {user_presets_dir()}")


@app.command("show")
@report_errors
def show_preset(name: Annotated[str, typer.Argument(help="Preset name or .yaml path.")], json: o.Json = False) -> None:
    """Show every setting of a preset, defaults filled in."""
    from shortgen.config import as_dict
    from shortgen.presets import load_preset

    out = Output(json_mode=json)
    data = as_dict(load_preset(name))
    if json:
        out.result(data)
        return
    import yaml

    out.console.print(yaml.safe_dump(data, sort_keys=False, allow_unicode=True).rstrip(), markup=False)
