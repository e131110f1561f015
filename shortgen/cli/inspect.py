"""``shortgen inspect FILE``: what a platform will see in a video, and how well it loops."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from shortgen.cli import options as o
from shortgen.cli.errors import report_errors
from shortgen.cli.output import Output


@report_errors
def inspect(
    file: Annotated[Path, typer.Argument(help="A video file (MP4, MOV, WebM).", show_default=False)],
    no_seam: Annotated[bool, typer.Option("--no-seam", help="Skip the loop seam score (it decodes every frame).")]
    = False,
    no_loudness: Annotated[bool, typer.Option("--no-loudness", help="Skip the loudness measurement (it decodes "
                                              "the sound).")] = False,
    json: o.Json = False,
) -> None:
    """Show size, fps, duration, frames, codecs, bitrate, faststart, colour tags, subtitles, loudness and loop seam."""
    from shortgen.inspect import inspect_video

    out = Output(json_mode=json)
    report = inspect_video(file, seam=not no_seam, loudness=not no_loudness)
    if report.damaged_frames:
        from shortgen.media import damage_warning

        out.warn(damage_warning(file, report.damaged_frames, report.frames + report.damaged_frames,
                                done="shortgen edit replaces each by its neighbour"))
    for warning in report.warnings:
        out.warn(warning)
    if json:
        out.result(report.to_dict())
        return
    for line in describe(report.to_dict()):
        out.console.print(line, markup=False)


def describe(data: dict[str, Any]) -> list[str]:
    """The report as a few lines for people."""
    duration = f"{data['duration']:.2f} s" if data["duration"] is not None else "unknown length"
    lines = [
        f"{data['path']}: {data['width']}x{data['height']}, {data['fps']:g} fps, {duration}, "
        f"{data['frames']} frames, {data['size_bytes'] / 1e6:.1f} MB",
        f"video: {_codec(data['codec'], data['profile'])}, {data['pix_fmt']}, {_kbps(data['video_bitrate_kbps'])}, "
        f"colour {_colour(data)}",
    ]
    for track in data["audio"]:
        lines.append(f"audio: {_codec(track['codec'], track['profile'])}, {track['sample_rate']} Hz, "
                     f"{track['layout'] or str(track['channels']) + ' channels'}, {_kbps(track['bitrate_kbps'])}"
                     + (f", {track['language']}" if track["language"] else ""))
    for track in data["subtitles"]:
        lines.append(f"subtitles: {track['codec']}" + (f" ({track['language']})" if track["language"] else ""))
    layout = "" if data["faststart"] is None else (
        f", faststart {_yes(data['faststart'])}, edit list {_yes(data['edit_list'])}")
    lines.append(f"file: {data['container']}, {_kbps(data['bitrate_kbps'])} overall{layout}")
    if data.get("loudness_lufs") is not None:
        peak = f"{data['true_peak_db']:.1f} dBTP" if data.get("true_peak_db") is not None else "unknown"
        lines.append(f"loudness: {data['loudness_lufs']:.1f} LUFS integrated, true peak {peak}")
    if data["seam_score"] is not None:
        verdict = "seamless" if data["seamless"] else "visible seam"
        lines.append(f"loop seam score: {data['seam_score']:.2f} ({verdict}; 1 is one ordinary step, <= 1.5 seamless)")
    return lines


def _codec(name: str, profile: str | None) -> str:
    return f"{name} ({profile})" if profile else name


def _kbps(value: float | None) -> str:
    return f"{value:g} kb/s" if value is not None else "bitrate unknown"


def _yes(flag: bool | None) -> str:
    return "yes" if flag else "no"


def _colour(data: dict[str, Any]) -> str:
    tags = [data["color_range"], data["color_space"], data["color_primaries"], data["color_transfer"]]
    return "/".join(tag or "unspecified" for tag in tags)
