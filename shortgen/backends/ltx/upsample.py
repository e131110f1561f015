"""LTX multiscale (``--upscale latent``): the latent upsampler, where it comes from, and the two-pass call.

Where the upsampler comes from (``LoadOptions.extra["latent_upsampler"]``)
-----------------------------------------------------------------------
* ``"auto"``: ``MODEL/latent_upsampler/`` when the model is a local folder that holds one (``shortgen models
  tiny`` writes it); else, for an LTX-Video 0.9.7 / 0.9.8 Hub model, the published
  ``Lightricks/ltxv-spatial-upscaler-0.9.7`` (diffusers' docs use it for both); else an error naming ``--upsampler``;
* a local diffusers folder: an ``LTXLatentUpsamplePipeline`` (``model_index.json`` + ``latent_upsampler/``, the
  Hub layout) or the model alone (``config.json``);
* a single ``.safetensors`` file (diffusers 0.42 has no ``from_single_file`` for it): its ``config.json`` beside
  it when there is one, else the configuration is read off the tensor shapes;
* a Hub id, from the local cache when offline (else one line on how to get it).

The upsampler must work in the model's latent space: its ``in_channels`` must equal the VAE's latent channels,
checked when it loads. The sidecar records where it came from and, for a Hub id, the cached commit.

The two passes (diffusers' LTX docs, 0.9.7 / 0.9.8)
--------------------------------------------------
Pass 1 runs at half the request's size with ``output_type="latent"`` (conditions scaled down 2×); the upsampler
(``adain_factor``, ``tone_map_compression_ratio``) doubles the latents; pass 2 re-denoises them at the request's
size from ``refine_timesteps`` with ``denoise_strength`` (which counts steps: 0.999 of the recipe's five
timesteps runs the last four) and the full-size conditions, then decodes as a one-pass call does.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Literal

import numpy as np
import torch
from diffusers import LTXLatentUpsamplePipeline
from diffusers.pipelines.ltx.modeling_latent_upsampler import LTXLatentUpsamplerModel
from huggingface_hub import try_to_load_from_cache

from shortgen.backends.base import FrameCondition, SegmentRequest, ShapeRules
from shortgen.backends.ltx.source import (
    _HUB_ID,
    ModelSource,
    _hub_error,
    _looks_local,
    _offline,
    _require_cached,
)
from shortgen.errors import ModelError, UsageError

AUTO = "auto"
PUBLISHED_UPSAMPLER = "Lightricks/ltxv-spatial-upscaler-0.9.7"
SUBFOLDER = "latent_upsampler"
UPSAMPLER_CONTEXT = "the latent upsampler for --upscale latent"


@dataclass
class LatentUpsampler:
    pipe: LTXLatentUpsamplePipeline
    kind: Literal["folder", "file", "hub"]
    ref: str
    revision: str | None  # the cached commit of a Hub upsampler

    def describe(self) -> dict[str, Any]:
        config = self.pipe.latent_upsampler.config
        return {"source": self.kind, "resolved": self.ref, "revision": self.revision,
                "in_channels": config.in_channels, "mid_channels": config.mid_channels}

    def upsample(self, latents: torch.Tensor, adain_factor: float, tone_map_compression_ratio: float) -> torch.Tensor:
        """Normalised latents ``(1, C, F, h, w)`` → normalised latents ``(1, C, F, 2h, 2w)``."""
        return self.pipe(latents=latents, adain_factor=adain_factor,
                         tone_map_compression_ratio=tone_map_compression_ratio, output_type="latent").frames


def load_latent_upsampler(ref: str, model: ModelSource, vae: Any, device: torch.device,
                          dtype: torch.dtype) -> LatentUpsampler:
    kind, where = resolve_upsampler(ref, model)
    network, revision = _load_network(kind, where, dtype)
    channels = vae.config.latent_channels
    if network.config.in_channels != channels:
        raise ModelError(f"the latent upsampler {where} works on {network.config.in_channels} latent channels and "
                         f"the model's VAE has {channels}", "use the upsampler published for this model family")
    pipe = LTXLatentUpsamplePipeline(vae=vae, latent_upsampler=network.to(device=device, dtype=dtype))
    pipe.set_progress_bar_config(disable=True)
    return LatentUpsampler(pipe, kind, where, revision)


def check_upsampler(ref: str, model: ModelSource) -> None:
    """Resolve ``ref`` and, offline, check a Hub upsampler is cached: cheap, before the main model loads."""
    kind, where = resolve_upsampler(ref, model)
    if kind == "hub":
        _require_cached(where, None, UPSAMPLER_CONTEXT)


def resolve_upsampler(ref: str, model: ModelSource) -> tuple[Literal["folder", "file", "hub"], str]:
    text = ref.strip()
    if text == AUTO:
        return _auto(model)
    path = Path(text).expanduser()
    if path.is_dir():
        return "folder", str(path.resolve())
    if path.is_file():
        if path.suffix != ".safetensors":
            raise UsageError(f"latent upsampler {path.name} is not a .safetensors file",
                             "pass a diffusers folder, a .safetensors file or a Hub id")
        return "file", str(path.resolve())
    if _looks_local(text) or text.endswith(".safetensors") or not _HUB_ID.match(text):
        raise UsageError(f"latent upsampler {text} does not exist", "check the --upsampler path, or pass a Hub id")
    return "hub", text


def _auto(model: ModelSource) -> tuple[Literal["folder", "file", "hub"], str]:
    if model.kind == "folder" and (Path(model.ref) / SUBFOLDER).is_dir():
        return "folder", str(Path(model.ref) / SUBFOLDER)
    if re.search(r"0\.9\.[78]", model.ref):
        return "hub", PUBLISHED_UPSAMPLER
    raise ModelError(f"no latent upsampler is known for {model.ref}",
                     f"pass --upsampler PATH|ID (e.g. {PUBLISHED_UPSAMPLER}), or put a diffusers upsampler folder "
                     f"at MODEL/{SUBFOLDER}")


def _load_network(kind: str, where: str, dtype: torch.dtype) -> tuple[LTXLatentUpsamplerModel, str | None]:
    if kind == "file":
        return _from_file(Path(where)), None
    if kind == "folder":
        folder = Path(where)
        if (folder / "model_index.json").is_file():
            return _from_pretrained(where, dtype, SUBFOLDER), None
        if (folder / "config.json").is_file():
            return _from_pretrained(where, dtype, None), None
        raise ModelError(f"{folder} is not a diffusers latent upsampler folder (no model_index.json or config.json)",
                         "pass the folder saved by save_pretrained, a .safetensors file or a Hub id")
    _require_cached(where, None, UPSAMPLER_CONTEXT)
    network = _from_pretrained(where, dtype, SUBFOLDER, UPSAMPLER_CONTEXT)
    cached = try_to_load_from_cache(where, "model_index.json")
    return network, Path(cached).parent.name if isinstance(cached, str) else None


def _from_pretrained(ref: str, dtype: torch.dtype, subfolder: str | None, context: str = "") -> LTXLatentUpsamplerModel:
    local = Path(ref).is_dir()
    try:
        return LTXLatentUpsamplerModel.from_pretrained(
            ref, subfolder=subfolder, dtype=dtype, local_files_only=not local and _offline()).eval()
    except OSError as err:
        raise _hub_error(err, ref, None, context) from None


def _from_file(path: Path) -> LTXLatentUpsamplerModel:
    """A single file: the diffusers key layout; the configuration from ``config.json`` beside it or the shapes."""
    import json

    from safetensors.torch import load_file

    try:
        state = load_file(str(path), device="cpu")
    except Exception as err:  # safetensors raises its own error type, or OSError
        raise ModelError(f"cannot read {path} as safetensors: {str(err).splitlines()[0]}") from None
    beside = path.parent / "config.json"
    if beside.is_file():
        config = {k: v for k, v in json.loads(beside.read_text(encoding="utf-8")).items() if not k.startswith("_")}
    else:
        config = upsampler_config(state, path)
    network = LTXLatentUpsamplerModel(**config)
    try:
        network.load_state_dict(state, strict=True)
    except RuntimeError as err:
        raise ModelError(f"{path} is not an LTX latent upsampler in diffusers' layout: "
                         f"{str(err).splitlines()[-1].strip()}") from None
    return network.eval()


def upsampler_config(state: dict[str, torch.Tensor], path: Path) -> dict[str, Any]:
    """``LTXLatentUpsamplerModel``'s arguments read off its tensors."""
    first, up = state.get("initial_conv.weight"), state.get("upsampler.0.weight")
    if first is None or up is None:
        shown = ", ".join(sorted(state)[:5])
        raise ModelError(f"{path} is not an LTX latent upsampler (found keys: {shown})",
                         "pass the spatial upsampler's diffusers folder or .safetensors")
    mid = first.shape[0]
    blocks = {int(m[1]) for key in state if (m := re.match(r"res_blocks\.(\d+)\.", key))}
    spatial, temporal = {4: (True, False), 8: (True, True), 2: (False, True)}[up.shape[0] // mid]
    return {"in_channels": first.shape[1], "mid_channels": mid, "num_blocks_per_stage": len(blocks),
            "dims": first.ndim - 2, "spatial_upsample": spatial, "temporal_upsample": temporal}


def multiscale_passes(request: SegmentRequest, call: dict[str, Any],
                      rules: ShapeRules) -> tuple[SegmentRequest, dict[str, Any]]:
    """Pass 1's request (half size, conditions scaled down) and pass 2's call arguments (the refine schedule)."""
    spec = request.extra["multiscale"]
    width, height = int(spec["width"]), int(spec["height"])
    if (width * 2, height * 2) != (request.width, request.height):
        raise UsageError(f"a multiscale request of {request.width}x{request.height} needs pass 1 at half that size, "
                         f"not {width}x{height}")
    rules.check_size(width, height)
    small = replace(request, width=width, height=height, conditions=tuple(half_size(c) for c in request.conditions))
    timesteps = [float(t) for t in spec["refine_timesteps"]]
    return small, {**call, "timesteps": timesteps, "num_inference_steps": len(timesteps)}


def upsample_options(request: SegmentRequest) -> dict[str, float]:
    spec = request.extra["multiscale"]
    return {"adain_factor": float(spec["adain_factor"]),
            "tone_map_compression_ratio": float(spec["tone_map_compression_ratio"])}


def half_size(cond: FrameCondition) -> FrameCondition:
    """A condition for pass 1: its frames scaled down 2× (a 2x2 box average, exact for even sizes)."""
    frames = cond.frames
    n, h, w, c = frames.shape
    small = frames.reshape(n, h // 2, 2, w // 2, 2, c).astype(np.float32).mean(axis=(2, 4))
    return FrameCondition(frames=np.clip(small + 0.5, 0, 255).astype(np.uint8), frame_index=cond.frame_index,
                          strength=cond.strength)
