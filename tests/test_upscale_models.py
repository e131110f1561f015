"""``--upscale model:PATH``: Real-ESRGAN-family state dicts (written here in torch) load, are detected from their
keys, stream to the exact output size, and tile without changing the frames."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from typer.testing import CliRunner

from shortgen.cli.app import app
from shortgen.errors import ModelError, UsageError
from shortgen.stages.upscale import UpscaleStage
from shortgen.stages.upscale.model import load_upscaler
from shortgen.stages.upscale.sr_models import detect, read_state_dict, save_tiny_upscaler, tiny_sr_model
from tests.helpers import decode_frames, probe, small_preset, synthetic_clip, write_test_video

runner = CliRunner()
CASES = [(arch, scale, suffix) for arch in ("rrdb", "compact") for scale in (2, 4)
         for suffix in (".pth", ".safetensors")]


@pytest.mark.parametrize(("arch", "scale", "suffix"), CASES)
def test_saved_upscaler_is_detected_and_gives_the_output_size(tmp_path: Path, arch: str, scale: int,
                                                              suffix: str) -> None:
    path = save_tiny_upscaler(tmp_path / f"up{suffix}", arch, scale)  # type: ignore[arg-type]
    spec = detect(read_state_dict(path))
    assert (spec.arch, spec.scale) == (arch, scale)
    stage = UpscaleStage(180, 320, method=f"model:{path}", pixel_format="rgb24")
    clip = stage.apply(synthetic_clip(3, 48, 80))
    frames = list(clip.frames)
    assert (clip.width, clip.height) == (180, 320)
    assert [f.shape for f in frames] == [(320, 180, 3)] * 3
    assert clip.info["upscaler"]["arch"] == arch and clip.info["upscaler"]["scale"] == scale


def test_loaded_weights_are_the_saved_ones(tmp_path: Path) -> None:
    """Detection rebuilds the exact network: the loaded model computes what the saved one did."""
    path = save_tiny_upscaler(tmp_path / "rrdb.pth", "rrdb", 2, seed=3)
    upscaler = load_upscaler(path, device="cpu", tile=0)
    frame = np.random.default_rng(1).integers(0, 256, (1, 24, 32, 3), dtype=np.uint8)
    with torch.no_grad():
        want = tiny_sr_model("rrdb", 2, seed=3)(torch.from_numpy(frame).permute(0, 3, 1, 2).float() / 255)
    want_u8 = want.clamp(0, 1).mul(255).round().byte().permute(0, 2, 3, 1).numpy()
    np.testing.assert_array_equal(upscaler.upscale(frame), want_u8)


@pytest.mark.parametrize("arch", ["rrdb", "compact"])
def test_tiling_gives_the_same_frames(tmp_path: Path, arch: str) -> None:
    path = save_tiny_upscaler(tmp_path / "up.safetensors", arch, 2)  # type: ignore[arg-type]
    frames = np.random.default_rng(0).integers(0, 256, (2, 45, 70, 3), dtype=np.uint8)  # odd: reflect-padded
    whole = load_upscaler(path, device="cpu", tile=0).upscale(frames)
    tiled = load_upscaler(path, device="cpu", tile=16, tile_pad=24).upscale(frames)
    assert whole.shape == tiled.shape == (2, 90, 140, 3)
    assert np.abs(whole.astype(int) - tiled.astype(int)).max() <= 1


def test_stream_batches_frames_and_keeps_order(tmp_path: Path) -> None:
    path = save_tiny_upscaler(tmp_path / "up.safetensors", "compact", 2)
    frames = [np.full((16, 16, 3), 20 * i, dtype=np.uint8) for i in range(5)]
    one = list(load_upscaler(path, device="cpu", batch=1).stream(iter(frames)))
    three = list(load_upscaler(path, device="cpu", batch=3).stream(iter(frames)))
    assert len(one) == len(three) == 5
    for a, b in zip(one, three, strict=True):
        assert np.abs(a.astype(int) - b.astype(int)).max() <= 1


def test_unknown_architecture_names_what_was_found(tmp_path: Path) -> None:
    path = tmp_path / "swinir.pth"
    torch.save({"params": {"patch_embed.proj.weight": torch.zeros(4, 3, 1, 1), "layers.0.x": torch.zeros(2)}}, path)
    with pytest.raises(ModelError, match=r"not a known upscaler architecture.*patch_embed\.proj\.weight"):
        UpscaleStage(180, 320, method=f"model:{path}")


def test_missing_or_foreign_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="does not exist"):
        UpscaleStage(180, 320, method=f"model:{tmp_path / 'nope.pth'}")
    junk = tmp_path / "junk.safetensors"
    junk.write_bytes(b"not a safetensors file")
    with pytest.raises(ModelError, match="cannot read"):
        UpscaleStage(180, 320, method=f"model:{junk}")


def test_edit_with_a_model_upscaler_writes_the_output_size(tmp_path: Path) -> None:
    source = write_test_video(tmp_path / "in.mp4", n=6, width=48, height=80, fps=10)
    upscaler = save_tiny_upscaler(tmp_path / "upscaler-x2.safetensors")
    preset = small_preset(tmp_path, output={"width": 180, "height": 320, "fps": 10})
    out = tmp_path / "out.mp4"
    result = runner.invoke(app, ["edit", str(source), "--preset", str(preset), "--upscale", f"model:{upscaler}",
                                 "-o", str(out), "--json"])
    assert result.exit_code == 0, result.output
    facts = probe(out)
    assert (facts["width"], facts["height"], facts["frames"]) == (180, 320, 6)
    sidecar = json.loads(out.with_suffix(".json").read_text())
    assert sidecar["result"]["info"]["upscaler"]["arch"] == "compact"
    # The tiny model is the nearest-upsampled input plus a little noise: the picture survives.
    got, want = decode_frames(out)[0], decode_frames(source)[0]
    assert np.abs(got[::4, ::4].astype(int) - want[:, 1:46].astype(int)).mean() < 20  # cover crop: x from 1


@pytest.mark.parametrize(("value", "message"), [("model:", "not an upscaler"), ("sharp", "not an upscaler")])
def test_bad_upscale_values_are_usage_errors(tmp_path: Path, value: str, message: str) -> None:
    source = write_test_video(tmp_path / "in.mp4", n=3, width=48, height=80)
    out = tmp_path / "out.mp4"
    result = runner.invoke(app, ["edit", str(source), "--upscale", value, "-o", str(out)])
    assert result.exit_code == 2 and message in result.output
    assert not out.exists()


def test_edit_refuses_latent_upscaling(tmp_path: Path) -> None:
    source = write_test_video(tmp_path / "in.mp4", n=3, width=48, height=80)
    out = tmp_path / "out.mp4"
    result = runner.invoke(app, ["edit", str(source), "--upscale", "latent", "-o", str(out)])
    assert result.exit_code == 2 and "model:PATH" in result.output
    assert not out.exists()


def test_models_tiny_writes_a_compact_x2_upscaler(tiny_model_dir: Path) -> None:
    path = tiny_model_dir / "upscaler-x2.safetensors"
    spec = detect(read_state_dict(path))
    assert (spec.arch, spec.scale) == ("compact", 2)
    frames = load_upscaler(path, device="cpu").upscale(np.zeros((1, 16, 24, 3), dtype=np.uint8))
    assert frames.shape == (1, 32, 48, 3)
