"""Fonts for captions: the bundled bold display font, script fallbacks, colour emoji, and ``--font``.

Pillow draws one font per call and has no fallback of its own, so each grapheme cluster is given the first
font in the set whose character map covers it (read once per font with fontTools). The bundled fonts and
their licences live in ``shortgen/fonts`` (see its README).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from shortgen.errors import UsageError

if TYPE_CHECKING:
    from PIL import ImageFont

DEFAULT_FONT = "NotoSans-Bold.ttf"  # the same as shortgen.fonts.DEFAULT_FONT
# Script fallbacks after the main font, in order. Droid Sans Fallback covers CJK in 4 MB (a regular weight,
# drawn slightly emboldened); full Noto CJK fonts are 20 MB and more each.
FALLBACK_FONTS = ("NotoSansArabic-Bold.ttf", "NotoSansHebrew-Bold.ttf", "NotoSansDevanagari-Bold.ttf",
                  "NotoSansThai-Bold.ttf", "DroidSansFallbackFull.ttf")
EMBOLDEN = {"DroidSansFallbackFull.ttf": 0.035}  # stroke width as a fraction of the size
EMOJI_FONT = "NotoColorEmoji.ttf"
EMOJI_STRIKE = 109  # Noto Color Emoji is a bitmap font with one size; scale its glyphs from there
FONT_SUFFIXES = (".ttf", ".otf", ".ttc", ".otc")


def bundled_fonts_dir() -> Path:
    """``shortgen/fonts``, shipped as package data."""
    from shortgen.fonts import FONTS_DIR

    return FONTS_DIR


@dataclass
class Face:
    """One font file: its character map and its Pillow fonts by size."""

    path: Path
    codepoints: frozenset[int]
    emoji: bool = False
    embolden: float = 0.0
    _sizes: dict[int, ImageFont.FreeTypeFont] = field(default_factory=dict, repr=False)

    @property
    def name(self) -> str:
        return self.path.name

    def covers(self, cluster: str) -> bool:
        return all(ord(c) in self.codepoints or _ignorable(c) for c in cluster)

    def at(self, size: int) -> ImageFont.FreeTypeFont:
        """The Pillow font at ``size`` pixels (emoji: always the bitmap strike; the caller scales)."""
        from PIL import ImageFont, features

        size = EMOJI_STRIKE if self.emoji else size
        if size not in self._sizes:
            engine = ImageFont.Layout.RAQM if features.check("raqm") else ImageFont.Layout.BASIC
            self._sizes[size] = ImageFont.truetype(str(self.path), size, layout_engine=engine)
        return self._sizes[size]


def _ignorable(char: str) -> bool:
    """Joiners and selectors that ride along with their cluster and need no glyph of their own."""
    return char in "\u200c\u200d\ufe0e\ufe0f" or 0xE0020 <= ord(char) <= 0xE007F


def load_face(path: Path, *, emoji: bool = False, embolden: float = 0.0, user: bool = False) -> Face:
    """Open a font file, turning a missing or unreadable file into a one-line usage error."""
    from fontTools.ttLib import TTFont, TTLibError
    from PIL import ImageFont

    label = f"font {path}"
    if path.is_dir():
        raise UsageError(f"{label} is a directory", "pass --font with a .ttf or .otf file")
    if not path.is_file():
        raise UsageError(f"{label} does not exist", "pass --font with a .ttf or .otf file" if user else None)
    try:
        ImageFont.truetype(str(path), EMOJI_STRIKE if emoji else 24)
        number = {"fontNumber": 0} if path.suffix.lower() in (".ttc", ".otc") else {}
        with TTFont(str(path), lazy=True, **number) as font:
            cmap = font.getBestCmap() or {}
    except (OSError, TTLibError, ValueError, KeyError, AssertionError):
        raise UsageError(f"{label} is not a font shortgen can read",
                         "give a TrueType or OpenType file (.ttf, .otf)") from None
    return Face(path, frozenset(cmap), emoji=emoji, embolden=embolden)


@dataclass
class FontSet:
    """The main font, then script fallbacks, then colour emoji."""

    faces: list[Face]
    emoji: Face | None

    @classmethod
    def load(cls, font: str | Path | None = None) -> FontSet:
        """The bundled set, with ``font`` (a path, or the name of a bundled font) as the main font."""
        bundled = bundled_fonts_dir()
        main = load_face(_font_path(font, bundled), user=font is not None) if font else \
            load_face(bundled / DEFAULT_FONT)
        fallbacks = [load_face(bundled / name, embolden=EMBOLDEN.get(name, 0.0)) for name in FALLBACK_FONTS
                     if (bundled / name).is_file()]
        emoji_path = bundled / EMOJI_FONT
        emoji = load_face(emoji_path, emoji=True) if emoji_path.is_file() else None
        return cls([main, *fallbacks], emoji)

    @property
    def main(self) -> Face:
        return self.faces[0]

    def face_for(self, cluster: str) -> Face | None:
        """The face that draws ``cluster``; None when no face has it (it is drawn with the main font)."""
        if self.emoji is not None and _wants_emoji(cluster) and self.emoji.covers(cluster):
            return self.emoji
        for face in self.faces:
            if face.covers(cluster):
                return face
        if self.emoji is not None and self.emoji.covers(cluster):
            return self.emoji
        return None


def _wants_emoji(cluster: str) -> bool:
    """Pictographs, flags, keycaps and anything asking for emoji presentation (U+FE0F)."""
    return "\ufe0f" in cluster or "\u20e3" in cluster or any(ord(c) >= 0x1F000 for c in cluster)


def _font_path(font: str | Path, bundled: Path) -> Path:
    path = Path(font).expanduser()
    if not path.is_file() and (bundled / str(font)).is_file():
        return bundled / str(font)
    if path.is_file() and path.suffix.lower() not in FONT_SUFFIXES:
        raise UsageError(f"font {path} is not a .ttf, .otf or .ttc file", "pass --font with a font file")
    return path
