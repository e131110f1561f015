"""Lay caption tokens out inside the safe zone and draw one caption state into a small RGBA sprite.

Fitting: text is wrapped by measured pixel width and shrunk, step by step, from the style's size to its
minimum until it fits ``max_lines`` lines inside the zone. If that fails (a word wider than the zone), words
may also break between characters; then, at the minimum size, more lines are allowed; as a last resort the
text shrinks below the minimum size. Every candidate that passes the
measurements is drawn and its real ink box (outline, shadow and box included) checked against the zone, so
a caption is never clipped and never leaves the zone.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from shortgen.config import CaptionSpec, SafeZone
from shortgen.errors import UsageError
from shortgen.stages.captions.fonts import EMOJI_STRIKE, Face, FontSet
from shortgen.stages.captions.text import Part, Token, clusters, split_token, visual_order

if TYPE_CHECKING:
    from PIL import Image, ImageDraw

    from shortgen.overlay import Overlay

LINE_PITCH = 1.22  # line spacing, in font sizes
SIZE_STEP = 0.92  # each shrink step keeps this fraction of the size
SMALLEST_SIZE = 4
SHADOW_OPACITY = 0.55


@dataclass(frozen=True)
class Zone:
    """The caption area in frame pixels; ``right`` and ``bottom`` are exclusive."""

    left: int
    top: int
    right: int
    bottom: int

    @property
    def width(self) -> int:
        return self.right - self.left

    @property
    def height(self) -> int:
        return self.bottom - self.top

    @classmethod
    def inside(cls, margins: SafeZone, width: int, height: int) -> Zone:
        zone = cls(margins.left, margins.top, width - margins.right, height - margins.bottom)
        if zone.width < 16 or zone.height < 16:
            raise UsageError(f"the caption safe zone leaves no room in a {width}x{height} frame",
                             "reduce the preset's safe_zone margins")
        return zone


def rgba(color: str, opacity: float = 1.0) -> tuple[int, int, int, int]:
    """``#RRGGBB`` or ``#RRGGBBAA`` (validated by CaptionSpec) as an RGBA tuple, times ``opacity``."""
    value = color.lstrip("#")
    alpha = int(value[6:8], 16) if len(value) == 8 else 255
    return int(value[0:2], 16), int(value[2:4], 16), int(value[4:6], 16), round(alpha * opacity)


@dataclass
class Layout:
    """Lines of tokens (logical order) at one font size; the crop box is fixed by the first drawing."""

    size: int
    lines: list[list[Token]]
    below_minimum: bool = False
    crop: tuple[int, int, int, int] | None = None
    base: Sprite | None = None


@dataclass(frozen=True)
class Sprite:
    """One drawn caption state (straight-alpha RGBA), placed in the frame; ``word_boxes`` in frame pixels."""

    x: int
    y: int
    image: Image.Image
    word_boxes: dict[int, tuple[int, int, int, int]] = field(default_factory=dict)

    @property
    def width(self) -> int:
        return self.image.width

    @property
    def height(self) -> int:
        return self.image.height

    @property
    def box(self) -> tuple[int, int, int, int]:
        """(left, top, right, bottom) in the frame, right and bottom exclusive."""
        return self.x, self.y, self.x + self.width, self.y + self.height

    def overlay(self) -> Overlay | None:
        """The sprite prepared for blending (premultiplied, RGB and yuv420p planes); None when empty."""
        import numpy as np

        from shortgen.overlay import Overlay

        if not self.width or not self.height:
            return None
        return Overlay.from_rgba(np.asarray(self.image.convert("RGBA")), self.x, self.y)


class CaptionRenderer:
    """Fits and draws caption text for one style, font set and zone."""

    def __init__(self, fonts: FontSet, spec: CaptionSpec, zone: Zone) -> None:
        from PIL import features

        self.fonts = fonts
        self.spec = spec
        self.zone = zone
        self.raqm = features.check("raqm")
        self._widths: dict[tuple[str, str, int], float] = {}

    # --- sizes of decorations ------------------------------------------------------------------------
    def outline(self, size: int) -> int:
        if self.spec.style == "box" or self.spec.outline_width == 0:
            return 0
        return max(1, round(self.spec.outline_width * size / self.spec.font_size))

    def shadow(self, size: int) -> tuple[int, int]:
        """(offset, blur radius) of the drop shadow; (0, 0) without one."""
        if not self.spec.shadow or self.spec.style == "box":
            return 0, 0
        return max(1, round(size * 0.05)), max(1, round(size * 0.06))

    def box_padding(self, size: int) -> tuple[int, int]:
        return (round(size * 0.3), round(size * 0.12)) if self.spec.style == "box" else (0, 0)

    def pitch(self, size: int) -> int:
        return max(1, round(size * LINE_PITCH))

    def _extra(self, size: int) -> tuple[int, int]:
        offset, blur = self.shadow(size)
        pad_x, pad_y = self.box_padding(size)
        spread = 2 * self.outline(size) + offset + 4 * blur
        return spread + 2 * pad_x, spread + 2 * pad_y + round(size * 0.3)

    # --- measuring -----------------------------------------------------------------------------------
    def face(self, part: Part) -> Face:
        return part.face or self.fonts.main

    def part_width(self, part: Part, size: int) -> float:
        face = self.face(part)
        key = (part.text, face.name, size)
        if key not in self._widths:
            font = face.at(size)
            if face.emoji:
                width = font.getlength(part.text) * size / EMOJI_STRIKE
            else:
                width = font.getlength(self.display(part.text)) + 2 * round(face.embolden * size)
            self._widths[key] = width
        return self._widths[key]

    def token_width(self, token: Token, size: int) -> float:
        return sum(self.part_width(p, size) for p in token.parts)

    def space(self, size: int) -> float:
        return self.fonts.main.at(size).getlength(" ")

    def line_width(self, line: Sequence[Token], size: int) -> float:
        order = visual_order(line)
        gaps = sum(1 for a, b in itertools.pairwise(order) if line[max(a, b)].space_before)
        return sum(self.token_width(t, size) for t in line) + gaps * self.space(size)

    def display(self, text: str) -> str:
        """Without libraqm Pillow draws characters in logical order; python-bidi reorders them if present."""
        if self.raqm:
            return text
        try:
            from bidi import get_display
        except ImportError:
            return text
        return str(get_display(text))

    # --- fitting -------------------------------------------------------------------------------------
    def fit(self, tokens: Sequence[Token]) -> Layout:
        """The largest layout that fits the zone; see the module docstring for the order of attempts."""
        spec = self.spec
        minimum = min(spec.min_font_size, spec.font_size)
        attempts = [(s, False, True) for s in _sizes(spec.font_size, minimum)]
        attempts += [(s, True, True) for s in _sizes(spec.font_size, minimum)]
        attempts += [(s, True, False) for s in _sizes(minimum, SMALLEST_SIZE)]
        for size, break_long, limit_lines in attempts:
            layout = self._try(tokens, size, break_long, limit_lines)
            if layout is not None:
                layout.below_minimum = size < minimum
                return layout
        raise UsageError("a caption is too long to fit the safe zone even at the smallest size",
                         "shorten it or split it into several timed cues")

    def _try(self, tokens: Sequence[Token], size: int, break_long: bool, limit_lines: bool) -> Layout | None:
        extra_w, extra_h = self._extra(size)
        available = self.zone.width - extra_w
        if available <= 0:
            return None
        lines = self.wrap(tokens, size, available, break_long)
        if lines is None or (limit_lines and len(lines) > self.spec.max_lines):
            return None
        if len(lines) * self.pitch(size) + extra_h > self.zone.height:
            return None
        layout = Layout(size, lines)
        sprite = self.render(layout)
        if sprite.width > self.zone.width or sprite.height > self.zone.height:
            return None
        layout.base = sprite
        return layout

    def wrap(self, tokens: Sequence[Token], size: int, available: float, break_long: bool) -> list[list[Token]] | None:
        """Greedy line filling by measured width; None if a token is too wide and may not be broken."""
        space = self.space(size)
        lines: list[list[Token]] = []
        line: list[Token] = []
        width = 0.0
        for token in tokens:
            pieces = [token]
            if self.token_width(token, size) > available:
                broken = self._break(token, size, available) if break_long else None
                if broken is None:
                    return None
                pieces = broken
            for piece in pieces:
                piece_width = self.token_width(piece, size)
                gap = space if line and piece.space_before else 0.0
                if line and (piece.break_before or width + gap + piece_width > available):
                    lines.append(line)
                    line, width, gap = [], 0.0, 0.0
                line.append(piece)
                width += gap + piece_width
        if line:
            lines.append(line)
        return lines

    def _break(self, token: Token, size: int, available: float) -> list[Token] | None:
        """Split a token between grapheme clusters into pieces no wider than ``available``."""
        pieces: list[list[str]] = [[]]
        width = 0.0
        for part in token.parts:
            for cluster in clusters(part.text):
                cluster_width = self.part_width(Part(cluster, part.word, part.face), size)
                if cluster_width > available:
                    return None
                if pieces[-1] and width + cluster_width > available:
                    pieces.append([])
                    width = 0.0
                pieces[-1].append(cluster)
                width += cluster_width
        return split_token(token, pieces)

    # --- drawing -------------------------------------------------------------------------------------
    def render(self, layout: Layout, active_word: int | None = None, scale: float = 1.0) -> Sprite:
        """Draw ``layout`` with ``active_word`` in the accent colour, scaled about its centre by ``scale``."""
        if layout.base is not None and active_word is None and scale == 1.0:
            return layout.base
        image, boxes = self._draw(layout, active_word)
        if layout.crop is None:
            layout.crop = image.getchannel("A").getbbox() or (0, 0, 0, 0)
        left, top = layout.crop[:2]
        image = image.crop(layout.crop)
        x, y = self._place(image.width, image.height)
        words = {w: (x + b[0] - left, y + b[1] - top, x + b[2] - left, y + b[3] - top) for w, b in boxes.items()}
        if scale != 1.0 and image.width and image.height:
            image, x, y = _scaled(image, x, y, scale)
        return Sprite(x, y, image, words)

    def _place(self, width: int, height: int) -> tuple[int, int]:
        zone = self.zone
        x = zone.left + max(0, zone.width - width) // 2
        if self.spec.position == "top":
            return x, zone.top
        if self.spec.position == "middle":
            return x, zone.top + max(0, zone.height - height) // 2
        return x, max(zone.top, zone.bottom - height)

    def _draw(self, layout: Layout, active_word: int | None) -> tuple[Image.Image, dict[int, tuple[int, ...]]]:
        from PIL import Image, ImageDraw

        size = layout.size
        widths = [self.line_width(line, size) for line in layout.lines]
        block = math.ceil(max(widths, default=0))
        margin = sum(self._extra(size)) + size
        canvas = (block + 2 * margin, len(layout.lines) * self.pitch(size) + 2 * margin)
        layers = _Layers(Image.new("L", canvas), Image.new("RGBA", canvas), Image.new("L", canvas))
        ascent = self.fonts.main.at(size).getmetrics()[0]
        boxes: dict[int, tuple[int, ...]] = {}
        for index, (line, width) in enumerate(zip(layout.lines, widths, strict=True)):
            x = margin + (block - width) / 2
            baseline = margin + index * self.pitch(size) + ascent
            if self.spec.style == "box":
                self._box(ImageDraw.Draw(layers.box), x, baseline, width, size)
            for part, at in self._positions(line, x, size):
                color = self.spec.accent_color if part.word == active_word else self.spec.color
                box = self._part(layers, part, at, baseline, size, rgba(color))
                boxes[part.word] = _union(boxes.get(part.word), box)
        return self._compose(layers, size), boxes

    def _positions(self, line: Sequence[Token], x: float, size: int) -> Iterator[tuple[Part, float]]:
        order = visual_order(line)
        previous: int | None = None
        for index in order:
            token = line[index]
            if previous is not None and line[max(previous, index)].space_before:
                x += self.space(size)
            parts = reversed(token.parts) if token.direction == "rtl" else token.parts
            for part in parts:
                yield part, x
                x += self.part_width(part, size)
            previous = index

    def _box(self, draw: ImageDraw.ImageDraw, x: float, baseline: float, width: float, size: int) -> None:
        pad_x, pad_y = self.box_padding(size)
        top = baseline - size * 0.95 - pad_y
        bottom = baseline + size * 0.3 + pad_y
        draw.rounded_rectangle((x - pad_x, top, x + width + pad_x, bottom), radius=round(size * 0.28), fill=255)

    def _part(self, layers: _Layers, part: Part, x: float, baseline: float, size: int,
              color: tuple[int, int, int, int]) -> tuple[int, ...]:
        from PIL import ImageDraw

        face = self.face(part)
        if face.emoji:
            return self._emoji(layers, part, face, x, baseline, size)
        font = face.at(size)
        text = self.display(part.text)
        bold = round(face.embolden * size)
        options = {"font": font, "anchor": "ls"}
        if self.raqm:
            options["direction"] = "rtl" if _is_rtl(part.text) else "ltr"
        outline = self.outline(size)
        if outline:
            ImageDraw.Draw(layers.outline).text((x, baseline), text, fill=255, stroke_width=outline + bold,
                                                **options)
        ImageDraw.Draw(layers.fill).text((x, baseline), text, fill=color, stroke_width=bold, stroke_fill=color,
                                         **options)
        measure = {k: v for k, v in options.items() if k != "font"}
        left, top, right, bottom = font.getbbox(text, stroke_width=bold, **measure)
        return (round(x + left), round(baseline + top), round(x + right), round(baseline + bottom))

    def _emoji(self, layers: _Layers, part: Part, face: Face, x: float, baseline: float,
               size: int) -> tuple[int, ...]:
        from PIL import Image, ImageDraw

        font = face.at(size)
        ascent, descent = font.getmetrics()
        strike = Image.new("RGBA", (max(1, math.ceil(font.getlength(part.text))), ascent + descent))
        ImageDraw.Draw(strike).text((0, 0), part.text, font=font, embedded_color=True)
        factor = size / EMOJI_STRIKE
        target = (max(1, round(strike.width * factor)), max(1, round(strike.height * factor)))
        glyph = strike.convert("RGBa").resize(target, Image.Resampling.LANCZOS).convert("RGBA")
        top = round(baseline - ascent * factor)
        layers.fill.alpha_composite(glyph, (round(x), top))
        return (round(x), top, round(x) + target[0], top + target[1])

    def _compose(self, layers: _Layers, size: int) -> Image.Image:
        from PIL import Image, ImageFilter

        text = Image.new("RGBA", layers.fill.size)
        outline = self.outline(size)
        if outline:
            text = _solid(layers.outline, rgba(self.spec.outline_color))
        text.alpha_composite(layers.fill)
        result = Image.new("RGBA", layers.fill.size)
        offset, blur = self.shadow(size)
        if offset:
            shifted = Image.new("L", text.size)
            shifted.paste(text.getchannel("A"), (offset, offset))
            blurred = shifted.filter(ImageFilter.GaussianBlur(blur))
            result = _solid(blurred, (0, 0, 0, round(255 * SHADOW_OPACITY)))
        if self.spec.style == "box":
            result.alpha_composite(_solid(layers.box, rgba(self.spec.box_color, self.spec.box_opacity)))
        result.alpha_composite(text)
        return result


@dataclass
class _Layers:
    outline: Image.Image  # L mask of the outlined glyphs
    fill: Image.Image  # RGBA glyphs in their colours, emoji included
    box: Image.Image  # L mask of the rounded boxes


def _solid(mask: Image.Image, color: tuple[int, int, int, int]) -> Image.Image:
    from PIL import Image

    alpha = mask if color[3] == 255 else mask.point(lambda v: v * color[3] // 255)
    layer = Image.new("RGBA", mask.size, (*color[:3], 0))
    layer.putalpha(alpha)
    return layer


def _scaled(image: Image.Image, x: int, y: int, scale: float) -> tuple[Image.Image, int, int]:
    from PIL import Image

    width, height = max(1, round(image.width * scale)), max(1, round(image.height * scale))
    small = image.convert("RGBa").resize((width, height), Image.Resampling.BICUBIC).convert("RGBA")
    return small, x + (image.width - width) // 2, y + (image.height - height) // 2


def _union(a: tuple[int, ...] | None, b: tuple[int, ...]) -> tuple[int, ...]:
    if a is None:
        return b
    return min(a[0], b[0]), min(a[1], b[1]), max(a[2], b[2]), max(a[3], b[3])


def _is_rtl(text: str) -> bool:
    from shortgen.stages.captions.text import strong_direction

    return strong_direction(text) == "rtl"


def _sizes(start: int, stop: int) -> list[int]:
    """``start``, then SIZE_STEP smaller each time, down to and including ``stop``."""
    sizes = []
    size = start
    while size > stop:
        sizes.append(size)
        size = max(stop, min(size - 1, math.floor(size * SIZE_STEP)))
    sizes.append(stop)
    return sizes
