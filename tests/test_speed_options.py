"""Speed options give the same frames as the plain path (on CPU, with the tiny model)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from shortgen.backends import LoadOptions, load_backend
from shortgen.backends.base import SegmentRequest
from shortgen.config import MakeOptions
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


def test_flags_reach_the_loader(tiny_model_dir: Path, tmp_path: Path) -> None:
    options = MakeOptions(prompt="x", preset=str(small_preset(tmp_path)), model=str(tiny_model_dir),
                          attention_backend="native")
    backend = load_generator(resolve_preset(options), options, progress=__import__("shortgen").Progress())
    assert backend.describe()["attention_backend"] == "native"


def test_make_frees_the_text_encoder_and_keeps_the_frames(tiny_model_dir: Path, tmp_path: Path) -> None:
    preset = small_preset(tmp_path)
    options = MakeOptions(prompt="a | b", preset=str(preset), model=str(tiny_model_dir), duration=2, seed=4)
    own = tmp_path / "own.mp4"
    make_clip(options.model_copy(update={"output": str(own)}))  # loads its own model, frees T5 after encoding
    shared = tmp_path / "shared.mp4"
    backend = load_backend("ltx", LoadOptions(model=str(tiny_model_dir)))
    make_clip(options.model_copy(update={"output": str(shared)}), backend=backend)  # keeps T5 (batch's way)
    assert np.array_equal(np.stack(decode_frames(own)), np.stack(decode_frames(shared)))


@pytest.mark.slow
def test_compiled_transformer_gives_the_same_shapes_and_close_frames(tiny_model_dir: Path) -> None:
    plain = generate(tiny_model_dir)
    compiled = generate(tiny_model_dir, compile=True)
    assert compiled.shape == plain.shape and compiled.dtype == plain.dtype
    assert np.abs(compiled.astype(int) - plain.astype(int)).mean() < 2
