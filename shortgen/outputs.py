"""Every file one clip writes (the MP4, its ``.json`` sidecar, its ``.srt``), checked before any work.

Names that would collide (``-o clip.json`` is its own sidecar's name), an extension we do not write, and
any of them already existing without ``overwrite`` are refused here, before a model loads or a frame is
decoded, so a long run never ends by refusing to save, or by replacing what the user had.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from shortgen.atomic import check_output_path, check_video_suffix
from shortgen.errors import UsageError
from shortgen.metadata import sidecar_path
from shortgen.subtitles import check_srt_path, srt_path


@dataclass(frozen=True)
class ClipOutputs:
    clip: Path
    sidecar: Path | None
    srt: Path | None


def writes_srt(subtitles: str | None, has_captions: bool) -> bool:
    return has_captions and subtitles in ("soft", "both")


def check_clip_outputs(output: Path, *, overwrite: bool, sidecar: bool, srt: bool,
                       captions_file: str | Path | None = None) -> ClipOutputs:
    """Raise :class:`UsageError` unless ``output`` and its companion files may all be written."""
    if sidecar and sidecar_path(output) == output:
        raise UsageError(f"-o {output} is the name of the clip's own sidecar", f"name the clip {output.stem}.mp4")
    if srt and srt_path(output) == output:
        raise UsageError(f"-o {output} is the name of the clip's own subtitles file",
                         f"name the clip {output.stem}.mp4")
    check_video_suffix(output)
    check_output_path(output, overwrite)
    side = sidecar_path(output) if sidecar else None
    if side is not None:
        check_output_path(side, overwrite)
    subs = check_srt_path(output, overwrite, captions_file) if srt else None
    return ClipOutputs(output, side, subs)


__all__ = ["ClipOutputs", "check_clip_outputs", "writes_srt"]
