"""``--upscale model:PATH`` with every fit: the model (the tiny ×2 upscaler ``shortgen models tiny`` writes) runs
on the part of the source the output shows (the crop window; the whole frame for pad, blur and track) before the
reframe stage resamples it, only when that part is enlarged, and the sidecar says so."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from typer.testing import CliRunner

from shortgen.cli.app import app
from shortgen.config import MakeOptions
from shortgen.stages import build_stage, takes_yuv
from shortgen.stages.upscale import UpscaleStage
from shortgen.stages.upscale.model import ModelUpscaler
from shortgen.stages.upscale.sr_models import TINY_UPSCALER_FILE
from shortgen.stages.upscale.sr_stage import model_region
from tests.helpers import decode_frames, probe, small_preset, synthetic_clip, write_test_video

runner = CliRunner()
SRC_W, SRC_H, FRAMES = 64, 48, 10  # a small landscape clip; the test preset's output is 180x320
FITS = {  # CLI flags → the source region the model must see (x, y, w, h)
    "blur": (["--fit", "blur"], (0, 0, 64, 48)),
    "pad": (["--fit", "pad"], (0, 0, 64, 48)),
    "track": (["--fit", "track"], (0, 0, 64, 48)),
    "crop-left": (["--fit", "crop", "--crop-x", "0"], (0, 0, 27, 48)),
    "crop-right": (["--crop-x", "1"], (37, 0, 27, 48)),
}


@pytest.fixture
def upscaler(tiny_model_dir: Path) -> Path:
    return tiny_model_dir / TINY_UPSCALER_FILE


@pytest.fixture
def model_inputs(monkeypatch: pytest.MonkeyPatch) -> list[np.ndarray]:
    """Every batch of frames the model is given (a spy around the real model)."""
    seen: list[np.ndarray] = []
    original = ModelUpscaler.upscale

    def spy(self: ModelUpscaler, frames: np.ndarray) -> np.ndarray:
        seen.append(np.array(frames))
        return original(self, frames)

    monkeypatch.setattr(ModelUpscaler, "upscale", spy)
    return seen


def edit(tmp_path: Path, source: Path, flags: list[str], upscale: str, name: str) -> tuple[Any, Path]:
    preset = small_preset(tmp_path)
    out = tmp_path / f"{name}.mp4"
    result = runner.invoke(app, ["edit", str(source), "--preset", str(preset), *flags, "--upscale", upscale,
                                 "-o", str(out)])
    return result, out


@pytest.mark.parametrize("case", list(FITS))
def test_every_fit_runs_the_model_on_the_part_the_output_shows(tmp_path: Path, upscaler: Path, case: str,
                                                               model_inputs: list[np.ndarray]) -> None:
    flags, (x, y, w, h) = FITS[case]
    source = write_test_video(tmp_path / "in.mp4", n=FRAMES, width=SRC_W, height=SRC_H)
    result, out = edit(tmp_path, source, flags, f"model:{upscaler}", "model")
    assert result.exit_code == 0, result.output
    assert "skipped" not in result.output
    facts = probe(out)
    assert (facts["width"], facts["height"], facts["frames"]) == (180, 320, FRAMES)
    # The model saw RGB arrays of exactly that region, every frame once...
    assert sum(len(batch) for batch in model_inputs) == FRAMES
    assert {batch.shape[1:] for batch in model_inputs} == {(h, w, 3)}
    first = decode_frames(source)[0][y:y + h, x:x + w].astype(int)
    assert np.abs(model_inputs[0][0].astype(int) - first).mean() < 3
    # ...and the sidecar records it, with the reframe stage after it.
    info = json.loads(out.with_suffix(".json").read_text())["result"]["info"]
    assert info["upscaler"]["applied"] is True and info["upscaler"]["region"] == [x, y, w, h]
    assert info["upscaler"]["arch"] == "compact" and info["upscaler"]["scale"] == 2
    assert info["upscaler"]["source_size"] == f"{SRC_W}x{SRC_H}"
    assert info["reframe"]["fit"] == ("crop" if case.startswith("crop") else case)
    # The picture differs from the plain Lanczos reframe of the same fit, yet is the same picture.
    plain, plain_out = edit(tmp_path, source, flags, "lanczos", "plain")
    assert plain.exit_code == 0, plain.output
    got, want = np.stack(decode_frames(out)).astype(int), np.stack(decode_frames(plain_out)).astype(int)
    assert got.shape == want.shape
    assert 2 < np.abs(got - want).mean() < 25


def test_a_source_larger_than_its_band_skips_the_model_with_one_warning(tmp_path: Path, upscaler: Path,
                                                                        model_inputs: list[np.ndarray]) -> None:
    source = write_test_video(tmp_path / "in.mp4", n=FRAMES, width=320, height=240)  # band: 180x136
    result, out = edit(tmp_path, source, ["--fit", "blur"], f"model:{upscaler}", "big")
    assert result.exit_code == 0, result.output
    assert result.output.count("the model was skipped") == 1
    assert "picture (320x240)" in result.output and "(180x136)" in result.output
    assert model_inputs == []
    facts = probe(out)
    assert (facts["width"], facts["height"], facts["frames"]) == (180, 320, FRAMES)
    info = json.loads(out.with_suffix(".json").read_text())["result"]["info"]
    assert info["upscaler"]["applied"] is False and info["upscaler"]["file"] == str(upscaler)
    assert any("the model was skipped" in message for message in info["warnings"])


def test_the_centre_crop_skips_the_model_too_when_the_window_is_large(upscaler: Path,
                                                                      model_inputs: list[np.ndarray]) -> None:
    stage = UpscaleStage(90, 160, method=f"model:{upscaler}", pixel_format="rgb24")
    clip = stage.apply(synthetic_clip(3, 200, 300))  # window 169x300: larger than 90x160
    assert [frame.shape for frame in clip.frames] == [(160, 90, 3)] * 3
    assert model_inputs == [] and clip.info["upscaler"]["applied"] is False
    assert len(clip.info["warnings"]) == 1 and "crop window (169x300)" in clip.info["warnings"][0]


@pytest.mark.parametrize("fit", ["blur", "pad", "track", "crop"])
def test_model_upscale_specs_put_the_sr_stage_before_the_reframe_stage(tmp_path: Path, upscaler: Path,
                                                                       fit: str) -> None:
    from shortgen.pipeline import build_post_stages, post_stage_specs, resolve_preset

    flags = {"crop_x": 0.0} if fit == "crop" else {}
    options = MakeOptions(preset=str(small_preset(tmp_path)), fit=fit, upscale=f"model:{upscaler}", **flags)
    preset = resolve_preset(options)
    specs = post_stage_specs(preset, options)
    assert [s["key"] for s in specs] == ["sr", "reframe"]
    assert specs[0]["fit"] == fit and specs[1]["method"] == "lanczos"
    assert not takes_yuv(build_post_stages(preset, options))  # edit decodes RGB for the model
    centred = MakeOptions(preset=str(small_preset(tmp_path)), fit="crop", upscale=f"model:{upscaler}")
    assert [s["key"] for s in post_stage_specs(resolve_preset(centred), centred)] == ["upscale"]


def test_model_region_geometry() -> None:
    assert model_region("crop", 640, 480, 180, 320, 1.0) == ((370, 0, 270, 480), (180, 320), "crop window")
    assert model_region("blur", 640, 480, 180, 320) == ((0, 0, 640, 480), (180, 136), "picture")
    # track: the whole frame, shown at the scale its 9:16 window is (1080/608 for a 1080p source)
    assert model_region("track", 1920, 1080, 1080, 1920) == ((0, 0, 1920, 1080), (3411, 1920), "frame")
    # within NEAR_ASPECT of the output every fit is a cover-scale: the centred window
    assert model_region("pad", 182, 320, 180, 320)[0] == (1, 0, 180, 320)


def test_the_sr_stage_takes_yuv_frames_from_a_python_caller(upscaler: Path) -> None:
    import av

    stage = build_stage({"key": "sr", "method": f"model:{upscaler}", "width": 180, "height": 320, "fit": "pad"})
    clip = synthetic_clip(2, 64, 48)
    yuv = clip.with_frames([av.VideoFrame.from_ndarray(f, format="rgb24").reformat(format="yuv420p")
                            for f in clip.frames])
    out = stage.apply(yuv)
    assert (out.width, out.height) == (128, 96)
    assert [frame.shape for frame in out.frames] == [(96, 128, 3)] * 2


@pytest.mark.parametrize("flags", [["--fit", "blur"], ["--fit", "track"], ["--crop-x", "0"]])
def test_bad_upscaler_files_are_one_line_errors_for_every_fit(tmp_path: Path, flags: list[str]) -> None:
    source = write_test_video(tmp_path / "in.mp4", n=FRAMES, width=SRC_W, height=SRC_H)
    result, out = edit(tmp_path, source, flags, f"model:{tmp_path / 'nope.pth'}", "missing")
    assert result.exit_code == 2 and "does not exist" in result.output
    assert result.output.count("\n") == 1 and "Traceback" not in result.output
    assert not out.exists() and not out.with_suffix(".json").exists()
    junk = tmp_path / "junk.safetensors"
    junk.write_bytes(b"not a safetensors file")
    result, out = edit(tmp_path, source, flags, f"model:{junk}", "junk")
    assert result.exit_code == 1 and "cannot read" in result.output and result.output.count("\n") == 1
    assert not out.exists()


def test_make_runs_the_model_before_a_blur_reframe(tmp_path: Path, tiny_model_dir: Path, upscaler: Path,
                                                   model_inputs: list[np.ndarray]) -> None:
    """``make`` with a landscape generation size: the model sees the generated frames whole, then blur."""
    from shortgen.pipeline import make_clip

    out = tmp_path / "made.mp4"
    options = MakeOptions(prompt="a fox", preset=str(small_preset(tmp_path)), model=str(tiny_model_dir),
                          duration=1, gen_size="160x96", fit="blur", upscale=f"model:{upscaler}", output=str(out))
    result = make_clip(options)
    assert {batch.shape[1:] for batch in model_inputs} == {(96, 160, 3)}
    assert sum(len(batch) for batch in model_inputs) == result.frames == 10
    assert result.info["upscaler"]["applied"] is True and result.info["reframe"]["applied"] == "blur"
    assert (probe(out)["width"], probe(out)["height"]) == (180, 320)
