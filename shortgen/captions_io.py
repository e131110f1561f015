"""Timed caption text: read SRT, WebVTT and word-timing JSON into :class:`Cue` objects, check it, fix it up.

Parsing is pysubs2's (SRT, WebVTT) and the standard ``json`` module's; what this module adds is the
strictness a user needs: pysubs2 silently skips a block it cannot read, so a short structural pass names
the line of a malformed timing or of text outside any cue, and a bad JSON entry is named by its number.

Rules that shape the cues (documented in the README):

* **Overlaps** — a cue that starts before the previous one ends cuts the previous one short; one caption
  shows at a time, the later one wins.
* **Past the end** — cues are trimmed to the clip's end; cues that start after it are dropped. Both warn.
* **Word timings** — a word-timing JSON is grouped into cues of up to :data:`MAX_WORDS_PER_CUE` words, a
  new cue starting after a sentence ends or a pause of :data:`PAUSE_SECONDS`. Cues without word timings
  get them from the text: each word's share of the cue is proportional to its length.
"""

from __future__ import annotations

import json
import math
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Annotated

import msgspec

from shortgen.errors import UsageError
from shortgen.paths import check_input_file, os_error

MAX_WORDS_PER_CUE = 7
PAUSE_SECONDS = 0.6
MAX_CAPTION_CHARS = 2000
SENTENCE_END = tuple(".!?…。！？")
FORMATS = (".srt", ".vtt", ".json")


@dataclass(frozen=True)
class Word:
    text: str
    start: float
    end: float


@dataclass(frozen=True)
class Cue:
    """Text shown from ``start`` to ``end`` seconds; ``words`` holds word timings when the source had them."""

    start: float
    end: float
    text: str
    words: tuple[Word, ...] = ()

    @property
    def duration(self) -> float:
        return self.end - self.start


# --- text checks ----------------------------------------------------------------------------------------
def _is_cjk(char: str) -> bool:
    name = unicodedata.name(char, "")
    return name.startswith(("CJK ", "HIRAGANA", "KATAKANA", "IDEOGRAPHIC", "FULLWIDTH", "HALFWIDTH KATAKANA"))


def clean_caption_text(text: str, where: str) -> str:
    """Normalise line breaks and tabs; reject control characters and lone surrogates with a one-line error.

    ``where`` names the source for the message, e.g. ``"--caption"`` or ``"subs.srt line 7"``.
    """
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\u2028", "\n").replace("\u2029", "\n")
    text = text.replace("\t", " ")
    for position, char in enumerate(text, 1):
        category = unicodedata.category(char)
        if (category == "Cc" and char != "\n") or category == "Cs":
            raise UsageError(f"{where} contains the control character U+{ord(char):04X} at character {position}",
                             "remove it; captions may hold text, emoji and line breaks only")
    return "\n".join(line.strip() for line in text.split("\n")).strip("\n")


def caption_cue(text: str, duration: float) -> Cue:
    """The ``--caption`` text as one cue over the whole clip."""
    text = clean_caption_text(text, "--caption")
    if not text.strip():
        raise UsageError("the caption is empty", "give some text, or leave out --caption")
    check_caption_length(text, "the caption", "shorten it, or use --captions with timed cues")
    return Cue(0.0, duration, text)


def check_caption_length(text: str, what: str, hint: str) -> None:
    """The limit ``--caption`` has, for every caption shown at once (a file's cues too)."""
    if len(text) > MAX_CAPTION_CHARS:
        raise UsageError(f"{what} is {len(text)} characters; at most {MAX_CAPTION_CHARS} fit on screen", hint)


# --- SRT and WebVTT through pysubs2, with a structural pass that names lines --------------------------------
def _timestamp_pattern(fmt: str) -> re.Pattern[str]:
    from pysubs2.formats.subrip import SubripFormat
    from pysubs2.formats.webvtt import WebVTTFormat

    return (WebVTTFormat if fmt == "vtt" else SubripFormat).TIMESTAMP


def _timing_lines(text: str, source: str, fmt: str) -> list[int]:
    """Line numbers of the cue timing lines, after checking the file's block structure.

    A cue is a block of lines: an optional number (SRT) or identifier (VTT), a timing line, then text.
    Blank lines separate blocks. VTT allows a header block and NOTE / STYLE / REGION blocks.
    """
    stamp = _timestamp_pattern(fmt)
    example = "00:00:01.000 --> 00:00:02.500" if fmt == "vtt" else "00:00:01,000 --> 00:00:02,500"
    lines = text.split("\n")
    found: list[int] = []
    block: list[tuple[int, str]] = []
    for number, line in enumerate([*lines, ""], 1):
        if line.strip():
            block.append((number, line))
            continue
        if block:
            found.extend(_check_block(block, source, fmt, stamp, example, first=not found))
        block = []
    return found


def _check_block(block: list[tuple[int, str]], source: str, fmt: str, stamp: re.Pattern[str], example: str,
                 *, first: bool) -> list[int]:
    head = block[0][1].strip()
    if fmt == "vtt" and (head.startswith("WEBVTT") or head.split(" ")[0] in {"NOTE", "STYLE", "REGION"}):
        return []
    for position, (number, line) in enumerate(block):
        is_timing = "-->" in line or len(stamp.findall(line)) == 2
        if is_timing and len(stamp.findall(line)) != 2:
            raise UsageError(f"{source} line {number}: cannot read the cue timing {line.strip()!r}",
                             f"write it as {example}")
        if is_timing:
            if position > 1:
                raise UsageError(f"{source} line {block[1][0]}: text before the cue timing on line {number}",
                                 "put a blank line between cues")
            later = [n for n, rest in block[position + 1:] if "-->" in rest]
            if later:
                raise UsageError(f"{source} line {later[0]}: a second cue timing without a blank line before it",
                                 "put a blank line between cues")
            return [number]
    what = "no cue timing found" if first else "text outside any cue"
    raise UsageError(f"{source} line {block[0][0]}: {what} ({head[:40]!r})",
                     f"each cue needs a timing line such as {example}")


def parse_subtitles(text: str, source: str, fmt: str) -> list[Cue]:
    """Parse SRT (``fmt="srt"``) or WebVTT (``fmt="vtt"``) text into cues, naming the line of any problem."""
    import pysubs2

    text = text.replace("\r\n", "\n").replace("\r", "\n").lstrip("\ufeff")
    if fmt == "vtt" and not text.lstrip().startswith("WEBVTT"):
        raise UsageError(f"{source} line 1: a WebVTT file starts with 'WEBVTT'", "add it, or save the file as .srt")
    timing_lines = _timing_lines(text, source, fmt)
    if not timing_lines:
        raise UsageError(f"{source} has no cues", "give a file with at least one timed caption")
    try:
        events = list(pysubs2.SSAFile.from_string(text, format_=fmt))
    except (pysubs2.exceptions.Pysubs2Error, ValueError) as err:
        raise UsageError(f"{source}: cannot parse: {err}") from None
    if len(events) != len(timing_lines):
        raise UsageError(f"{source}: found {len(timing_lines)} cue timings but could read {len(events)} cues",
                         "check the file's timing lines")
    cues = []
    for line, event in zip(timing_lines, events, strict=True):
        where = f"{source} line {line}"
        if event.end < event.start:
            raise UsageError(f"{where}: the cue ends before it starts", "swap or fix the two times")
        # A blank line ends a cue's text; pysubs2 keeps what follows (a VTT cue identifier, a NOTE).
        body = event.plaintext.split("\n\n")[0]
        body = clean_caption_text(body, where)
        check_caption_length(body, f"{where}: the cue", "split it into several timed cues")
        if body.strip() and event.end > event.start:
            cues.append(Cue(event.start / 1000, event.end / 1000, body))
    if not cues:
        raise UsageError(f"{source} has no cue with text and a non-zero duration", "check the file")
    return cues


# --- word-timing JSON --------------------------------------------------------------------------------------
class _WordEntry(msgspec.Struct):  # unknown keys are ignored: speech-to-text tools add e.g. "probability"
    word: str
    start: Annotated[float, msgspec.Meta(ge=0)]
    end: Annotated[float, msgspec.Meta(ge=0)]


def _word_entry_problem(err: msgspec.ValidationError, entry: object) -> str:
    from shortgen.config import error_location, readable_message

    message, parts = error_location(err)
    missing = re.match(r"Object missing required field `([^`]+)`", message)
    if missing:
        return f"'{missing[1]}': missing"
    if not parts:
        return readable_message(message, entry)
    value = entry.get(parts[0]) if isinstance(entry, dict) else None
    return f"'{parts[0]}': {readable_message(message, value)}"


def _json_entries(data: object, source: str) -> list[object]:
    """The word list: a top-level list, ``{"words": [...]}`` or Whisper's ``{"segments": [{"words": ...}]}``."""
    if isinstance(data, list):
        return data
    if isinstance(data, dict) and isinstance(data.get("words"), list):
        return data["words"]
    if isinstance(data, dict) and isinstance(data.get("segments"), list):
        return [w for seg in data["segments"] if isinstance(seg, dict) for w in seg.get("words", [])]
    raise UsageError(f"{source}: expected a list of {{\"word\", \"start\", \"end\"}} entries",
                     'e.g. [{"word": "Hello", "start": 0.0, "end": 0.4}]')


def parse_word_json(text: str, source: str) -> list[Cue]:
    """Parse ``[{"word": ..., "start": s, "end": s}, ...]`` and group the words into cues."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as err:
        raise UsageError(f"{source} line {err.lineno}: not valid JSON ({err.msg})") from None
    entries = _json_entries(data, source)
    words: list[Word] = []
    for index, entry in enumerate(entries, 1):
        where = f"{source} entry {index}"
        try:
            parsed = msgspec.convert(entry, _WordEntry, strict=False)  # "0.5" is read as 0.5
        except msgspec.ValidationError as err:
            raise UsageError(f"{where}: {_word_entry_problem(err, entry)}",
                             'each entry needs "word" (text), "start" and "end" (seconds)') from None
        for name in ("start", "end"):
            if not math.isfinite(getattr(parsed, name)):
                raise UsageError(f"{where}: '{name}' is {getattr(parsed, name)}; give a finite number of seconds")
        if parsed.end < parsed.start:
            raise UsageError(f"{where}: 'end' ({parsed.end:g}) is before 'start' ({parsed.start:g})")
        word = clean_caption_text(parsed.word, where).replace("\n", " ").strip()
        if word:
            words.append(Word(word, parsed.start, parsed.end))
    if not words:
        raise UsageError(f"{source} has no words", "give at least one entry with text")
    cues = group_words(_untangle_words(words))
    for cue in cues:
        check_caption_length(cue.text, f"{source}: the cue at {cue.start:g} s", "split the words into shorter ones")
    return cues


def _untangle_words(words: list[Word]) -> list[Word]:
    """Sort by start; a word that overlaps the next one is cut short where the next begins."""
    ordered = sorted(words, key=lambda w: w.start)
    fixed = []
    for word, nxt in zip(ordered, [*ordered[1:], None], strict=True):
        end = min(word.end, nxt.start) if nxt is not None else word.end
        fixed.append(replace(word, end=max(end, word.start)))
    return fixed


def join_words(words: Iterable[str]) -> str:
    """Words joined by spaces, except between two CJK characters (those scripts use no spaces)."""
    text = ""
    for word in words:
        if text and not (_is_cjk(text[-1]) and _is_cjk(word[0])):
            text += " "
        text += word
    return text


def group_words(words: Sequence[Word]) -> list[Cue]:
    """Group timed words into cues: a new cue after a sentence end, a pause, or MAX_WORDS_PER_CUE words."""
    cues: list[Cue] = []
    current: list[Word] = []
    for word in words:
        if current and (len(current) >= MAX_WORDS_PER_CUE or current[-1].text.endswith(SENTENCE_END)
                        or word.start - current[-1].end >= PAUSE_SECONDS):
            cues.append(_cue_of(current))
            current = []
        current.append(word)
    if current:
        cues.append(_cue_of(current))
    return cues


def _cue_of(words: list[Word]) -> Cue:
    end = max(words[-1].end, words[0].start + 0.001)
    return Cue(words[0].start, end, join_words(w.text for w in words), tuple(words))


# --- loading and fitting ---------------------------------------------------------------------------------
def load_cues(path: Path) -> list[Cue]:
    """Read a captions file (.srt, .vtt or word-timing .json) into cues, in time order."""
    suffix = path.suffix.lower()
    if suffix not in FORMATS:
        raise UsageError(f"cannot read captions from '{path.name}': unknown format '{suffix or '(none)'}'",
                         "use .srt, .vtt or a word-timing .json")
    check_input_file(path, "captions file", "check the --captions path")
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError as err:
        raise UsageError(f"{path.name} is not UTF-8 text (byte {err.start + 1})", "save it as UTF-8") from None
    except OSError as err:
        raise os_error(err, path) from None
    if suffix == ".json":
        return parse_word_json(text, path.name)
    return sorted(parse_subtitles(text, path.name, suffix[1:]), key=lambda c: (c.start, c.end))


def resolve_overlaps(cues: Sequence[Cue]) -> tuple[list[Cue], int]:
    """One caption at a time: a cue that starts before the previous one ends cuts the previous one short.

    Returns the fixed cues (zero-length ones dropped) and how many were cut.
    """
    ordered = sorted(cues, key=lambda c: (c.start, c.end))
    fixed: list[Cue] = []
    cut = 0
    for cue, nxt in zip(ordered, [*ordered[1:], None], strict=True):
        if nxt is not None and nxt.start < cue.end:
            cue = _trim(cue, cue.start, nxt.start)
            cut += 1
        if cue.end > cue.start:
            fixed.append(cue)
    return fixed, cut


def fit_to_duration(cues: Sequence[Cue], duration: float) -> tuple[list[Cue], int, int]:
    """Trim cues to ``[0, duration)``. Returns the cues, how many were trimmed and how many dropped."""
    kept: list[Cue] = []
    trimmed = dropped = 0
    for cue in cues:
        if cue.start >= duration:
            dropped += 1
            continue
        if cue.end > duration:
            cue = _trim(cue, cue.start, duration)
            trimmed += 1
        kept.append(cue)
    return kept, trimmed, dropped


def _trim(cue: Cue, start: float, end: float) -> Cue:
    words = tuple(replace(w, start=max(w.start, start), end=min(w.end, end)) for w in cue.words if w.start < end)
    return replace(cue, start=start, end=end, words=words)


def words_by_length(texts: Sequence[str], start: float, end: float) -> list[Word]:
    """Time ``texts`` across ``[start, end)``; each word's share is proportional to its length (+1 for the gap)."""
    weights = [len(t) + 1 for t in texts]
    total = sum(weights) or 1
    words: list[Word] = []
    at = start
    for text, weight in zip(texts, weights, strict=True):
        length = (end - start) * weight / total
        words.append(Word(text, at, at + length))
        at += length
    return words


__all__ = ["Cue", "Word", "caption_cue", "clean_caption_text", "fit_to_duration", "group_words", "join_words",
           "load_cues", "parse_subtitles", "parse_word_json", "resolve_overlaps", "words_by_length"]
