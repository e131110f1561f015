"""Reading media: videos as lazy frame streams, still images for conditioning."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from shortgen.errors import MediaError, UsageError
from shortgen.frames import AudioSpec, Clip, as_fraction

if TYPE_CHECKING:
    import numpy as np


def quiet_libav() -> None:
    """Keep FFmpeg's own log lines off stderr; failures reach the user as one-line errors instead."""
    import av.logging

    av.logging.set_level(av.logging.PANIC)


def _open(path: Path):
    import av

    if not path.is_file():
        raise UsageError(f"{path} does not exist", "check the path")
    quiet_libav()
    try:
        return av.open(str(path))
    except (av.FFmpegError, UnicodeDecodeError):
        raise MediaError(f"{path} is not a video shortgen can read", "give an MP4, MOV or WebM file") from None


def open_video(path: Path) -> Clip:
    """A clip that decodes ``path`` frame by frame when iterated, upright; its audio passes through.

    Phone videos are usually stored sideways with a rotation in their display matrix; frames are turned the
    way players (and ffmpeg's autorotate) show them, and the clip's size is the upright one."""
    with _open(path) as container:
        if not container.streams.video:
            raise MediaError(f"{path} has no video stream", "give a video file")
        stream = container.streams.video[0]
        fps = as_fraction(stream.average_rate or stream.guessed_rate or 30)
        count = stream.frames or _count_frames(path)
        has_audio = bool(container.streams.audio)
        width, height = stream.codec_context.width, stream.codec_context.height
        first = next(container.decode(stream), None)
    if count <= 0 or first is None:
        raise MediaError(f"{path} has no frames", "give a non-empty video")
    if quarter_turns(first.rotation) % 2:
        width, height = height, width
    audio = AudioSpec(path=path) if has_audio else None
    info = {"source": str(path), "rotation": first.rotation}
    return Clip(width, height, fps, count, _decode_rgb(path), audio=audio, info=info)


def quarter_turns(rotation: float) -> int:
    """Counter-clockwise quarter turns for a display-matrix rotation in degrees (90 → 1, -90 → 3)."""
    return round(rotation / 90) % 4


def _count_frames(path: Path) -> int:
    with _open(path) as container:
        return sum(1 for _ in container.demux(video=0) if _.size)


def _decode_rgb(path: Path) -> Iterator[np.ndarray]:
    import numpy as np
    from av.video.reformatter import VideoReformatter

    with _open(path) as container:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        reformatter = VideoReformatter()  # one swscale context for the stream, not one per frame
        for frame in container.decode(stream):
            rgb = reformatter.reformat(frame, format="rgb24").to_ndarray()
            turns = quarter_turns(frame.rotation)
            yield np.ascontiguousarray(np.rot90(rgb, k=turns)) if turns else rgb


def load_image(path: Path, width: int, height: int) -> np.ndarray:
    """Read a still and cover-crop it to ``width``x``height`` RGB (the model's generation size)."""
    import numpy as np
    from PIL import Image, ImageOps, UnidentifiedImageError

    if not path.is_file():
        raise UsageError(f"image {path} does not exist", "check the --image path")
    try:
        with Image.open(path) as img:
            img = ImageOps.exif_transpose(img).convert("RGB")
            fitted = ImageOps.fit(img, (width, height), method=Image.Resampling.LANCZOS)
    except (UnidentifiedImageError, OSError):
        raise UsageError(f"{path} is not an image shortgen can read", "give a PNG, JPEG or WebP file") from None
    return np.asarray(fitted, dtype=np.uint8)
