"""The README's fit pictures: committed, small, and made by examples/render_fit_previews.py."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "examples" / "render_fit_previews.py"
NAMES = ["fit-source.png", "fit-crop.png", "fit-pad.png", "fit-blur.png", "fit-track.png"]


def coat_pixels(path: Path) -> int:
    """Pixels of the walking figure's red coat."""
    with Image.open(path) as image:
        rgb = np.asarray(image.convert("RGB"), dtype=int)
    return int(((rgb[..., 0] > 160) & (rgb[..., 1] < 90) & (rgb[..., 2] < 100)).sum())


def test_the_readme_pictures_are_committed_and_small() -> None:
    for name in NAMES:
        path = ROOT / "docs" / "images" / name
        assert path.is_file() and path.stat().st_size < 100_000


@pytest.mark.slow
def test_the_script_renders_one_picture_per_fit(tmp_path: Path) -> None:
    spec = importlib.util.spec_from_file_location("render_fit_previews", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    written = module.render_previews(tmp_path)
    assert [p.name for p in written] == NAMES
    for path in written[1:]:
        with Image.open(path) as image:
            assert image.size == (270, 480)
    assert coat_pixels(tmp_path / "fit-crop.png") == 0  # the centre crop loses the figure...
    for fit in ("pad", "blur", "track"):  # ...the other fits keep it
        assert coat_pixels(tmp_path / f"fit-{fit}.png") > 100
    assert coat_pixels(tmp_path / "fit-track.png") > 4 * coat_pixels(tmp_path / "fit-pad.png")  # and large
