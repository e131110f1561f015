"""Crafted files and small presets for the publish tests (check, sign, verify)."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import numpy as np
import yaml

W, H, FPS = 96, 160, 30
# A small preset whose platform rules are the built-ins' shape at test size.
PLATFORM = {"fps_min": 23, "fps_max": 60, "max_bitrate_kbps": 3000, "peak_window_seconds": 1,
            "max_keyframe_seconds": 2, "closed_gop": True, "edit_list_allowed": False,
            "audio_sample_rates": [48000]}


def publish_preset(folder: Path, name: str = "pub", **overrides: Any) -> Path:
    """96x160 at 30 fps, 1-30 s, a 3000 kb/s cap (x264 VBV 2000 + 800 / 1 s + 128 audio = 2928)."""
    data: dict[str, Any] = {
        "description": "publish test preset",
        "output": {"width": W, "height": H, "fps": FPS},
        "duration": {"default": 1, "min": 1, "max": 30},
        "generation": {"width": 96, "height": 160, "steps": 2, "segment_frames": 17, "overlap_frames": 9},
        "encoder": {"preset": "ultrafast", "max_bitrate_kbps": 2000, "bufsize_kbps": 800, "gop_seconds": 1,
                    "max_size_mb": 5},
        "platform": dict(PLATFORM),
        "safe_zone": {"left": 5, "top": 10, "right": 5, "bottom": 20},
        "captions": {"font_size": 12, "min_font_size": 8, "outline_width": 1},
    }
    for key, value in overrides.items():
        data.setdefault(key, {}).update(value) if isinstance(value, dict) else data.__setitem__(key, value)
    path = folder / f"{name}.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path


def builtin_for_tests(folder: Path, name: str, **overrides: Any) -> Path:
    """A built-in preset file with overrides (e.g. a shorter duration range), saved under ``folder``."""
    from shortgen.presets import find_preset

    data = yaml.safe_load(find_preset(name).path.read_text(encoding="utf-8"))
    data["name"] = name
    for key, value in overrides.items():
        data.setdefault(key, {}).update(value)
    path = folder / f"{name}-test.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path


def gradient_frames(n: int, width: int = W, height: int = H) -> Any:
    for i in range(n):
        frame = np.zeros((height, width, 3), np.uint8)
        frame[..., 0] = np.linspace(0, 200, width, dtype=np.uint8)[None, :]
        frame[..., 1] = (i * 5) % 200
        y = (i * 3) % (height - 12)
        frame[y:y + 12] = 255
        yield frame


def noise_frames(n: int, width: int = W, height: int = H, seed: int = 0) -> Any:
    rng = np.random.default_rng(seed)
    for _ in range(n):
        yield rng.integers(0, 256, (height, width, 3), dtype=np.uint8)


def craft(path: Path, *, seconds: float = 2.0, fps: float = FPS, size: tuple[int, int] = (W, H),
          codec: str = "libx264", pix_fmt: str = "yuv420p", x264: str = "keyint=30:min-keyint=30:scenecut=0",
          options: dict[str, str] | None = None, mux: dict[str, str] | None = None, fmt: str = "mp4",
          audio: tuple[str, int, str] | None = ("aac", 48000, "stereo"), colour: bool = True,
          frames: Any = None, times: list[float] | None = None, tone: float = 0.0) -> Path:
    """A file written with PyAV directly (not shortgen's encoder), valid under :func:`publish_preset` unless an
    argument says otherwise. ``times``: frame times in seconds (variable rate)."""
    width, height = size
    count = len(times) if times is not None else round(seconds * fps)
    mux = {"movflags": "+faststart+negative_cts_offsets", "use_editlist": "0"} if mux is None else mux
    with av.open(str(path), "w", format=fmt, options=mux) as container:
        rate = Fraction(fps).limit_denominator(1001)
        stream = container.add_stream(codec, rate=rate)
        stream.width, stream.height, stream.pix_fmt = width, height, pix_fmt
        if times is not None:
            stream.codec_context.time_base = Fraction(1, 1000)
        if codec == "libx264":
            stream.options = {"preset": "ultrafast", "crf": "23", "x264-params": x264, **(options or {})}
            if colour:
                stream.options["x264-params"] += ":colorprim=bt709:transfer=bt709:colormatrix=bt709:range=tv"
        elif options:
            stream.options = options
        audio_stream = None
        if audio is not None:
            audio_stream = container.add_stream(audio[0], rate=audio[1], layout=audio[2])
        for i, rgb in enumerate(frames if frames is not None else gradient_frames(count, width, height)):
            frame = av.VideoFrame.from_ndarray(rgb, format="rgb24")
            if times is not None:
                frame.pts, frame.time_base = round(times[i] * 1000), Fraction(1, 1000)
            else:
                frame.pts = i
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
        if audio_stream is not None:
            _write_silence(container, audio_stream, audio[1], count / fps, tone)
    return path


def _write_silence(container: Any, stream: Any, rate: int, seconds: float, tone: float = 0.0) -> None:
    """Silence, or with ``tone`` a 440 Hz sine of that amplitude (planar float formats)."""
    channels = stream.layout.nb_channels
    step = stream.codec_context.frame_size or 1024
    total = round(rate * seconds)
    fmt = stream.codec_context.format.name
    for start in range(0, total, step):
        samples = np.zeros((channels if fmt.endswith("p") else 1, step * (1 if fmt.endswith("p") else channels)),
                           dtype=np.float32 if "flt" in fmt else np.int16)
        if tone and fmt == "fltp":
            t = (start + np.arange(step)) / rate
            samples[:] = (tone * np.sin(2 * np.pi * 440 * t)).astype(np.float32)
        frame = av.AudioFrame.from_ndarray(samples, format=fmt, layout=stream.layout.name)
        frame.sample_rate, frame.pts = rate, start
        container.mux(stream.encode(frame))
    container.mux(stream.encode(None))
