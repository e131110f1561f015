"""Fonts shipped with shortgen (see README.md here for their licences); the caption stage loads them."""

from __future__ import annotations

from pathlib import Path

FONTS_DIR = Path(__file__).resolve().parent
DEFAULT_FONT = "NotoSans-Bold.ttf"


def default_font_path() -> Path:
    """The bold display font captions use unless ``--font`` says otherwise."""
    return FONTS_DIR / DEFAULT_FONT
