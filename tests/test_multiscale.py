"""``--upscale latent``: LTX multiscale on the tiny model (pass 1 at the generation size, the tiny latent
upsampler, pass 2 at twice the size), asserted on the pipeline calls and on the decoded output."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from diffusers import LTXConditionPipeline, LTXLatentUpsamplePipeline
from typer.testing import CliRunner

from shortgen.backends import BackendInfo, LoadOptions, load_backend, register_backend
from shortgen.backends.base import ShapeRules
from shortgen.cli.app import app
from shortgen.config import MakeOptions
from shortgen.errors import ModelError, UsageError
from shortgen.multiscale import REFINE_TIMESTEPS
from shortgen.pipeline import make_clip, plan_for_stages
from tests.helpers import probe, small_preset

runner = CliRunner()


@pytest.fixture(scope="module")
def latent_backend(tiny_model_dir: Path) -> Any:
    return load_backend("ltx", LoadOptions(model=str(tiny_model_dir), extra={"latent_upsampler": "auto"}))


class Calls:
    """Records every LTXConditionPipeline and LTXLatentUpsamplePipeline call, in order."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []
        for name, cls in (("generate", LTXConditionPipeline), ("upsample", LTXLatentUpsamplePipeline)):
            original = cls.__call__

            def spy(pipe: Any, *args: Any, _name: str = name, _original: Any = original, **kwargs: Any) -> Any:
                self.calls.append((_name, kwargs))
                return _original(pipe, *args, **kwargs)

            monkeypatch.setattr(cls, "__call__", spy)

    @property
    def names(self) -> list[str]:
        return [name for name, _ in self.calls]


def options(tmp_path: Path, model: Path, **extra: Any) -> MakeOptions:
    preset = small_preset(tmp_path, output={"width": 1080, "height": 1920, "fps": 10})
    return MakeOptions(prompt="a red fox in fresh snow", preset=str(preset), model=str(model), duration=2,
                       upscale="latent", output=str(tmp_path / "out.mp4"), **extra)


def test_latent_upscale_runs_both_passes_and_writes_1080x1920(latent_backend: Any, tiny_model_dir: Path,
                                                              tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls = Calls(monkeypatch)
    result = make_clip(options(tmp_path, tiny_model_dir), backend=latent_backend)
    segments = result.plan["segments"]
    assert calls.names == ["generate", "upsample", "generate"] * len(segments)
    first, upsample, second = (kwargs for _, kwargs in calls.calls[:3])
    assert (first["width"], first["height"], first["output_type"]) == (96, 160, "latent")
    assert first.get("latents") is None and first.get("denoise_strength", 1.0) == 1.0
    assert first["num_inference_steps"] == 2  # the preset's steps
    assert upsample["latents"].shape[-2:] == (5, 3) and upsample["output_type"] == "latent"
    assert (upsample["adain_factor"], upsample["tone_map_compression_ratio"]) == (1.0, 0.6)
    assert (second["width"], second["height"]) == (192, 320)
    assert second["latents"].shape[-2:] == (10, 6)
    assert second["denoise_strength"] == pytest.approx(0.999)
    assert second["timesteps"] == list(REFINE_TIMESTEPS)
    info = probe(Path(result.output))
    assert (info["width"], info["height"], info["frames"]) == (1080, 1920, 20)
    assert result.plan["multiscale"]["width"] == 96 and result.plan["segments"]
    sidecar = json.loads(Path(result.sidecar).read_text())
    upsampler = sidecar["model"]["latent_upsampler"]
    assert upsampler["source"] == "folder" and upsampler["resolved"].endswith("latent_upsampler")


def test_latent_upscale_with_a_storyboard_and_a_seamless_loop(latent_backend: Any, tiny_model_dir: Path,
                                                              tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls = Calls(monkeypatch)
    opts = options(tmp_path, tiny_model_dir, loop="seamless")
    opts = MakeOptions(**{**{f: getattr(opts, f) for f in opts.__struct_fields__}, "prompt": ["a fox", "a river"]})
    result = make_clip(opts, backend=latent_backend)
    info = probe(Path(result.output))
    assert (info["width"], info["height"], info["frames"]) == (1080, 1920, 20)
    generate = [kwargs for name, kwargs in calls.calls if name == "generate"]
    assert len(generate) == 2 * len(result.plan["segments"]) >= 4
    conditioned = [k for k in generate if k.get("conditions")]
    assert conditioned, "later segments continue from the earlier ones"
    for kwargs in conditioned:  # conditions are applied at the size of each pass
        for cond in kwargs["conditions"]:
            image = cond.image if cond.image is not None else cond.video[0]
            assert image.size == (kwargs["width"], kwargs["height"])
    prompts = {k["prompt_embeds"].data_ptr() for k in generate}
    assert len(prompts) == 2  # both storyboard beats reached the model


def test_both_passes_are_checked_before_loading(tmp_path: Path) -> None:
    preset = small_preset(tmp_path)
    bad = MakeOptions(prompt="x", preset=str(preset), gen_size="80x160", upscale="latent", model="/nonexistent")
    with pytest.raises(UsageError, match=r"pass 1 \(80x160\).*multiple of 32"):
        plan_for_stages(bad)
    ok = plan_for_stages(MakeOptions(prompt="x", preset=str(preset), upscale="latent", model="/nonexistent"))
    assert (ok.segments.width, ok.segments.height) == (192, 320)
    assert ok.to_dict()["multiscale"]["width"] == 96


def test_backend_without_an_upsampler_says_which_upscale_values_work(tmp_path: Path) -> None:
    register_backend(BackendInfo(name="flat-test", description="no upsampler", rules=ShapeRules(),
                                 default_model="x/y", loader="shortgen.backends.ltx:load_ltx"))
    preset = small_preset(tmp_path, generation={"backend": "flat-test"})
    with pytest.raises(UsageError, match=r"no latent upsampler.*lanczos.*model:PATH"):
        plan_for_stages(MakeOptions(prompt="x", preset=str(preset), upscale="latent"))


def test_dry_run_shows_both_passes(tmp_path: Path) -> None:
    preset = small_preset(tmp_path)
    result = runner.invoke(app, ["make", "x", "--preset", str(preset), "--upscale", "latent", "--dry-run", "--json"])
    assert result.exit_code == 0, result.output
    plan = json.loads(result.output)
    assert plan["multiscale"]["width"] == 96 and plan["multiscale"]["refine_strength"] == pytest.approx(0.999)


def test_upsampler_flag_needs_latent(tmp_path: Path) -> None:
    preset = small_preset(tmp_path)
    result = runner.invoke(app, ["make", "x", "--preset", str(preset), "--upsampler", "a/b", "--dry-run"])
    assert result.exit_code == 2 and "--upscale latent" in result.output


def test_upsampler_from_a_single_safetensors_file(tiny_model_dir: Path, tmp_path: Path) -> None:
    weights = tiny_model_dir / "latent_upsampler" / "latent_upsampler" / "diffusion_pytorch_model.safetensors"
    single = tmp_path / "ltxv-spatial-upscaler.safetensors"
    shutil.copy(weights, single)  # no config.json beside it: read off the tensor shapes
    backend = load_backend("ltx", LoadOptions(model=str(tiny_model_dir), extra={"latent_upsampler": str(single)}))
    assert backend.describe()["latent_upsampler"]["source"] == "file"
    auto = load_backend("ltx", LoadOptions(model=str(tiny_model_dir), extra={"latent_upsampler": "auto"}))
    latents = np.random.default_rng(0).standard_normal((1, 8, 2, 3, 2)).astype(np.float32)
    import torch

    x = torch.from_numpy(latents)
    assert torch.equal(backend.latent_upsampler.upsample(x, 1.0, 0.6), auto.latent_upsampler.upsample(x, 1.0, 0.6))


def test_upsampler_whose_channels_do_not_match_the_vae(tiny_model_dir: Path, tmp_path: Path) -> None:
    from shortgen.backends.tiny import tiny_latent_upsampler

    folder = tmp_path / "wrong-upsampler"
    tiny_latent_upsampler(in_channels=16).save_pretrained(folder)
    with pytest.raises(ModelError, match=r"16 latent channels.*VAE has 8"):
        load_backend("ltx", LoadOptions(model=str(tiny_model_dir), extra={"latent_upsampler": str(folder)}))


def test_uncached_hub_upsampler_offline(tiny_model_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(ModelError, match=r"not in the local Hugging Face cache.*hf download"):
        load_backend("ltx", LoadOptions(model=str(tiny_model_dir),
                                        extra={"latent_upsampler": "Lightricks/ltxv-spatial-upscaler-0.9.7"}))


def test_model_folder_without_an_upsampler(tiny_model_dir: Path, tmp_path: Path) -> None:
    bare = tmp_path / "bare"
    shutil.copytree(tiny_model_dir, bare, ignore=shutil.ignore_patterns("latent_upsampler"))
    with pytest.raises(ModelError, match=r"no latent upsampler is known.*--upsampler"):
        load_backend("ltx", LoadOptions(model=str(bare), extra={"latent_upsampler": "auto"}))


def test_backend_loaded_without_an_upsampler_refuses_multiscale_requests(tiny_model_dir: Path,
                                                                          tmp_path: Path) -> None:
    plain = load_backend("ltx", LoadOptions(model=str(tiny_model_dir)))
    with pytest.raises(ModelError, match="without a latent upsampler"):
        make_clip(options(tmp_path, tiny_model_dir), backend=plain)
    assert not (tmp_path / "out.mp4").exists()


def test_multiscale_is_reproducible_and_differs_from_one_pass(latent_backend: Any) -> None:
    from shortgen.backends.base import SegmentRequest
    from shortgen.multiscale import Multiscale

    request = SegmentRequest(index=0, prompt="a fox", negative_prompt="", width=192, height=320, num_frames=9,
                             fps=10.0, steps=2, guidance_scale=1.0, seed=3,
                             extra={"multiscale": Multiscale(96, 160).to_dict()})
    first, second = latent_backend.generate(request), latent_backend.generate(request)
    assert first.shape == (9, 320, 192, 3)
    np.testing.assert_array_equal(first, second)
    one_pass = latent_backend.generate(SegmentRequest(**{**request.__dict__, "extra": {}}))
    assert not np.array_equal(first, one_pass)
