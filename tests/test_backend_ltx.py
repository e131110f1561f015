"""The LTX backend and the tiny offline model, through the same registry path real models use."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from shortgen.backends import FrameCondition, LoadOptions, SegmentRequest, load_backend
from shortgen.backends.tiny import MARKER_FILE, build_tiny_ltx, is_tiny_model
from shortgen.errors import ModelError, ShortgenError, UsageError
from shortgen.progress import RecordingProgress

WIDTH, HEIGHT, FRAMES = 96, 64, 17


def request(**changes: Any) -> SegmentRequest:
    base = SegmentRequest(index=0, prompt="a red car on a wet street", negative_prompt="worst quality",
                          width=WIDTH, height=HEIGHT, num_frames=FRAMES, fps=24.0, steps=8,
                          guidance_scale=1.0, seed=7)
    return replace(base, **changes)


def one_line(err: ShortgenError) -> str:
    text = str(err)
    assert "\n" not in text and "Traceback" not in text
    return text


@pytest.fixture(scope="module")
def backend(tiny_model_dir: Path) -> Any:
    return load_backend("ltx", LoadOptions(model=str(tiny_model_dir)))


@pytest.fixture(scope="module")
def plain(backend: Any) -> np.ndarray:
    return backend.generate(request())


# --- the tiny model --------------------------------------------------------------------------------------


def _files(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_tiny_build_is_deterministic_and_rebuilds_over_itself(tiny_model_dir: Path, tmp_path: Path) -> None:
    again = build_tiny_ltx(tmp_path / "again", seed=0)
    weights = [name for name in _files(tiny_model_dir) if name.endswith(".safetensors")]
    # transformer, vae, text encoder; the latent upsampler's pipeline (its network and a VAE copy) and the tiny
    # pixel upscaler (issue 12)
    assert sorted(weights) == ["latent_upsampler/latent_upsampler/diffusion_pytorch_model.safetensors",
                               "latent_upsampler/vae/diffusion_pytorch_model.safetensors",
                               "text_encoder/model.safetensors", "transformer/diffusion_pytorch_model.safetensors",
                               "upscaler-x2.safetensors", "vae/diffusion_pytorch_model.safetensors"]
    assert _files(again) == _files(tiny_model_dir)
    build_tiny_ltx(again, seed=0)  # a tiny model folder may be rebuilt without overwrite
    assert _files(again) == _files(tiny_model_dir)
    marker = json.loads((again / MARKER_FILE).read_text())
    assert marker["random_weights"] is True and (again / "README.txt").is_file()


def test_tiny_build_refuses_a_foreign_non_empty_folder(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("keep me")
    with pytest.raises(UsageError, match="not empty") as err:
        build_tiny_ltx(tmp_path)
    one_line(err.value)
    assert (tmp_path / "notes.txt").read_text() == "keep me" and not is_tiny_model(tmp_path)


def test_tiny_vae_has_real_ltx_compression(backend: Any) -> None:
    vae = backend.pipeline.vae
    assert (vae.spatial_compression_ratio, vae.temporal_compression_ratio) == (32, 8)
    assert vae.config.patch_size == 4 and vae.config.timestep_conditioning is True
    assert (backend.pipeline.vae_spatial_compression_ratio, backend.pipeline.vae_temporal_compression_ratio) == (32, 8)


def test_tiny_tokenizer_survives_save_and_takes_any_prompt(backend: Any) -> None:
    tokenizer = backend.pipeline.tokenizer
    ids = tokenizer("a zebra café 🦓 at sunset").input_ids
    assert tokenizer.unk_token_id in ids and ids[-1] == tokenizer.eos_token_id
    assert max(ids) < backend.pipeline.text_encoder.config.vocab_size


# --- generation ------------------------------------------------------------------------------------------


def test_generate_shape_dtype_and_steps(backend: Any, plain: np.ndarray) -> None:
    steps: list[tuple[int, int]] = []
    frames = backend.generate(request(), on_step=lambda step, total: steps.append((step, total)))
    assert frames.shape == (FRAMES, HEIGHT, WIDTH, 3) and frames.dtype == np.uint8
    assert steps == [(i, 8) for i in range(1, 9)]  # the distilled 8-step schedule
    np.testing.assert_array_equal(frames, plain)  # same seed, same frames


def test_different_seed_gives_different_frames(backend: Any, plain: np.ndarray) -> None:
    assert not np.array_equal(backend.generate(request(seed=8)), plain)


def test_portrait_size_and_cfg(backend: Any) -> None:
    frames = backend.generate(request(width=64, height=96, num_frames=9, guidance_scale=3.0, steps=2))
    assert frames.shape == (9, 96, 64, 3)


def test_video_condition_at_frame_zero_changes_output(backend: Any, plain: np.ndarray) -> None:
    cond = FrameCondition(frames=np.full((9, HEIGHT, WIDTH, 3), 200, np.uint8), frame_index=0)
    frames = backend.generate(request(conditions=(cond,)))
    assert frames.shape == plain.shape and not np.array_equal(frames, plain)


def test_conditions_at_the_last_frame(backend: Any, plain: np.ndarray) -> None:
    first = plain[:1]
    image_at_end = FrameCondition(frames=first, frame_index=FRAMES - 1)
    video_at_end = FrameCondition(frames=plain[:9], frame_index=FRAMES - 9)
    for cond in (image_at_end, video_at_end):
        frames = backend.generate(request(conditions=(cond,)))
        assert frames.shape == plain.shape and not np.array_equal(frames, plain)


@pytest.mark.parametrize(("changes", "match"), [
    ({"width": 100}, "width 100 is not a multiple of 32"),
    ({"num_frames": 20}, "20 frames does not fit"),
    ({"conditions": (FrameCondition(frames=np.zeros((10, HEIGHT, WIDTH, 3), np.uint8)),)}, "1 or 8k"),
    ({"conditions": (FrameCondition(frames=np.zeros((9, HEIGHT, WIDTH, 3), np.uint8), frame_index=9),)},
     "does not fit in 17"),
    ({"num_frames": 25,
      "conditions": (FrameCondition(frames=np.zeros((17, HEIGHT, WIDTH, 3), np.uint8), frame_index=4),)},
     "multiple of 8"),
    ({"conditions": (FrameCondition(frames=np.zeros((1, 32, 32, 3), np.uint8)),)}, "resize"),
    ({"extra": {"decode_timestpe": 0.1}}, "unknown ltx generation option"),
])
def test_bad_requests_fail_before_the_pipeline_runs(backend: Any, monkeypatch: pytest.MonkeyPatch,
                                                     changes: dict[str, Any], match: str) -> None:
    def must_not_run(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("the pipeline ran")

    monkeypatch.setattr(type(backend.pipeline), "__call__", must_not_run)
    monkeypatch.setattr(backend.pipeline, "encode_prompt", must_not_run)
    with pytest.raises(UsageError, match=match) as err:
        backend.generate(request(**changes))
    one_line(err.value)


def test_prompt_embeddings_are_cached_and_survive_releasing_the_encoder(tiny_model_dir: Path) -> None:
    backend = load_backend("ltx", LoadOptions(model=str(tiny_model_dir)))
    calls: list[str] = []
    encode = backend.pipeline.encode_prompt

    def counting(*args: Any, **kwargs: Any) -> Any:
        if kwargs.get("prompt") is not None:  # the pipeline calls it too, with ready embeddings
            calls.append(kwargs["prompt"])
        return encode(*args, **kwargs)

    backend.pipeline.encode_prompt = counting
    small = {"num_frames": 9, "steps": 1}
    backend.prepare_prompts(["a dog"], "worst quality", guidance_scale=1.0)
    backend.generate(request(prompt="a dog", **small))
    backend.generate(request(prompt="a dog", seed=3, **small))
    assert calls == ["a dog"]
    backend.release_text_encoder()
    assert backend.pipeline.text_encoder is None
    assert backend.generate(request(prompt="a dog", **small)).shape == (9, HEIGHT, WIDTH, 3)
    with pytest.raises(ModelError, match="released"):
        backend.generate(request(prompt="a cat", **small))


# --- loading ---------------------------------------------------------------------------------------------


def test_describe_and_progress(tiny_model_dir: Path) -> None:
    progress = RecordingProgress()
    backend = load_backend("ltx", LoadOptions(model=str(tiny_model_dir), low_memory=True), progress)
    assert progress.events == [("start", "load", "Loading model", "None"), ("finish", "load")]
    assert any("CUDA" in w for w in progress.warnings)  # no offload on CPU, but VAE tiling still on
    assert backend.pipeline.vae.use_tiling
    facts = backend.describe()
    assert facts["source"] == "folder" and facts["resolved"] == str(tiny_model_dir.resolve())
    assert facts["device"] == "cpu" and facts["dtype"] == "float32" and facts["random_weights"] is True
    assert {"diffusers", "torch", "revision", "low_memory"} <= facts.keys()


def _original_transformer_file(backend: Any, path: Path) -> Path:
    """Save the tiny transformer with the original LTX-Video key names, as Lightricks' single files have."""
    from safetensors.torch import save_file

    renames = {"proj_in": "patchify_proj", "time_embed": "adaln_single", "norm_q": "q_norm", "norm_k": "k_norm"}
    state = {}
    for key, value in backend.pipeline.transformer.state_dict().items():
        for new, old in renames.items():
            key = key.replace(new, old)
        state[f"model.diffusion_model.{key}"] = value.contiguous()
    save_file(state, str(path))
    return path


def test_single_file_checkpoint_with_a_base_folder(backend: Any, plain: np.ndarray, tiny_model_dir: Path,
                                                   tmp_path: Path) -> None:
    checkpoint = _original_transformer_file(backend, tmp_path / "ltxv-tiny-distilled.safetensors")
    single = load_backend("ltx", LoadOptions(model=str(checkpoint), extra={"base_model": str(tiny_model_dir)}))
    assert single.describe()["source"] == "single_file"
    # Same weights; float32 kernels may round the last bit differently, so allow ±1 on a few pixels.
    diff = np.abs(single.generate(request()).astype(np.int16) - plain)
    assert diff.max() <= 1 and np.count_nonzero(diff) < diff.size // 1000


def test_missing_path(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="does not exist") as err:
        load_backend("ltx", LoadOptions(model=str(tmp_path / "nowhere")))
    one_line(err.value)


def test_folder_without_model_index(tmp_path: Path) -> None:
    (tmp_path / "weights.safetensors").write_bytes(b"")
    with pytest.raises(ModelError, match=r"no model_index\.json") as err:
        load_backend("ltx", LoadOptions(model=str(tmp_path)))
    assert "single-file" in one_line(err.value)


def test_folder_with_another_pipeline(tmp_path: Path) -> None:
    (tmp_path / "model_index.json").write_text(json.dumps({"_class_name": "WanPipeline"}))
    with pytest.raises(ModelError, match="WanPipeline, not an LTX-Video pipeline") as err:
        load_backend("ltx", LoadOptions(model=str(tmp_path)))
    one_line(err.value)


def test_not_an_ltx_checkpoint(tmp_path: Path) -> None:
    from safetensors.numpy import save_file

    save_file({"weight": np.zeros(2, np.float32)}, str(tmp_path / "other.safetensors"))
    with pytest.raises(ModelError, match="not an LTX-Video checkpoint"):
        load_backend("ltx", LoadOptions(model=str(tmp_path / "other.safetensors")))


@pytest.mark.parametrize("model", [
    "shortgen-tests/no-such-model",
    "shortgen-tests/no-such-model/ltxv-2b.safetensors",
    "https://huggingface.co/shortgen-tests/no-such-model/blob/main/ltxv-2b.safetensors",
])
def test_uncached_hub_model_offline(model: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(ModelError, match="not in the local Hugging Face cache") as err:
        load_backend("ltx", LoadOptions(model=model))
    assert "hf download shortgen-tests/no-such-model" in one_line(err.value)


def test_unknown_load_option(tiny_model_dir: Path) -> None:
    with pytest.raises(UsageError, match="unknown ltx load option"):
        load_backend("ltx", LoadOptions(model=str(tiny_model_dir), extra={"base_modle": "x"}))


def test_base_model_for_single_files() -> None:
    from shortgen.backends.ltx import BASE_MODEL_2B, BASE_MODEL_13B, _base_model_for

    assert _base_model_for(["model.diffusion_model.transformer_blocks.47.scale_shift_table"]) == BASE_MODEL_13B
    assert _base_model_for(["model.diffusion_model.transformer_blocks.27.scale_shift_table"]) == BASE_MODEL_2B


def test_incomplete_model_folder(tiny_model_dir: Path, tmp_path: Path) -> None:
    import shutil

    broken = shutil.copytree(tiny_model_dir, tmp_path / "broken")
    shutil.rmtree(broken / "transformer")
    with pytest.raises(ModelError, match="cannot load the model folder") as err:
        load_backend("ltx", LoadOptions(model=str(broken)))
    one_line(err.value)
