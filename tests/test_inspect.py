"""``shortgen inspect`` against an independent oracle: the ffmpeg binary that imageio-ffmpeg ships.

imageio-ffmpeg has no ffprobe, so the oracle is ``ffmpeg -i FILE`` (the same FFmpeg probe ffprobe runs,
printed to stderr) for size, fps, duration, bitrate, codecs and tags, and ``ffmpeg -c copy -f null`` for the
frame count. Box order is checked against the tests' own MP4 box reader.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from fractions import Fraction
from pathlib import Path
from typing import Any

import imageio_ffmpeg
import pytest
from typer.testing import CliRunner

from shortgen.cli.app import app
from shortgen.config import EncoderSpec
from shortgen.encode import encode_clip
from shortgen.inspect import inspect_video
from tests.helpers import synthetic_clip, top_level_boxes, write_test_video

runner = CliRunner()
FFMPEG = imageio_ffmpeg.get_ffmpeg_exe()


def ffmpeg_probe(path: Path) -> dict[str, Any]:
    """What ``ffmpeg -i`` says about ``path``, parsed from its stderr."""
    text = subprocess.run([FFMPEG, "-hide_banner", "-i", str(path)], capture_output=True, text=True).stderr
    duration = re.search(r"Duration: (\d+):(\d+):([\d.]+), start: [\d.-]+, bitrate: (\d+) kb/s", text)
    video = re.search(r"Video: (\w+) \(([^)]+)\) \([^)]*\), (\w+)(?:\(([^)]*)\))?, (\d+)x(\d+).*?, ([\d.]+) fps", text)
    assert duration and video, text
    hours, minutes, seconds, bitrate = duration.groups()
    tags = [t.strip() for t in (video[4] or "").split(",")]
    probe: dict[str, Any] = {
        "duration": int(hours) * 3600 + int(minutes) * 60 + float(seconds), "bitrate_kbps": int(bitrate),
        "codec": video[1], "profile": video[2], "pix_fmt": video[3], "width": int(video[5]),
        "height": int(video[6]), "fps": float(video[7]),
        "color_range": next((t for t in tags if t in ("tv", "pc")), None),
        "audio": re.findall(r"Audio: (\w+) \((\w+)\).*?, (\d+) Hz, (\w+)", text),
        "subtitles": re.findall(r"\((\w+)\): Subtitle: (\w+)", text),
    }
    count = subprocess.run([FFMPEG, "-hide_banner", "-i", str(path), "-map", "0:v:0", "-c", "copy", "-f", "null", "-"],
                           capture_output=True, text=True).stderr
    probe["frames"] = int(re.findall(r"frame=\s*(\d+)", count)[-1])
    return probe


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("inspect")
    ntsc = folder / "ntsc.mp4"  # shortgen's own encoder: faststart, BT.709 tags, AAC, 29.97 fps
    clip = synthetic_clip(45, 96, 160)
    encode_clip(clip.with_frames(clip.frames, fps=Fraction(30000, 1001)), ntsc, EncoderSpec(preset="ultrafast"))
    plain = write_test_video(folder / "plain.mp4", n=30, fps=10, audio=True)  # PyAV defaults: moov last
    srt = folder / "cues.srt"
    srt.write_text("1\n00:00:00,000 --> 00:00:01,000\nhello\n", encoding="utf-8")
    subs = folder / "subs.mp4"  # a mov_text track in English, muxed by ffmpeg
    subprocess.run([FFMPEG, "-loglevel", "error", "-i", str(ntsc), "-i", str(srt), "-map", "0", "-map", "1", "-c",
                    "copy", "-c:s", "mov_text", "-metadata:s:s:0", "language=eng", str(subs)], check=True)
    return {"ntsc": ntsc, "plain": plain, "subs": subs}


@pytest.mark.parametrize("name", ["ntsc", "plain", "subs"])
def test_inspect_agrees_with_ffmpeg(files: dict[str, Path], name: str) -> None:
    path = files[name]
    report, oracle = inspect_video(path), ffmpeg_probe(path)
    assert (report.width, report.height, report.frames) == (oracle["width"], oracle["height"], oracle["frames"])
    assert round(report.fps, 2) == oracle["fps"]
    assert report.duration == pytest.approx(oracle["duration"], abs=0.0051)  # ffmpeg prints centiseconds
    assert (report.codec, report.profile, report.pix_fmt) == (oracle["codec"], oracle["profile"], oracle["pix_fmt"])
    assert report.color_range == oracle["color_range"]
    assert int(report.bitrate_kbps or 0) == oracle["bitrate_kbps"]
    audio = [(a.codec, a.profile, str(a.sample_rate), a.layout) for a in report.audio]
    assert audio == [tuple(track) for track in oracle["audio"]]
    assert [(s.language or "und", s.codec) for s in report.subtitles] == oracle["subtitles"]
    boxes = top_level_boxes(path)
    assert report.faststart == (boxes.index("moov") < boxes.index("mdat"))


def test_inspect_reads_shortgen_output_as_platform_ready(files: dict[str, Path]) -> None:
    report = inspect_video(files["ntsc"])
    assert report.fps_fraction == "30000/1001" and report.frames == 45
    assert report.video_duration == pytest.approx(45 * 1001 / 30000)
    assert report.faststart is True and report.edit_list is False
    assert (report.color_space, report.color_primaries, report.color_transfer) == ("bt709", "bt709", "bt709")
    assert report.audio[0].sample_rate == 48000 and report.audio[0].channels == 2
    assert report.seam_score is not None and report.seam_score > 3  # a one-way sweep does not loop
    assert inspect_video(files["plain"]).faststart is False


def test_inspect_json_and_human_output(files: dict[str, Path]) -> None:
    result = runner.invoke(app, ["inspect", str(files["subs"]), "--json"])
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["subtitles"] == [{"codec": "mov_text", "language": "eng"}]
    assert data["seamless"] is False and data["seam_score"] > 3
    human = runner.invoke(app, ["inspect", str(files["ntsc"]), "--no-seam"])
    assert human.exit_code == 0 and human.stdout == ""  # people's output goes to stderr
    assert "96x160, 29.97 fps" in human.stderr and "faststart yes" in human.stderr
    assert "seam" not in human.stderr


def test_inspect_does_not_import_torch(files: dict[str, Path]) -> None:
    code = ("import sys; from shortgen.cli.app import app; "
            f"app(['inspect', {str(files['plain'])!r}, '--json'], standalone_mode=False); "
            "assert 'torch' not in sys.modules and 'diffusers' not in sys.modules, 'heavy import'")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def make_bad_inputs(folder: Path) -> dict[str, Path]:
    from PIL import Image

    text = folder / "notes.mp4"
    text.write_text("not a video\n", encoding="utf-8")
    image = folder / "still.png"
    Image.new("RGB", (32, 32), "red").save(image)
    wav = folder / "tone.wav"
    subprocess.run([FFMPEG, "-loglevel", "error", "-f", "lavfi", "-i", "sine=duration=0.2", str(wav)], check=True)
    return {"text": text, "image": image, "wav": wav}


@pytest.mark.parametrize(("name", "code", "message"), [
    ("text", 1, "is not a video shortgen can read"),
    ("image", 2, "is a still image, not a video"),
    ("wav", 1, "has no video stream"),
    ("missing", 2, "does not exist"),
])
def test_inspect_of_a_non_video_is_one_line(tmp_path: Path, name: str, code: int, message: str) -> None:
    paths = make_bad_inputs(tmp_path)
    path = paths.get(name, tmp_path / "missing.mp4")
    before = sorted(tmp_path.iterdir())
    result = runner.invoke(app, ["inspect", str(path), "--json"])
    assert result.exit_code == code
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: ") and message in lines[0]
    assert result.stdout == "" and sorted(tmp_path.iterdir()) == before


def test_inspect_seam_score_on_images_equals_the_numpy_score() -> None:
    """inspect measures seams on Pillow images (no numpy import); the figure must be the loop stage's own."""
    import numpy as np
    from PIL import Image

    from shortgen.seam import SeamMeter, image_difference

    rng = np.random.default_rng(7)
    frames = [rng.integers(0, 256, (114, 64, 3), dtype=np.uint8) for _ in range(6)]
    arrays, images = SeamMeter(), SeamMeter(difference=image_difference)
    for frame in frames:
        arrays.add(frame)
        images.add(Image.fromarray(frame))
    assert arrays.steps == pytest.approx(images.steps, abs=1e-9)
    assert arrays.score() == pytest.approx(images.score(), abs=1e-9)
