"""Reframing: crop with a position, pad, blur (track: tests/test_track.py). Judged against FFmpeg's own
scale/pad filters, on clips decoded back from the encoded MP4."""

from __future__ import annotations

import json
import subprocess
from fractions import Fraction
from pathlib import Path

import imageio_ffmpeg
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from shortgen.cli.app import app
from shortgen.config import ReframeSpec
from shortgen.frames import Clip
from shortgen.stages.captions import CaptionStage
from shortgen.stages.reframe import (
    ReframeStage,
    contain_box,
    cover_window,
    near_aspect,
    resize_spec,
)
from shortgen.stages.upscale import UpscaleStage
from tests.helpers import decode_frames, moving_square_frames, small_preset, write_test_video

FFMPEG = imageio_ffmpeg.get_ffmpeg_exe()
SRC_W, SRC_H = 320, 180  # 16:9
OUT_W, OUT_H = 180, 320  # small_preset's output
runner = CliRunner()


def landscape_frames(n: int = 6) -> list[np.ndarray]:
    """A landscape clip whose left and right edges are told apart: red left strip, blue right strip."""
    frames = []
    for frame in moving_square_frames(n, SRC_W, SRC_H):
        frame[:, :40] = (220, 30, 30)
        frame[:, -40:] = (30, 30, 220)
        frames.append(frame)
    return frames


@pytest.fixture()
def workdir(tmp_path: Path) -> Path:
    write_test_video(tmp_path / "wide.mp4", n=6, width=SRC_W, height=SRC_H, frames=landscape_frames(), crf=4)
    small_preset(tmp_path)
    return tmp_path


def edit(workdir: Path, name: str, *args: str):
    return runner.invoke(app, ["edit", str(workdir / "wide.mp4"), "--preset", str(workdir / "tiny.yaml"),
                               "-o", str(workdir / name), *args])


def ffmpeg_frames(src: Path, vf: str, width: int, height: int) -> list[np.ndarray]:
    raw = subprocess.run([FFMPEG, "-v", "error", "-i", str(src), "-vf", vf, "-f", "rawvideo", "-pix_fmt", "rgb24",
                          "-"], check=True, capture_output=True).stdout
    return list(np.frombuffer(raw, np.uint8).reshape(-1, height, width, 3))


def mean_diff(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.abs(a.astype(np.int16) - b.astype(np.int16)).mean())


# ------------------------------------------------------------------------------------------ pad, blur


def test_pad_puts_the_whole_frame_on_the_exact_colour(workdir: Path) -> None:
    result = edit(workdir, "pad.mp4", "--fit", "pad", "--pad-color", "#204060")
    assert result.exit_code == 0, result.stderr
    ours = decode_frames(workdir / "pad.mp4")
    box = contain_box(SRC_W, SRC_H, OUT_W, OUT_H)
    judge = ffmpeg_frames(workdir / "wide.mp4", f"scale={box.w}:{box.h}:flags=lanczos,"
                          f"pad={OUT_W}:{OUT_H}:{box.x}:{box.y}:color=0x204060", OUT_W, OUT_H)
    assert len(ours) == len(judge) == 6
    for mine, theirs in zip(ours, judge, strict=True):
        assert mean_diff(mine, theirs) < 3
        # Away from the picture's edge (x264's blocks there mix the two), the bands are the colour itself.
        bands = np.concatenate([mine[: box.y - 16], mine[box.y + box.h + 16:]]).reshape(-1, 3)
        assert np.abs(bands.astype(int) - (0x20, 0x40, 0x60)).max() <= 3


def test_blur_shows_the_whole_frame_and_fills_the_bands(workdir: Path) -> None:
    result = edit(workdir, "blur.mp4", "--fit", "blur")
    assert result.exit_code == 0, result.stderr
    ours = decode_frames(workdir / "blur.mp4")
    box = contain_box(SRC_W, SRC_H, OUT_W, OUT_H)
    scaled = ffmpeg_frames(workdir / "wide.mp4", f"scale={box.w}:{box.h}:flags=lanczos", box.w, box.h)
    for mine, source in zip(ours, scaled, strict=True):
        band = mine[box.y:box.y + box.h]
        assert mean_diff(band[2:-2], source[2:-2]) < 4  # the whole source frame, scaled, in the middle
        for fill in (mine[: box.y - 4], mine[box.y + box.h + 4:]):
            assert fill.mean() > 10  # filled, not black
            assert fill.mean() < source.mean()  # darkened
            steps = np.abs(np.diff(fill.astype(np.int16), axis=1)).mean()
            assert steps < 1.5  # blurred: no edges left (the source has sharp ones)


def test_crop_x_0_and_1_select_the_left_and_right_edges(workdir: Path) -> None:
    for crop_x, colour in (("0", (220, 30, 30)), ("1", (30, 30, 220))):
        result = edit(workdir, f"crop{crop_x}.mp4", "--fit", "crop", "--crop-x", crop_x)
        assert result.exit_code == 0, result.stderr
        frame = decode_frames(workdir / f"crop{crop_x}.mp4")[0]
        edge = frame[:, :20] if crop_x == "0" else frame[:, -20:]
        assert np.abs(edge.reshape(-1, 3).mean(axis=0) - colour).max() < 12
        judged = {}
        for position in (0.0, 1.0):
            window = cover_window(SRC_W, SRC_H, OUT_W, OUT_H, position)
            judged[position] = ffmpeg_frames(workdir / "wide.mp4", f"crop={window.w}:{window.h}:{window.x}:0,"
                                             f"scale={OUT_W}:{OUT_H}:flags=lanczos", OUT_W, OUT_H)[0]
        assert mean_diff(frame, judged[float(crop_x)]) < 4  # x264 at CRF 20 aside, FFmpeg's crop at that edge
        assert mean_diff(frame, judged[1 - float(crop_x)]) > 20  # and not the other one


def test_sidecar_records_the_fit(workdir: Path) -> None:
    assert edit(workdir, "blur.mp4", "--fit", "blur").exit_code == 0
    sidecar = json.loads((workdir / "blur.json").read_text(encoding="utf-8"))
    assert sidecar["preset"]["reframe"]["fit"] == "blur"
    assert sidecar["result"]["info"]["reframe"] == {"fit": "blur", "applied": "blur", "source_size": "320x180",
                                                    "picture": [0, 108, 180, 102]}


# --------------------------------------------------------------------------------------- bad input

BAD = [
    (["--fit", "zoom"], "--fit"),
    (["--crop-x", "1.5"], "--crop-x"),
    (["--crop-y", "-0.1"], "--crop-y"),
    (["--fit", "pad", "--pad-color", "red"], "is not a colour"),
]


@pytest.mark.parametrize(("args", "message"), BAD)
def test_bad_input_is_one_line_exit_2_and_no_file(workdir: Path, args: list[str], message: str) -> None:
    result = edit(workdir, "out.mp4", *args)
    assert result.exit_code == 2, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and message in lines[0], result.stderr
    assert not (workdir / "out.mp4").exists() and not (workdir / "out.json").exists()


def test_track_on_a_clip_with_no_frames_is_a_usage_error_and_no_file(tmp_path: Path) -> None:
    from shortgen.config import MakeOptions
    from shortgen.errors import UsageError
    from shortgen.pipeline import post_process

    out = tmp_path / "out.mp4"
    options = MakeOptions(preset=str(small_preset(tmp_path)), fit="track")
    with pytest.raises(UsageError, match="needs frames") as caught:
        post_process(Clip(SRC_W, SRC_H, Fraction(10), 0, iter([])), options, out)
    assert caught.value.exit_code == 2 and not out.exists()


def test_fit_options_in_python_and_job_files_are_checked() -> None:
    from shortgen.errors import UsageError

    with pytest.raises(UsageError, match="unknown fit"):
        ReframeStage(OUT_W, OUT_H, fit="zoom")
    with pytest.raises(UsageError, match="outside 0-1"):
        ReframeStage(OUT_W, OUT_H, crop_x=2)
    with pytest.raises(UsageError, match="not a colour"):
        ReframeStage(OUT_W, OUT_H, fit="pad", pad_color="black")


def test_batch_jobs_take_the_fit(tmp_path: Path) -> None:
    from shortgen.batch import load_job_file
    from shortgen.errors import ConfigError

    jobs = tmp_path / "jobs.yaml"
    jobs.write_text("jobs:\n  - {prompt: a cup, fit: blur, crop_x: 0.2}\n", encoding="utf-8")
    job = load_job_file(jobs).jobs[0]
    assert (job.options.fit, job.options.crop_x) == ("blur", 0.2)
    assert job.options.preset_overrides()["reframe"]["fit"] == "blur"
    jobs.write_text("jobs:\n  - {prompt: a cup, fit: zoom}\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="'fit'"):
        load_job_file(jobs)


def test_a_preset_can_choose_the_fit(tmp_path: Path) -> None:
    from shortgen.config import MakeOptions
    from shortgen.pipeline import post_stage_specs, resolve_preset

    preset_path = small_preset(tmp_path, reframe={"fit": "pad", "pad_color": "#FFFFFF"})
    preset = resolve_preset(MakeOptions(preset=str(preset_path)))
    assert preset.reframe.fit == "pad"
    assert [s["key"] for s in post_stage_specs(preset, MakeOptions())] == ["reframe"]
    plain = resolve_preset(MakeOptions(preset=str(preset_path), fit="crop"))
    assert [s["key"] for s in post_stage_specs(plain, MakeOptions())] == ["upscale"]  # today's path, unchanged


# ------------------------------------------------------------------------------------ geometry, stills


@settings(max_examples=200, deadline=None)
@given(src_w=st.integers(2, 4000), src_h=st.integers(2, 4000), dst_w=st.integers(1, 1100).map(lambda v: v * 2),
       dst_h=st.integers(1, 1100).map(lambda v: v * 2), fx=st.floats(0, 1), fy=st.floats(0, 1))
def test_layout_geometry(src_w: int, src_h: int, dst_w: int, dst_h: int, fx: float, fy: float) -> None:
    window = cover_window(src_w, src_h, dst_w, dst_h, fx, fy)
    assert window.x >= 0 and window.x + window.w <= src_w and window.y >= 0 and window.y + window.h <= src_h
    assert window.w == src_w or window.h == src_h
    # The window has the output's shape, up to rounding to whole source pixels.
    assert abs(window.w * dst_h - window.h * dst_w) <= max(dst_w, dst_h) * 1.001
    if window.w < src_w:
        assert window.x == round((src_w - window.w) * fx)
    box = contain_box(src_w, src_h, dst_w, dst_h)
    assert box.x >= 0 and box.x + box.w <= dst_w and box.y >= 0 and box.y + box.h <= dst_h
    assert box.w == dst_w or box.h == dst_h
    assert box.x % 2 == box.y % 2 == box.w % 2 == box.h % 2 == 0
    assert abs((dst_w - box.x - box.w) - box.x) <= 2 and abs((dst_h - box.y - box.h) - box.y) <= 2
    # The whole picture keeps its aspect ratio, up to the even rounding of its short side.
    if box.w == dst_w and box.w > 2 and box.h > 2:
        assert abs(box.h - dst_w * src_h / src_w) <= 1.0001 or box.h in (2, dst_h)


@pytest.mark.parametrize("fit", ["crop", "pad", "blur", "track"])
def test_a_vertical_source_is_simply_scaled_whatever_the_fit(fit: str) -> None:
    from shortgen.overlay import to_rgb

    frames = list(moving_square_frames(3, 90, 160))
    plain = UpscaleStage(OUT_W, OUT_H).apply(Clip(90, 160, Fraction(10), 3, iter(frames)))
    fitted = ReframeStage(OUT_W, OUT_H, fit=fit).apply(Clip(90, 160, Fraction(10), 3, iter(frames)))
    assert fitted.info["reframe"]["applied"] == "scale"
    for a, b in zip(plain.frames, fitted.frames, strict=True):
        assert np.array_equal(to_rgb(a), to_rgb(b))  # exactly what the upscale stage makes
    assert near_aspect(544, 960, 1080, 1920)  # the model's generation size counts as 9:16


@pytest.mark.parametrize("fit", ["crop", "pad", "blur", "track"])
def test_captions_stay_in_the_safe_zone_in_every_mode(fit: str) -> None:
    from shortgen.config import SafeZone

    zone = SafeZone(left=10, top=25, right=15, bottom=60)

    def render(caption: bool) -> list[np.ndarray]:
        clip = Clip(SRC_W, SRC_H, Fraction(10), 4, iter(landscape_frames(4)))
        clip = ReframeStage(OUT_W, OUT_H, fit=fit, crop_x=0.2).apply(clip)
        if caption:
            spec = {"font_size": 18, "min_font_size": 8, "style": "box"}
            clip = CaptionStage(text="Reframed footage keeps its caption", spec=spec, safe_zone=zone).apply(clip)
        from shortgen.overlay import to_rgb

        return [to_rgb(f) for f in clip.frames]

    for with_text, without in zip(render(True), render(False), strict=True):
        changed = np.argwhere(np.abs(with_text.astype(int) - without.astype(int)).max(axis=2) > 0)
        assert len(changed) > 50  # the caption is there
        assert changed[:, 0].min() >= zone.top and changed[:, 0].max() < OUT_H - zone.bottom
        assert changed[:, 1].min() >= zone.left and changed[:, 1].max() < OUT_W - zone.right


def test_image_stills_honour_the_fit(tmp_path: Path) -> None:
    from PIL import Image

    from shortgen.media import load_image

    wide = tmp_path / "wide.png"
    Image.fromarray(landscape_frames(1)[0]).save(wide)
    padded = load_image(wide, 96, 160, fit=ReframeSpec(fit="pad", pad_color="#00FF00"))
    assert padded.shape == (160, 96, 3)
    assert np.abs(padded[:20].reshape(-1, 3).astype(int) - (0, 255, 0)).max() <= 3
    assert np.abs(padded[80, 2].astype(int) - (220, 30, 30)).max() < 20  # the red left edge is kept
    right = load_image(wide, 96, 160, fit=ReframeSpec(fit="crop", crop_x=1.0))
    assert np.abs(right[:, -8:].reshape(-1, 3).mean(axis=0) - (30, 30, 220)).max() < 12
    assert load_image(wide, 96, 160).shape == (160, 96, 3)  # today's centre crop


def test_resize_spec_keeps_the_plain_crop_on_the_upscale_stage() -> None:
    assert resize_spec(ReframeSpec(), 180, 320, "lanczos")["key"] == "upscale"
    spec = resize_spec(ReframeSpec(fit="crop", crop_x=0.0), 180, 320, "bicubic")
    assert spec == {"key": "reframe", "width": 180, "height": 320, "method": "bicubic", "fit": "crop",
                    "pad_color": "#000000", "crop_x": 0.0, "crop_y": 0.5}
