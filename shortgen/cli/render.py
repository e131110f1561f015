"""How results and plans look for people (stderr) and scripts (one JSON line on stdout)."""

from __future__ import annotations

from typing import Any

from shortgen.cli.output import Output, cells, styled


def print_plan(out: Output, plan: dict[str, Any]) -> None:
    if out.json_mode:
        out.result({"dry_run": True, **plan})
        return
    out.info(styled("Plan", "bold", f" for {plan['output']}: {plan['duration']:g} s at {plan['fps']} fps = "
                                    f"{plan['frames']} frames, {plan['output_size']} from {plan['generation_size']}"))
    out.info(f"model {plan['model']} ({plan['backend']}), {plan['steps']} steps, seed {plan['seed']}, "
             f"preset {plan['preset']}")
    speed = [name.replace("_", "-") if value is True else f"{name.replace('_', '-')} {value}"
             for name, value in plan.get("speed", {}).items() if value]
    out.info(f"device {plan['device']}, dtype {plan['dtype']}" + (f"; {', '.join(speed)}" if speed else ""))
    from rich.table import Table

    table = Table("segment", "frames", "overlap", "starts at", "prompt", box=None)
    for seg in plan["segments"]:
        table.add_row(*cells(seg["index"] + 1, seg["num_frames"], seg["overlap"], seg["start"], seg["prompt"]))
    if out.human:
        out.console.print(table)


def print_result(out: Output, result: dict[str, Any]) -> None:
    if out.json_mode:
        out.result(result)
        return
    size_mb = result["size_bytes"] / 1e6
    out.info(styled("wrote", "bold green", f" {result['output']}: {result['width']}x{result['height']}, "
                                           f"{result['duration']:.2f} s, {result['frames']} frames, {size_mb:.1f} MB"))
    timings = ", ".join(f"{k} {v:.1f} s" for k, v in result["timings"].items())
    out.info(f"timings: {timings}")
    if result.get("sidecar"):
        out.info(f"metadata: {result['sidecar']}")
