"""Caption layout and drawing: any text, every style and preset, stays inside the safe zone; pixels change
only inside the caption's box; the right cue and word show at the right time."""

from __future__ import annotations

import functools
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from shortgen.captions_io import Cue, Word, caption_cue
from shortgen.config import CaptionSpec, SafeZone, replace
from shortgen.errors import UsageError
from shortgen.frames import Clip
from shortgen.presets import load_preset
from shortgen.stages import build_stage
from shortgen.stages.captions import CaptionBurner, CaptionStage
from shortgen.stages.captions.fonts import FontSet
from shortgen.stages.captions.render import CaptionRenderer, Zone
from shortgen.stages.captions.text import cue_units, tokenize, visual_order
from shortgen.stages.captions.timeline import Timeline

STYLES = ("clean", "box", "highlight", "pop")
PRESETS = ("tiktok", "reels", "shorts")


load_fonts = functools.cache(FontSet.load)


@pytest.fixture
def fonts() -> FontSet:
    return load_fonts()


# Text a caption may meet: any Unicode, plus pieces that stress layout (CJK, RTL, emoji sequences,
# combining marks, a 300-character word, empty lines).
PIECES = st.sampled_from([
    "東京の夜", "「こんにちは」。", "مرحبا بالعالم", "שלום", "\U0001F469\u200d\U0001F469\u200d\U0001F467", "🇯🇵", "☕",
    "e\u0301\u0301", "x" * 300, "\n\n", " ", "Ünïcödé", "123", "\u200d", "ﷺ", "ᄀᄀᄀ", "नमस्ते", "สวัสดี",
])
CAPTION_TEXT = st.lists(st.one_of(st.text(min_size=1, max_size=40), PIECES), min_size=1, max_size=8).map("".join)


def _layout_box(text: str, style: str, preset_name: str) -> tuple[Zone, list]:
    try:
        cue = caption_cue(text, 2.0)
    except UsageError:  # control characters, empty text: rejected before layout (tested elsewhere)
        assume(False)
    preset = load_preset(preset_name)
    spec = replace(preset.captions, style=style)
    zone = Zone.inside(preset.safe_zone, preset.output.width, preset.output.height)
    burner = CaptionBurner([cue], spec, zone, load_fonts(), 30.0)
    sprites = [burner.sprite(seg.key)[0] for seg in burner.timeline.segments]
    return zone, sprites


@pytest.mark.parametrize("preset_name", PRESETS)
@pytest.mark.parametrize("style", STYLES)
@settings(max_examples=15, deadline=None)
@given(text=CAPTION_TEXT)
def test_any_text_lays_out_inside_the_safe_zone(style: str, preset_name: str, text: str) -> None:
    zone, sprites = _layout_box(text, style, preset_name)
    for sprite in sprites:
        if sprite.width:
            left, top, right, bottom = sprite.box
            assert zone.left <= left and right <= zone.right, (sprite.box, zone)
            assert zone.top <= top and bottom <= zone.bottom, (sprite.box, zone)


def test_a_long_word_is_broken_not_cut(fonts: FontSet) -> None:
    spec = CaptionSpec(font_size=72, min_font_size=28)
    zone = Zone(65, 270, 920, 1250)
    renderer = CaptionRenderer(fonts, spec, zone)
    layout = renderer.fit(tokenize(cue_units(Cue(0, 1, "W" * 120)), fonts))
    assert layout.size == 28 and len(layout.lines) > 1
    assert "".join(t.text for line in layout.lines for t in line) == "W" * 120


def test_cjk_lines_break_between_characters_but_not_before_closing_punctuation(fonts: FontSet) -> None:
    text = "今日はとても良い天気ですね。「東京」、大阪、京都、そして名古屋へ行きました。" * 2
    spec = CaptionSpec(font_size=90, min_font_size=90, max_lines=12)
    renderer = CaptionRenderer(fonts, spec, Zone(65, 270, 920, 1650))
    layout = renderer.fit(tokenize(cue_units(Cue(0, 1, text)), fonts))
    assert len(layout.lines) > 2
    for line in layout.lines[1:]:
        assert line[0].text[0] not in "。、」』）"
    assert "".join(t.text for line in layout.lines for t in line) == text


def test_right_to_left_words_are_ordered_right_to_left(fonts: FontSet) -> None:
    tokens = tokenize(cue_units(Cue(0, 1, "שלום עולם hello world")), fonts)
    order = [tokens[i].text for i in visual_order(tokens)]
    assert order == ["hello", "world", "עולם", "שלום"]


def test_emoji_use_the_colour_font_and_cjk_the_fallback(fonts: FontSet) -> None:
    tokens = tokenize(cue_units(Cue(0, 1, "東京の夜 🌃")), fonts)
    faces = {part.text: part.face.name for token in tokens for part in token.parts}
    assert faces["🌃"] == "NotoColorEmoji.ttf"
    assert faces["東"] == "DroidSansFallbackFull.ttf"


def _clip(width: int = 360, height: int = 640, frames: int = 30) -> Clip:
    base = np.zeros((height, width, 3), np.uint8)
    base[..., 0] = np.linspace(0, 255, width, dtype=np.uint8)[None, :]
    base[..., 2] = 60
    return Clip(width, height, Fraction(30), frames, (base.copy() for _ in range(frames)))


SMALL_ZONE = SafeZone(left=22, top=90, right=53, bottom=223)
SMALL_SPEC = CaptionSpec(font_size=28, min_font_size=10)


def test_stage_changes_pixels_only_inside_the_caption_box() -> None:
    stage = build_stage({"key": "captions", "text": "Hello ☕ world", "spec": SMALL_SPEC, "safe_zone": SMALL_ZONE})
    plain = next(iter(_clip()))
    out = stage.apply(_clip())
    burner_box = None
    for frame in out.frames:
        changed = np.argwhere(np.any(frame != plain, axis=2))
        assert len(changed) > 500
        top, left = changed.min(axis=0)
        bottom, right = changed.max(axis=0)
        burner_box = (left, top, right, bottom)
        assert left >= 22 and right < 360 - 53 and top >= 90 and bottom < 640 - 223
    assert burner_box is not None


def test_highlight_colours_the_spoken_word_at_its_time(fonts: FontSet) -> None:
    spec = replace(SMALL_SPEC, style="highlight", accent_color="#FF0000", color="#FFFFFF")
    words = (Word("one", 0.0, 0.4), Word("two", 0.4, 0.7), Word("three", 0.7, 1.0))
    cue = Cue(0.0, 1.0, "one two three", words)
    zone = Zone.inside(SMALL_ZONE, 360, 640)
    burner = CaptionBurner([cue], spec, zone, fonts, 30.0)
    for index, expected in ((3, 0), (15, 1), (25, 2)):
        frame = burner.frame_at(np.zeros((640, 360, 3), np.uint8), index)
        red = (frame[..., 0] > 200) & (frame[..., 1] < 60) & (frame[..., 2] < 60)
        ys, xs = np.nonzero(red)
        sprite = burner.sprite(burner.timeline.state_at(index / 30))[0]
        x0, y0, x1, y1 = sprite.word_boxes[expected]
        assert len(xs) > 20
        assert x0 - 1 <= xs.min() and xs.max() <= x1 + 1 and y0 - 1 <= ys.min() and ys.max() <= y1 + 1


def test_each_cue_shows_in_its_own_time(fonts: FontSet) -> None:
    zone = Zone.inside(SMALL_ZONE, 360, 640)
    burner = CaptionBurner([Cue(0.0, 0.5, "I"), Cue(0.5, 1.0, "WWWWWWWW")], SMALL_SPEC, zone, fonts, 30.0)
    widths = []
    for index in (5, 20):
        frame = burner.frame_at(np.zeros((640, 360, 3), np.uint8), index)
        xs = np.nonzero(np.any(frame > 0, axis=(0, 2)))[0]
        widths.append(xs.max() - xs.min())
    assert widths[0] < widths[1] / 3


def test_pop_shows_at_most_three_words_and_scales_in() -> None:
    timeline = Timeline([Cue(0.0, 3.0, "one two three four five. six")], "pop", 30.0)
    chunks = {seg.key.focus for seg in timeline.segments}
    assert chunks == {0, 1, 2}
    assert timeline.state_at(0.0).step == 0 and timeline.state_at(1.9).step == -1


def test_stage_warns_about_trimmed_cues_and_rejects_all_late(tmp_path) -> None:
    subs = tmp_path / "s.srt"
    subs.write_text("1\n00:00:00,000 --> 00:00:05,000\nlong\n\n2\n00:00:09,000 --> 00:00:10,000\nlate\n")
    stage = CaptionStage(file=str(subs), spec=SMALL_SPEC, safe_zone=SMALL_ZONE)
    out = stage.apply(_clip())
    assert any("1 cue(s) trimmed, 1 cue(s) after the end dropped" in w for w in out.info["warnings"])
    late = tmp_path / "late.srt"
    late.write_text("1\n00:00:09,000 --> 00:00:10,000\nlate\n")
    with pytest.raises(UsageError, match=r"every cue in late\.srt starts after the clip ends"):
        CaptionStage(file=str(late), spec=SMALL_SPEC, safe_zone=SMALL_ZONE).apply(_clip())


@pytest.mark.parametrize(("spec", "message"), [
    ({"key": "captions", "text": "a", "file": "x.srt"}, "not both"),
    ({"key": "captions", "text": ""}, "the caption is empty"),
    ({"key": "captions", "text": "a", "spec": {"style": "wavy"}}, "'style' is 'wavy'"),
    ({"key": "captions", "text": "a", "spec": {"position": "left"}}, "'position' is 'left'"),
    ({"key": "captions", "text": "a", "spec": {"font": "/nonexistent/font.ttf"}}, "does not exist"),
    ({"key": "captions", "text": "a", "subtitles": "hard"}, "unknown subtitles mode"),
])
def test_bad_stage_specs(spec: dict, message: str) -> None:
    with pytest.raises(UsageError, match=message):
        build_stage(spec)
