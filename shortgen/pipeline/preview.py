"""``edit --preview``: one frame of an existing video after the post stages, written as an image."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from shortgen.config import MakeOptions
from shortgen.errors import MediaError, UsageError
from shortgen.frames import as_fraction
from shortgen.pipeline.plan import build_post_stages, resolve_preset
from shortgen.progress import Progress

PREVIEW_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp")


def preview_frame(source: Path, options: MakeOptions, seconds: float, output: Path, *, overwrite: bool = False,
                  progress: Progress | None = None) -> dict[str, Any]:
    """Write the frame shown at ``seconds`` after the post stages (captions included) as an image.

    Frames stream through the stages up to the one wanted; nothing is encoded. The image appears at
    ``output`` only when complete.
    """
    from PIL import Image

    from shortgen.atomic import atomic_output, check_output_path
    from shortgen.media import open_video
    from shortgen.overlay import to_rgb

    progress = progress or Progress()
    if output.suffix.lower() not in PREVIEW_SUFFIXES:
        raise UsageError(f"--preview writes an image, not '{output.suffix or output.name}'",
                         "pass -o frame.png")
    preset = resolve_preset(options)
    stages = build_post_stages(preset, options)
    check_output_path(output, overwrite)
    clip = open_video(source, constant_fps=as_fraction(options.fps or preset.output.fps))
    for stage in stages:
        clip = stage.apply(clip)
    for message in clip.info.get("warnings", []):
        progress.warn(message)
    index = int(seconds * clip.fps + 1e-9)
    if seconds < 0 or index >= clip.num_frames:
        raise UsageError(f"--preview {seconds:g} is outside the clip (0 to {clip.duration:.2f} s)",
                         "give a time within it")
    frames = iter(clip.frames)
    try:
        frame = next(f for i, f in enumerate(frames) if i == index)
    except StopIteration:
        raise MediaError(f"{source} ended before {seconds:g} s") from None
    finally:
        close = getattr(frames, "close", None)
        if close is not None:
            close()
    with atomic_output(output, overwrite=overwrite) as tmp:
        Image.fromarray(to_rgb(frame)).save(tmp, format=Image.registered_extensions()[output.suffix.lower()])
    return {"output": str(output), "time": index / float(clip.fps), "frame": index, "width": clip.width,
            "height": clip.height, "info": {k: v for k, v in clip.info.items() if k != "soft_subtitles"}}
