"""``edit --restyle PROMPT --strength S``: the pipeline receives the input's encoded latents and S; length and
size are right; bad values are one-line errors."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import torch
from diffusers import LTXConditionPipeline
from typer.testing import CliRunner

from shortgen.cli.app import app
from tests.helpers import probe, small_preset, write_test_video

runner = CliRunner()


@pytest.fixture(scope="module")
def street(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_test_video(tmp_path_factory.mktemp("restyle") / "street.mp4", n=20, width=96, height=160, fps=10)


def test_restyle_denoises_the_encoded_input_from_strength(street: Path, tiny_model_dir: Path, tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    from shortgen.backends.ltx.generate import encode_video

    calls: list[dict[str, Any]] = []
    original = LTXConditionPipeline.__call__

    def spy(pipe: Any, *args: Any, **kwargs: Any) -> Any:
        calls.append({**kwargs, "pipe": pipe})
        return original(pipe, *args, **kwargs)

    monkeypatch.setattr(LTXConditionPipeline, "__call__", spy)
    out = tmp_path / "paint.mp4"
    result = runner.invoke(app, ["edit", str(street), "--restyle", "the same street as a watercolour painting",
                                 "--strength", "0.5", "--model", str(tiny_model_dir), "--preset",
                                 str(small_preset(tmp_path)), "-o", str(out), "--json"])
    assert result.exit_code == 0, result.output
    info = probe(out)
    assert (info["width"], info["height"], info["frames"]) == (180, 320, 20)
    assert len(calls) >= 2  # 20 frames in segments of 17 sharing 9
    first = calls[0]
    assert first["timesteps"][1] == pytest.approx(500.0)  # the schedule starts at the strength's noise level
    assert 0 < first["denoise_strength"] < 1
    from tests.helpers import decode_frames

    frames = torch.from_numpy(__import__("numpy").stack(decode_frames(street)[:17]))
    want = encode_video(first["pipe"], frames.numpy())
    assert torch.allclose(first["latents"], want, atol=1e-4)
    assert calls[1]["conditions"], "the second segment continues from the first"


@pytest.mark.parametrize(("args", "message"), [
    (["--restyle", "water", "--strength", "0"], "--strength"),
    (["--restyle", "water", "--strength", "1.5"], "--strength"),
    (["--restyle", "  "], "needs a prompt"),
    (["--strength", "0.5"], "only acts with --restyle"),
])
def test_bad_restyle_values(street: Path, tmp_path: Path, args: list[str], message: str) -> None:
    out = tmp_path / "out.mp4"
    result = runner.invoke(app, ["edit", str(street), *args, "-o", str(out)])
    assert result.exit_code == 2 and message in result.output, result.output
    assert not out.exists()
