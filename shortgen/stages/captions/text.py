"""Caption text → tokens that can be wrapped, coloured per word and ordered for display.

A *token* is the smallest piece a line may not be broken inside: a word in scripts that use spaces, one
character (plus glued punctuation) in Chinese and Japanese. Each token is split into *parts* by the font
that draws them. Lines are put in display order token by token: inside a token Pillow's text engine
(libraqm) shapes and orders right-to-left text; across tokens :func:`visual_order` applies the reordering
step of the Unicode bidi algorithm at token granularity.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, replace

import regex

from shortgen.captions_io import Cue
from shortgen.stages.captions.fonts import Face, FontSet

# Kinsoku (JIS X 4051): a line may not start with these (closing brackets, small kana, full stops)...
NO_BREAK_BEFORE = frozenset("、。，．・：；？！゛゜ヽヾゝゞ々〻ー）］｝〕〉》」』】〙〗〟’”｠»ぁぃぅぇぉっゃゅょゎゕゖ"
                            "ァィゥェォッャュョヮヵヶ…‥,.!?:;)]}%")
# ...nor end with these (opening brackets).
NO_BREAK_AFTER = frozenset("（［｛〔〈《「『【〘〖〝‘“｟«([{")
CLUSTER = regex.compile(r"\X")


@dataclass(frozen=True)
class Unit:
    """A word of the cue as the timing knows it; ``index`` is its position for highlighting."""

    text: str
    index: int
    space_before: bool
    break_before: bool = False


@dataclass(frozen=True)
class Part:
    text: str
    word: int
    face: Face | None


@dataclass(frozen=True)
class Token:
    parts: tuple[Part, ...]
    space_before: bool
    break_before: bool
    direction: str  # "ltr", "rtl" or "neutral"
    rtl_paragraph: bool = False

    @property
    def text(self) -> str:
        return "".join(p.text for p in self.parts)

    @property
    def words(self) -> set[int]:
        return {p.word for p in self.parts}


def clusters(text: str) -> list[str]:
    """User-perceived characters (grapheme clusters): a base with its marks, a whole emoji sequence."""
    return CLUSTER.findall(text)


def is_cjk_cluster(cluster: str) -> bool:
    """Wide characters (Han, kana, Hangul, fullwidth forms, emoji): a line may break on either side."""
    return unicodedata.east_asian_width(cluster[0]) in ("W", "F")


def strong_direction(text: str) -> str:
    for char in text:
        kind = unicodedata.bidirectional(char)
        if kind == "L":
            return "ltr"
        if kind in ("R", "AL"):
            return "rtl"
    return "neutral"


# --- cue → units → tokens ------------------------------------------------------------------------------------
def cue_units(cue: Cue) -> list[Unit]:
    """The cue's words in order. Word timings (JSON) define the words; otherwise whitespace does."""
    units: list[Unit] = []
    if cue.words:
        previous = ""
        for index, word in enumerate(cue.words):
            for k, piece in enumerate(word.text.split()):
                joined = bool(previous) and k == 0 and is_cjk_cluster(previous[-1]) and is_cjk_cluster(piece[0])
                units.append(Unit(piece, index, space_before=bool(previous) and not joined))
                previous = piece
        return units
    index = 0
    for line_number, line in enumerate(cue.text.split("\n")):
        for k, piece in enumerate(line.split()):
            units.append(Unit(piece, index, space_before=k > 0, break_before=k == 0 and line_number > 0))
            index += 1
    return units


def _split_unit(unit: Unit) -> list[list[str]]:
    """Group a word's clusters into unbreakable pieces (one piece unless the word has CJK characters)."""
    pieces: list[list[str]] = []
    for cluster in clusters(unit.text):
        breakable = pieces and (is_cjk_cluster(cluster) or is_cjk_cluster(pieces[-1][-1]))
        glued = cluster[0] in NO_BREAK_BEFORE or (pieces and pieces[-1][-1][-1] in NO_BREAK_AFTER)
        if breakable and not glued:
            pieces.append([cluster])
        elif pieces:
            pieces[-1].append(cluster)
        else:
            pieces.append([cluster])
    return pieces


def _parts(piece: Sequence[str], word: int, fonts: FontSet) -> tuple[Part, ...]:
    parts: list[Part] = []
    for cluster in piece:
        face = fonts.face_for(cluster)
        if parts and parts[-1].face is face:
            parts[-1] = replace(parts[-1], text=parts[-1].text + cluster)
        else:
            parts.append(Part(cluster, word, face))
    return tuple(parts)


def tokenize(units: Sequence[Unit], fonts: FontSet) -> list[Token]:
    """Tokens for the units, with closing punctuation glued to what precedes it (no line starts with it)."""
    tokens: list[Token] = []
    for unit in units:
        for k, piece in enumerate(_split_unit(unit)):
            parts = _parts(piece, unit.index, fonts)
            space = unit.space_before and k == 0
            hard = unit.break_before and k == 0
            if tokens and not space and not hard and piece[0][0] in NO_BREAK_BEFORE:
                last = tokens[-1]
                tokens[-1] = replace(last, parts=last.parts + parts, direction=_merge_dir(last.direction, parts))
                continue
            tokens.append(Token(parts, space, hard, strong_direction("".join(piece))))
    return _mark_paragraphs(tokens)


def _merge_dir(direction: str, parts: tuple[Part, ...]) -> str:
    return direction if direction != "neutral" else strong_direction("".join(p.text for p in parts))


def _mark_paragraphs(tokens: list[Token]) -> list[Token]:
    """Each hard-break paragraph takes the direction of its first strong character."""
    marked: list[Token] = []
    start = 0
    for end in [*(i for i, t in enumerate(tokens) if t.break_before and i), len(tokens)]:
        paragraph = tokens[start:end]
        rtl = next((t.direction for t in paragraph if t.direction != "neutral"), "ltr") == "rtl"
        marked.extend(replace(t, rtl_paragraph=rtl) for t in paragraph)
        start = end
    return marked


def split_token(token: Token, pieces: Sequence[Sequence[str]]) -> list[Token]:
    """Break an over-long token at cluster boundaries into ``pieces`` (given as cluster lists)."""
    flat = [(cluster, part) for part in token.parts for cluster in clusters(part.text)]
    out: list[Token] = []
    at = 0
    for n, piece in enumerate(pieces):
        chunk = flat[at:at + len(piece)]
        at += len(piece)
        parts: list[Part] = []
        for cluster, part in chunk:
            if parts and parts[-1].face is part.face and parts[-1].word == part.word:
                parts[-1] = replace(parts[-1], text=parts[-1].text + cluster)
            else:
                parts.append(Part(cluster, part.word, part.face))
        out.append(replace(token, parts=tuple(parts), space_before=token.space_before and n == 0,
                           break_before=token.break_before and n == 0))
    return out


# --- display order -------------------------------------------------------------------------------------------
def visual_order(line: Sequence[Token]) -> list[int]:
    """Indices of one line's tokens, left to right: bidi levels per token, then rule L2's reversals."""
    if not line:
        return []
    base = 1 if line[0].rtl_paragraph else 0
    strong = [t.direction for t in line]
    levels = []
    for i, direction in enumerate(strong):
        if direction == "neutral":
            before = next((d for d in reversed(strong[:i]) if d != "neutral"), None)
            after = next((d for d in strong[i + 1:] if d != "neutral"), None)
            direction = before if before is not None and before == after else ("rtl" if base else "ltr")
        levels.append(_level(direction, base))
    order = list(range(len(line)))
    for level in range(max(levels), 0, -1):
        i = 0
        while i < len(order):
            if levels[order[i]] >= level:
                j = i
                while j < len(order) and levels[order[j]] >= level:
                    j += 1
                order[i:j] = reversed(order[i:j])
                i = j
            else:
                i += 1
    return order


def _level(direction: str, base: int) -> int:
    if direction == "rtl":
        return 1
    return 2 if base == 1 else 0
