"""The preview script renders one PNG per caption style (the README shows the committed copies)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "examples" / "render_caption_previews.py"


def test_preview_per_style(tmp_path: Path) -> None:
    spec = importlib.util.spec_from_file_location("render_caption_previews", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    written = module.render_previews(tmp_path)
    assert [p.name for p in written] == [f"caption-{s}.png" for s in ("clean", "box", "highlight", "pop")]
    plain = np.asarray(Image.fromarray(module.background(1080, 1920)).resize((540, 960), Image.Resampling.LANCZOS))
    for path in written:
        with Image.open(path) as image:
            assert image.size == (540, 960)
            changed = np.abs(np.asarray(image.convert("RGB"), dtype=int) - plain).max(axis=2) > 40
        assert changed[480:780].sum() > 2000  # the caption, near the bottom of the safe zone
        assert (ROOT / "docs" / "images" / path.name).is_file()
