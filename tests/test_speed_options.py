"""Speed options give the same frames as the plain path (on CPU, with the tiny model)."""

from __future__ import annotations

from dataclasses import replace as replace_request
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from shortgen.backends import LoadOptions, load_backend
from shortgen.backends.base import SegmentRequest
from shortgen.config import MakeOptions, replace
from shortgen.pipeline import load_generator, make_clip, resolve_preset
from tests.helpers import decode_frames, small_preset

REQUEST = SegmentRequest(index=0, prompt="a red fox", negative_prompt="blurry", width=96, height=160,
                         num_frames=17, fps=10, steps=2, guidance_scale=1.0, seed=11)


def generate(model: Path, **options: Any) -> np.ndarray:
    return load_backend("ltx", LoadOptions(model=str(model), **options)).generate(REQUEST)


def test_cached_prompts_without_the_text_encoder_give_the_same_frames(tiny_model_dir: Path) -> None:
    plain = generate(tiny_model_dir)
    backend = load_backend("ltx", LoadOptions(model=str(tiny_model_dir)))
    backend.prepare_prompts([REQUEST.prompt], REQUEST.negative_prompt, REQUEST.guidance_scale)
    backend.release_text_encoder()
    assert np.array_equal(backend.generate(REQUEST), plain)


def test_native_attention_backend_gives_the_same_frames(tiny_model_dir: Path) -> None:
    plain = generate(tiny_model_dir)
    native = generate(tiny_model_dir, extra={"attention_backend": "native"})
    assert np.abs(native.astype(int) - plain.astype(int)).max() <= 1


def mean_abs_diff(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.abs(a.astype(np.int16) - b.astype(np.int16)).mean())


def test_fp8_stores_float8_weights_and_keeps_the_frames_close(tiny_model_dir: Path) -> None:
    backend = load_backend("ltx", LoadOptions(model=str(tiny_model_dir), fp8=True))
    transformer = backend.pipeline.transformer  # type: ignore[attr-defined]
    block = transformer.transformer_blocks[0]
    for linear in (block.attn1.to_q, block.attn2.to_k, block.ff.net[2]):
        assert linear.weight.dtype == torch.float8_e4m3fn
    assert transformer.proj_out.weight.dtype == torch.float32  # diffusers keeps in/out projections and norms
    assert backend.describe()["fp8"] is True and backend.describe()["dtype"] == "float32"
    plain = generate(tiny_model_dir)
    fp8 = backend.generate(REQUEST)
    assert fp8.shape == plain.shape and fp8.dtype == plain.dtype
    # e4m3 keeps 3 mantissa bits: each weight moves by up to 1/16 of itself. Measured: 0.33 levels mean, 7 at
    # most, correlation 0.99995 (latents 0.5% off). Frames from another seed are 43 levels off, correlation
    # 0.58, so the bound of 2 levels catches garbage; the inequality catches fp8 doing nothing.
    assert not np.array_equal(fp8, plain)
    assert mean_abs_diff(fp8, plain) < 2
    assert np.corrcoef(fp8.ravel(), plain.ravel())[0, 1] > 0.999


def test_vae_tiling_is_on_and_tiled_frames_stay_close(tiny_model_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    plain_backend = load_backend("ltx", LoadOptions(model=str(tiny_model_dir)))
    assert plain_backend.describe()["vae_tiling"] is False
    backend = load_backend("ltx", LoadOptions(model=str(tiny_model_dir), vae_tiling=True))
    vae = backend.pipeline.vae  # type: ignore[attr-defined]
    assert vae.use_tiling and backend.describe()["vae_tiling"] is True
    assert load_backend("ltx", LoadOptions(model=str(tiny_model_dir), low_memory=True)).describe()["vae_tiling"]
    # Default tiles are 512 px; at 96x160 only tiles of 128 px, 64 apart (64 px blended), split the frame.
    vae.enable_tiling(tile_sample_min_height=128, tile_sample_min_width=128, tile_sample_stride_height=64,
                      tile_sample_stride_width=64)
    tiled_calls: list[int] = []
    original = type(vae).tiled_decode
    monkeypatch.setattr(type(vae), "tiled_decode", lambda self, *a, **k: tiled_calls.append(1) or original(
        self, *a, **k))
    tiled = backend.generate(REQUEST)
    plain = plain_backend.generate(REQUEST)
    other = plain_backend.generate(replace_request(REQUEST, seed=12))
    assert tiled_calls and tiled.shape == plain.shape
    # A tile sees zero padding where the whole frame has real neighbours, and this random decoder reaches
    # ~5 latents (160 px) either way, so the seams show far more than with trained weights and 512 px tiles.
    # Measured: 15.3 levels mean, correlation 0.93; another seed is 43 off (0.58). Bound: half the distance
    # to an unrelated clip, and a clearly higher correlation than one.
    assert 0 < mean_abs_diff(tiled, plain) < mean_abs_diff(other, plain) / 2
    assert np.corrcoef(tiled.ravel(), plain.ravel())[0, 1] > 0.85


def test_flags_reach_the_loader(tiny_model_dir: Path, tmp_path: Path) -> None:
    options = MakeOptions(prompt="x", preset=str(small_preset(tmp_path)), model=str(tiny_model_dir),
                          attention_backend="native")
    backend = load_generator(resolve_preset(options), options, progress=__import__("shortgen").Progress())
    assert backend.describe()["attention_backend"] == "native"


def test_make_frees_the_text_encoder_and_keeps_the_frames(tiny_model_dir: Path, tmp_path: Path) -> None:
    preset = small_preset(tmp_path)
    options = MakeOptions(prompt="a | b", preset=str(preset), model=str(tiny_model_dir), duration=2, seed=4)
    own = tmp_path / "own.mp4"
    make_clip(replace(options, output=str(own)))  # loads its own model, frees T5 after encoding
    shared = tmp_path / "shared.mp4"
    backend = load_backend("ltx", LoadOptions(model=str(tiny_model_dir)))
    make_clip(replace(options, output=str(shared)), backend=backend)  # keeps T5 (batch's way)
    assert np.array_equal(np.stack(decode_frames(own)), np.stack(decode_frames(shared)))


@pytest.mark.slow
def test_compiled_transformer_gives_the_same_shapes_and_close_frames(tiny_model_dir: Path) -> None:
    plain = generate(tiny_model_dir)
    compiled = generate(tiny_model_dir, compile=True)
    assert compiled.shape == plain.shape and compiled.dtype == plain.dtype
    assert np.abs(compiled.astype(int) - plain.astype(int)).mean() < 2
