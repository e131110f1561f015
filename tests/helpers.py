"""Helpers shared by tests: synthetic clips, decoding, MP4 box order."""

from __future__ import annotations

import struct
from collections.abc import Iterable, Iterator
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import numpy as np

from shortgen.frames import Clip


def moving_square_frames(n: int, width: int, height: int, *, seed: int = 0) -> Iterator[np.ndarray]:
    """A bright square sweeping across a gradient: strong motion, easy to track."""
    yy, xx = np.mgrid[0:height, 0:width]
    base = np.stack([xx * 80 // max(1, width - 1) + seed, yy * 80 // max(1, height - 1), np.full_like(xx, 40)],
                    axis=-1).astype(np.uint8)
    size = max(4, min(width, height) // 5)
    for i in range(n):
        frame = base.copy()
        x = int((width - size) * i / max(1, n - 1))
        y = (height - size) // 2
        frame[y:y + size, x:x + size] = (255, 220, 40)
        yield frame


def synthetic_clip(n: int = 30, width: int = 96, height: int = 160, fps: int = 10) -> Clip:
    return Clip(width, height, Fraction(fps), n, moving_square_frames(n, width, height))


def write_test_video(path: Path, n: int = 30, width: int = 96, height: int = 160, fps: int = 10,
                     audio: bool = False, frames: Iterable[np.ndarray] | None = None, crf: int = 10) -> Path:
    """A small H.264 file written directly with PyAV (independent of shortgen's encoder): ``frames`` (default:
    a moving square), with a 440 Hz tone when ``audio``."""
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=fps)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        stream.options = {"crf": str(crf), "preset": "ultrafast"}
        audio_stream = container.add_stream("aac", rate=48000, layout="stereo") if audio else None
        source = moving_square_frames(n, width, height) if frames is None else frames
        for i, rgb in enumerate(source):
            frame = av.VideoFrame.from_ndarray(rgb, format="rgb24")
            frame.pts = i
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
        if audio_stream is not None:
            samples = round(48000 * n / fps)
            t = np.arange(samples, dtype=np.float32) / 48000
            tone = (0.2 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)
            for start in range(0, samples, 1024):
                chunk = np.ascontiguousarray(np.stack([tone[start:start + 1024]] * 2))
                af = av.AudioFrame.from_ndarray(chunk, format="fltp", layout="stereo")
                af.sample_rate, af.pts = 48000, start
                container.mux(audio_stream.encode(af))
            container.mux(audio_stream.encode(None))
    return path


def decode_frames(path: Path) -> list[np.ndarray]:
    with av.open(str(path)) as container:
        return [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]


def probe(path: Path) -> dict[str, Any]:
    with av.open(str(path)) as container:
        video = container.streams.video[0]
        ctx = video.codec_context
        info: dict[str, Any] = {
            "codec": ctx.name, "profile": ctx.profile, "pix_fmt": ctx.pix_fmt or video.format.name,
            "width": ctx.width, "height": ctx.height, "fps": video.average_rate,
            "frames": sum(1 for _ in container.decode(video=0)),
            "audio": [(s.codec_context.name, s.rate, s.channels) for s in container.streams.audio],
            "subtitles": [s.codec_context.name for s in container.streams.subtitles],
            "colorspace": int(ctx.colorspace), "color_primaries": int(ctx.color_primaries),
        }
    return info


def top_level_boxes(path: Path) -> list[str]:
    """The MP4's top-level box types in file order."""
    boxes, data = [], path.read_bytes()
    offset = 0
    while offset + 8 <= len(data):
        size, kind = struct.unpack(">I4s", data[offset:offset + 8])
        if size == 1:
            size = struct.unpack(">Q", data[offset + 8:offset + 16])[0]
        boxes.append(kind.decode("latin-1"))
        if size < 8:
            break
        offset += size
    return boxes


def small_preset(folder: Path, name: str = "tiny", **overrides: Any) -> Path:
    """A fast preset for tests: 180x320 output at 10 fps, 1-30 s, generation 96x160."""
    import yaml

    data: dict[str, Any] = {
        "description": "test preset",
        "output": {"width": 180, "height": 320, "fps": 10},
        "duration": {"default": 2, "min": 1, "max": 30},
        "generation": {"width": 96, "height": 160, "steps": 2, "segment_frames": 17, "overlap_frames": 9},
        "encoder": {"preset": "ultrafast"},
        "safe_zone": {"left": 10, "top": 25, "right": 15, "bottom": 60},
        "captions": {"font_size": 18, "min_font_size": 8, "outline_width": 2},
        # 10 fps keeps tests fast but is below every platform's range: the platform check would warn on each
        # clip, so test presets accept any rate (tests/test_check.py holds clips to the real ranges).
        "platform": {"fps_min": 1},
    }
    for key, value in overrides.items():
        data.setdefault(key, {}).update(value) if isinstance(value, dict) else data.__setitem__(key, value)
    path = folder / f"{name}.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path
