"""``shortgen edit`` with captions, end to end on a small synthetic clip: decode what was encoded and check
pixels, the soft subtitle track, the .srt, previews, and every bad input (one line, exit code, no file)."""

from __future__ import annotations

import json
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

from shortgen.captions_io import Cue, parse_subtitles
from shortgen.cli.app import app
from shortgen.config import EncoderSpec
from shortgen.encode import encode_clip
from shortgen.frames import Clip
from shortgen.presets import load_preset
from shortgen.stages.captions import CaptionBurner
from shortgen.stages.captions.fonts import FontSet
from shortgen.stages.captions.render import Zone
from shortgen.subtitles import read_subtitle_track

runner = CliRunner()
WIDTH, HEIGHT, FRAMES = 180, 320, 30
PRESET = """
description: small test preset
output: {width: 360, height: 640, fps: 30}
duration: {default: 1, min: 0.5, max: 5}
encoder: {preset: ultrafast, crf: 12}
safe_zone: {left: 22, top: 90, right: 53, bottom: 223}
captions: {style: clean, position: bottom, font_size: 28, min_font_size: 10}
"""
SRT = "1\n00:00:00,000 --> 00:00:00,500\nI\n\n2\n00:00:00,500 --> 00:00:01,000\nWWWW WWWW\n"


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("captions")
    (folder / "small.yaml").write_text(PRESET)
    (folder / "subs.srt").write_text(SRT)

    def frames():
        for i in range(FRAMES):
            frame = np.zeros((HEIGHT, WIDTH, 3), np.uint8)
            frame[..., 0] = np.linspace(20, 230, WIDTH, dtype=np.uint8)[None, :]
            frame[..., 1] = 40 + i
            frame[..., 2] = 90
            yield frame

    encode_clip(Clip(WIDTH, HEIGHT, Fraction(30), FRAMES, frames()), folder / "in.mp4", EncoderSpec(crf=10))
    return folder


def edit(workdir: Path, out: str, *args: str):
    return runner.invoke(app, ["edit", str(workdir / "in.mp4"), "--preset", str(workdir / "small.yaml"),
                               "-o", str(workdir / out), "--no-sidecar", "--overwrite", "--json", *args])


def decode(path: Path) -> list[np.ndarray]:
    with av.open(str(path)) as container:
        return [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]


@pytest.fixture(scope="module")
def plain(workdir: Path) -> list[np.ndarray]:
    result = edit(workdir, "plain.mp4")
    assert result.exit_code == 0, result.stderr
    return decode(workdir / "plain.mp4")


def expected_box(workdir: Path, text: str) -> tuple[int, int, int, int]:
    preset = load_preset(str(workdir / "small.yaml"))
    zone = Zone.inside(preset.safe_zone, preset.output.width, preset.output.height)
    spec = preset.captions
    burner = CaptionBurner([Cue(0, 1, text)], spec, zone, FontSet.load(), 30.0)
    return burner.sprite(burner.timeline.state_at(0.0))[0].box


def test_caption_changes_pixels_inside_its_box_and_nowhere_else(workdir: Path, plain: list[np.ndarray]) -> None:
    result = edit(workdir, "caption.mp4", "--caption", "How to pour ☕")
    assert result.exit_code == 0, result.stderr
    captioned = decode(workdir / "caption.mp4")
    assert len(captioned) == len(plain) == FRAMES
    left, top, right, bottom = expected_box(workdir, "How to pour ☕")
    assert left >= 22 and right <= 360 - 53 and top >= 90 and bottom <= 640 - 223
    for before, after in zip(plain, captioned, strict=True):
        diff = np.abs(after.astype(int) - before.astype(int)).max(axis=2)
        inside = np.zeros_like(diff, dtype=bool)
        inside[top - 4:bottom + 4, left - 4:right + 4] = True  # 4 px: chroma subsampling and codec blur
        assert diff[~inside].max() <= 12  # lossy coding noise only
        assert (diff[inside] > 60).sum() > 300  # the caption itself


def test_timed_cues_show_in_their_time_and_soft_track_round_trips(workdir: Path, plain: list[np.ndarray]) -> None:
    result = edit(workdir, "timed.mp4", "--captions", str(workdir / "subs.srt"), "--subtitles", "both")
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["info"]["subtitles_file"] == str(workdir / "timed.srt")
    frames = decode(workdir / "timed.mp4")
    widths = []
    for index in (5, 25):
        changed = np.abs(frames[index].astype(int) - plain[index].astype(int)).max(axis=2) > 60
        xs = np.nonzero(changed.any(axis=0))[0]
        widths.append(xs.max() - xs.min())
    assert widths[0] * 3 < widths[1]  # "I" first, then the wide cue
    expected = [Cue(0.0, 0.5, "I"), Cue(0.5, 1.0, "WWWW WWWW")]
    assert read_subtitle_track(workdir / "timed.mp4") == expected
    assert parse_subtitles((workdir / "timed.srt").read_text(), "timed.srt", "srt") == expected


def test_soft_only_leaves_the_pixels_alone(workdir: Path, plain: list[np.ndarray]) -> None:
    result = edit(workdir, "soft.mp4", "--caption", "東京の夜 🌃", "--subtitles", "soft")
    assert result.exit_code == 0, result.stderr
    frames = decode(workdir / "soft.mp4")
    assert max(np.abs(a.astype(int) - b.astype(int)).max() for a, b in zip(frames, plain, strict=True)) <= 12
    assert read_subtitle_track(workdir / "soft.mp4") == [Cue(0.0, 1.0, "東京の夜 🌃")]


def test_preview_writes_one_frame_as_png(workdir: Path) -> None:
    result = edit(workdir, "frame.png", "--captions", str(workdir / "subs.srt"), "--preview", "0.6")
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["frame"] == 18
    with Image.open(workdir / "frame.png") as image:
        assert image.size == (360, 640)
    assert not list(workdir.glob(".frame.partial-*"))


@pytest.mark.parametrize(("args", "files", "message"), [
    (["--captions", "bad.srt"], {"bad.srt": "1\n00:00:00,000 --> 00:00:0x,000\nHi\n"},
     "bad.srt line 2: cannot read the cue timing"),
    (["--captions", "bad.vtt"], {"bad.vtt": "WEBVTT\n\n00:01.000 --> 00:02.000\nok\n\nstray\n"},
     "bad.vtt line 6: text outside any cue"),
    (["--captions", "bad.json"], {"bad.json": '[{"word": "a", "start": 0, "end": 1}, {"word": "b"}]'},
     "bad.json entry 2: 'start': missing"),
    (["--captions", "late.srt"], {"late.srt": "1\n00:00:05,000 --> 00:00:06,000\nlate\n"},
     "every cue in late.srt starts after the clip ends"),
    (["--caption", "hi", "--font", "missing.ttf"], {}, "missing.ttf does not exist"),
    (["--caption", "hi", "--font", "notafont.ttf"], {"notafont.ttf": "not a font"}, "is not a font shortgen can read"),
    (["--caption", "  "], {}, "the caption is empty"),
    (["--caption", "ring\x07ring"], {}, "control character U+0007"),
    (["--caption", "a", "--captions", "subs.srt"], {}, "give --caption or --captions, not both"),
    (["--caption", "a", "--caption-style", "wavy"], {}, "'wavy' is not one of"),
    (["--caption", "a", "--caption-position", "left"], {}, "'left' is not one of"),
    (["--captions", "subs.txt"], {}, "unknown format '.txt'"),
])
def test_bad_input_is_one_line_with_exit_2_and_no_output(workdir: Path, args: list[str], files: dict[str, str],
                                                          message: str) -> None:
    for name, text in files.items():
        (workdir / name).write_text(text)
    args = [str(workdir / a) if (workdir / a).exists() or a.endswith((".ttf", ".txt")) else a for a in args]
    out = workdir / "bad-out.mp4"
    result = runner.invoke(app, ["edit", str(workdir / "in.mp4"), "--preset", str(workdir / "small.yaml"),
                                 "-o", str(out), *args])
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert result.exit_code == 2, result.stderr
    assert len(lines) == 1 and message in lines[0], result.stderr
    assert not out.exists() and not out.with_suffix(".srt").exists()
    assert not list(workdir.glob(".bad-out.partial-*"))


def test_soft_subtitles_never_replace_the_captions_file(workdir: Path) -> None:
    (workdir / "clip.srt").write_text(SRT)
    result = runner.invoke(app, ["edit", str(workdir / "in.mp4"), "--preset", str(workdir / "small.yaml"),
                                 "--captions", str(workdir / "clip.srt"), "--subtitles", "soft",
                                 "-o", str(workdir / "clip.mp4"), "--overwrite"])
    assert result.exit_code == 2
    assert "would replace the captions file" in result.stderr
    assert not (workdir / "clip.mp4").exists()
