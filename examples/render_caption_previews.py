"""Render one preview frame per caption style into docs/images/ (the README shows them).

    python examples/render_caption_previews.py [FOLDER]

Each image is a 1080x1920 TikTok-preset frame, captioned exactly as ``shortgen edit`` would caption it,
saved at half size. The dashed rectangle marks the preset's caption safe zone.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from shortgen.captions_io import Cue, Word
from shortgen.config import replace
from shortgen.presets import load_preset
from shortgen.stages.captions import CaptionBurner
from shortgen.stages.captions.fonts import FontSet
from shortgen.stages.captions.render import Zone

STYLES = {
    "clean": Cue(0.0, 2.0, "How to pour a rosetta ☕"),
    "box": Cue(0.0, 2.0, "東京の夜 🌃 Tokyo at night"),
    "highlight": Cue(0.0, 2.0, "Steam the milk until it looks glossy",
                     tuple(Word(w, i * 0.25, i * 0.25 + 0.25) for i, w in enumerate(
                         ["Steam", "the", "milk", "until", "it", "looks", "glossy"]))),
    "pop": Cue(0.0, 2.0, "pour slowly, then wiggle"),
}
PREVIEW_SECONDS = {"clean": 1.0, "box": 1.0, "highlight": 0.6, "pop": 1.0}


def background(width: int, height: int) -> np.ndarray:
    """A warm vertical gradient with soft stripes, standing in for a generated frame."""
    y = np.linspace(0, 1, height, dtype=np.float32)[:, None]
    x = np.linspace(0, 1, width, dtype=np.float32)[None, :]
    red = 60 + 150 * y + 20 * np.sin(12 * x)
    green = 40 + 90 * (1 - y) + 15 * np.sin(9 * (x + y))
    blue = 90 + 100 * x * (1 - y)
    return np.clip(np.stack(np.broadcast_arrays(red, green, blue), axis=-1), 0, 255).astype(np.uint8)


def render_previews(folder: Path, preset_name: str = "tiktok") -> list[Path]:
    preset = load_preset(preset_name)
    width, height = preset.output.width, preset.output.height
    zone = Zone.inside(preset.safe_zone, width, height)
    fonts = FontSet.load()
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for style, cue in STYLES.items():
        spec = replace(preset.captions, style=style)
        burner = CaptionBurner([cue], spec, zone, fonts, float(preset.output.fps))
        index = round(PREVIEW_SECONDS[style] * preset.output.fps)
        frame = burner.frame_at(background(width, height), index)
        image = Image.fromarray(frame)
        ImageDraw.Draw(image).rectangle((zone.left, zone.top, zone.right - 1, zone.bottom - 1),
                                        outline=(255, 255, 255), width=2)
        path = folder / f"caption-{style}.png"
        image.resize((width // 2, height // 2), Image.Resampling.LANCZOS).save(path, optimize=True)
        written.append(path)
    return written


if __name__ == "__main__":
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).resolve().parents[1] / "docs" / "images"
    for written_path in render_previews(target):
        print(written_path)
