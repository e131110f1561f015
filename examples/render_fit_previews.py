"""Render one picture per fit mode into docs/images/ (the README's "Reframing landscape footage" shows them).

    python examples/render_fit_previews.py [FOLDER]

The source is a synthetic 16:9 shot (1280x720, 10 fps): a figure walks along the right-hand side of a
landscape, where a centre crop cuts it off. Each fit runs through the same reframe stage as
``shortgen edit --fit ...`` into the TikTok preset's 1080x1920, and the frame at 3 s is saved at a quarter
of its size (``fit-<mode>.png``), beside the source frame (``fit-source.png``).
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from shortgen.frames import Clip
from shortgen.overlay import to_rgb
from shortgen.stages.reframe import ReframeStage

WIDTH, HEIGHT, FPS, FRAMES, SHOWN = 1280, 720, 10, 40, 30
OUT_W, OUT_H = 1080, 1920
FITS = {"crop": {}, "pad": {"pad_color": "#101010"}, "blur": {}, "track": {}}


def landscape() -> np.ndarray:
    """Sky, hills and a field: detail at every scale, no subject."""
    y = np.linspace(0, 1, HEIGHT, dtype=np.float32)[:, None]
    x = np.linspace(0, 1, WIDTH, dtype=np.float32)[None, :]
    horizon = 0.55 + 0.06 * np.sin(7 * x) + 0.03 * np.sin(23 * x)
    sky = np.stack(np.broadcast_arrays(90 + 90 * y, 150 + 70 * y, 235 - 30 * y + 0 * x), axis=-1)
    field = np.stack(np.broadcast_arrays(70 + 40 * np.sin(40 * x + 9 * y) ** 2, 120 + 50 * y, 50 + 0 * x), axis=-1)
    image = np.where((y > horizon)[..., None], field, sky)
    return np.clip(image, 0, 255).astype(np.uint8)


def frames() -> Iterator[np.ndarray]:
    """The figure walks from 60% to 90% of the width; a sun sits on the left."""
    base = Image.fromarray(landscape())
    ImageDraw.Draw(base).ellipse((120, 70, 220, 170), fill=(255, 226, 120))
    for i in range(FRAMES):
        image = base.copy()
        draw = ImageDraw.Draw(image)
        cx, feet = int(WIDTH * (0.6 + 0.3 * i / (FRAMES - 1))), 640
        swing = 18 if i % 4 < 2 else -18
        draw.line((cx, feet - 150, cx - swing, feet), fill=(40, 40, 70), width=18)  # legs
        draw.line((cx, feet - 150, cx + swing, feet), fill=(40, 40, 70), width=18)
        draw.rounded_rectangle((cx - 40, feet - 300, cx + 40, feet - 140), 20, fill=(200, 40, 50))  # coat
        draw.ellipse((cx - 34, feet - 372, cx + 34, feet - 304), fill=(236, 188, 150))  # head
        yield np.asarray(image)


def render_previews(folder: Path) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    source = folder / "fit-source.png"
    shown = next(f for i, f in enumerate(frames()) if i == SHOWN)
    small = Image.fromarray(shown).resize((WIDTH * 3 // 8, HEIGHT * 3 // 8), Image.Resampling.LANCZOS)
    small.save(source, optimize=True)
    written = [source]
    for fit, options in FITS.items():
        stage = ReframeStage(OUT_W, OUT_H, fit=fit, **options)  # type: ignore[arg-type]
        clip = stage.apply(Clip(WIDTH, HEIGHT, Fraction(FPS), FRAMES, frames()))
        frame = to_rgb(next(f for i, f in enumerate(clip.frames) if i == SHOWN))
        path = folder / f"fit-{fit}.png"
        Image.fromarray(frame).resize((OUT_W // 4, OUT_H // 4), Image.Resampling.LANCZOS).save(path, optimize=True)
        written.append(path)
    return written


if __name__ == "__main__":
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).resolve().parents[1] / "docs" / "images"
    for written_path in render_previews(target):
        print(written_path)
