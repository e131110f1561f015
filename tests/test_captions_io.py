"""Reading captions: SRT, WebVTT and word-timing JSON, and every malformed input named by line or entry."""

from __future__ import annotations

from pathlib import Path

import pytest

from shortgen.captions_io import (
    Cue,
    caption_cue,
    fit_to_duration,
    load_cues,
    parse_subtitles,
    parse_word_json,
    resolve_overlaps,
    words_by_length,
)
from shortgen.errors import UsageError

SRT = "1\n00:00:01,000 --> 00:00:02,500\nHello <b>world</b>\nsecond line\n\n2\n00:00:03,000 --> 00:00:04,000\nBye\n"


def test_srt_cues_keep_lines_and_drop_tags() -> None:
    cues = parse_subtitles(SRT, "a.srt", "srt")
    assert cues == [Cue(1.0, 2.5, "Hello world\nsecond line"), Cue(3.0, 4.0, "Bye")]


def test_vtt_skips_header_notes_and_identifiers() -> None:
    text = ("WEBVTT\nKind: captions\n\nNOTE a comment\nover two lines\n\n00:01.000 --> 00:02.000 align:start\n"
            "Hi <c.loud>there</c>\n\ncue-2\n00:00:03.000 --> 00:00:04.000\n<v Bob>Yo\n")
    assert parse_subtitles(text, "a.vtt", "vtt") == [Cue(1.0, 2.0, "Hi there"), Cue(3.0, 4.0, "Yo")]


@pytest.mark.parametrize(("text", "fmt", "message"), [
    ("1\n00:00:01,000 --> 00:00:0x,500\nHello\n", "srt", "a.srt line 2: cannot read the cue timing"),
    ("hello there\nnot subtitles\n", "srt", "a.srt line 1: no cue timing found"),
    (SRT.replace("\n\n2\n", "\n\nstray\n\n2\n"), "srt", "a.srt line 6: text outside any cue"),
    ("1\n00:00:05,000 --> 00:00:04,000\nHello\n", "srt", "a.srt line 2: the cue ends before it starts"),
    ("1\n00:00:01,000 --> 00:00:02,000\nHel\x07lo\n", "srt", "a.srt line 2 contains the control character U+0007"),
    ("", "srt", "a.srt has no cues"),
    ("00:01.000 --> 00:02.000\nHi\n", "vtt", "a.vtt line 1: a WebVTT file starts with 'WEBVTT'"),
    ("WEBVTT\n\n00:01.000 --> 00:0z.000\nHi\n", "vtt", "a.vtt line 3: cannot read the cue timing"),
])
def test_malformed_subtitles_name_the_line(text: str, fmt: str, message: str) -> None:
    with pytest.raises(UsageError) as err:
        parse_subtitles(text, f"a.{fmt}", fmt)
    assert str(err.value).startswith(message)
    assert "\n" not in str(err.value)


def test_word_json_groups_words_into_cues_and_joins_cjk_without_spaces() -> None:
    text = ('[{"word": "Hi", "start": 0, "end": 0.5}, {"word": " there.", "start": 0.5, "end": 1.0},'
            ' {"word": "東京", "start": 1.0, "end": 1.5, "probability": 0.9},'
            ' {"word": "の夜", "start": 1.5, "end": 2}]')
    first, second = parse_word_json(text, "w.json")
    assert (first.text, first.start, first.end, len(first.words)) == ("Hi there.", 0.0, 1.0, 2)
    assert (second.text, second.start, second.end) == ("東京の夜", 1.0, 2.0)


def test_word_json_accepts_whisper_segments() -> None:
    text = '{"segments": [{"words": [{"word": "one", "start": 0, "end": 1}, {"word": "two", "start": 1, "end": 2}]}]}'
    assert parse_word_json(text, "w.json")[0].text == "one two"


@pytest.mark.parametrize(("text", "message"), [
    ('[{"word": "a", "start": 0, "end": 1},\n {"word": "b", "start": 1 "end": 2}]', "w.json line 2: not valid JSON"),
    ('[{"word": "a", "start": 0, "end": 1}, {"word": "b", "start": "x", "end": 2}]', "w.json entry 2: 'start'"),
    ('[{"word": "a", "end": 1}]', "w.json entry 1: 'start': missing"),
    ('[{"word": "a", "start": 2, "end": 1}]', "w.json entry 1: 'end' (1) is before 'start' (2)"),
    ('[{"word": "a", "start": -1, "end": 1}]', "w.json entry 1: 'start'"),
    ('{"text": "hello"}', "w.json: expected a list"),
    ('[{"word": "a\\u0000", "start": 0, "end": 1}]', "w.json entry 1 contains the control character U+0000"),
    ("[]", "w.json has no words"),
])
def test_malformed_word_json_names_the_entry(text: str, message: str) -> None:
    with pytest.raises(UsageError) as err:
        parse_word_json(text, "w.json")
    assert str(err.value).startswith(message)


def test_overlapping_cues_later_one_wins() -> None:
    cues, cut = resolve_overlaps([Cue(0, 3, "a"), Cue(1, 2, "b"), Cue(1.5, 4, "c")])
    assert cues == [Cue(0, 1, "a"), Cue(1, 1.5, "b"), Cue(1.5, 4, "c")]
    assert cut == 2


def test_cues_past_the_end_are_trimmed_or_dropped() -> None:
    cues, trimmed, dropped = fit_to_duration([Cue(0, 1, "a"), Cue(1, 5, "b"), Cue(6, 7, "c")], 3.0)
    assert cues == [Cue(0, 1, "a"), Cue(1, 3.0, "b")]
    assert (trimmed, dropped) == (1, 1)


def test_words_timed_by_length_cover_the_cue() -> None:
    words = words_by_length(["a", "longer", "mid"], 1.0, 3.0)
    assert words[0].start == 1.0 and abs(words[-1].end - 3.0) < 1e-9
    assert words[1].end - words[1].start > words[2].end - words[2].start > words[0].end - words[0].start


@pytest.mark.parametrize(("text", "message"), [
    ("", "the caption is empty"), ("  \n ", "the caption is empty"),
    ("bell\x07", "--caption contains the control character U+0007"), ("esc\x1b[31m", "U+001B"),
])
def test_bad_caption_text(text: str, message: str) -> None:
    with pytest.raises(UsageError) as err:
        caption_cue(text, 5.0)
    assert message in str(err.value)


def test_caption_text_keeps_line_breaks_and_tabs_become_spaces() -> None:
    assert caption_cue("one\r\ntwo\tthree", 2.0) == Cue(0.0, 2.0, "one\ntwo three")


def test_load_cues_rejects_unknown_format_missing_file_and_bad_encoding(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match=r"unknown format '\.txt'"):
        load_cues(tmp_path / "subs.txt")
    with pytest.raises(UsageError, match="does not exist"):
        load_cues(tmp_path / "missing.srt")
    latin = tmp_path / "latin.srt"
    latin.write_bytes("1\n00:00:01,000 --> 00:00:02,000\ncaf\xe9\n".encode("latin-1"))
    with pytest.raises(UsageError, match="not UTF-8"):
        load_cues(latin)
