"""Load an LTX-Video pipeline (see the package docstring for what ``LoadOptions.model`` may be): pick the
device and dtype, read the weights, place them, and apply the speed options.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
from diffusers import AutoencoderKLLTXVideo, LTXConditionPipeline, LTXVideoTransformer3DModel

from shortgen.backends.base import (
    LoadOptions,
)
from shortgen.backends.ltx.generate import LTXBackend
from shortgen.backends.ltx.source import (
    ModelSource,
    _download_hub_file,
    _hub_error,
    _offline,
    _require_cached,
    resolve_source,
)
from shortgen.backends.ltx.tiny import quiet_hf_libraries, read_marker
from shortgen.backends.ltx.upsample import check_upsampler, load_latent_upsampler
from shortgen.errors import ModelError, UsageError
from shortgen.progress import Progress

BASE_MODEL_13B = "Lightricks/LTX-Video-0.9.8-13B-distilled"
BASE_MODEL_2B = "Lightricks/LTX-Video-0.9.5"
LOAD_EXTRA_KEYS = frozenset({"base_model", "distilled", "attention_backend", "latent_upsampler"})
_DTYPES = {"bfloat16": torch.bfloat16, "float16": torch.float16, "float32": torch.float32}


def load_ltx(options: LoadOptions, progress: Progress) -> LTXBackend:
    """Load an LTX-Video model as described in the module docstring."""
    _check_load_extra(options.extra)
    device = pick_device(options.device)
    dtype = pick_dtype(options.dtype, device)
    source = resolve_source(options.model)
    upsampler_ref = options.extra.get("latent_upsampler")
    if upsampler_ref:  # --upscale latent: a missing or uncached upsampler fails before the long model load
        check_upsampler(str(upsampler_ref), source)
    if source.kind == "folder" and options.revision:
        progress.warn(f"revision '{options.revision}' is ignored for the local folder {source.ref}")
    progress.start("load", "Loading model", None)
    with quiet_hf_libraries():
        pipe, base_model, local_path = _load_pipeline(source, options, dtype)
        apply_load_options(pipe, options, dtype, device, progress)
    pipe.set_progress_bar_config(disable=True)
    progress.finish("load")
    marker = read_marker(Path(local_path)) if local_path and Path(local_path).is_dir() else None
    upsampler = None
    if upsampler_ref:
        with quiet_hf_libraries():
            upsampler = load_latent_upsampler(str(upsampler_ref), source, pipe.vae, device, dtype)
    return LTXBackend(
        pipe=pipe,
        options=options,
        source=source,
        device=device,
        dtype=dtype,
        base_model=base_model,
        distilled=_is_distilled(options, marker),
        random_weights=bool(marker and marker.get("random_weights")),
        latent_upsampler=upsampler,
    )


def pick_device(name: str) -> torch.device:
    """``auto`` → CUDA, then Apple MPS, then CPU. An explicit device must be available."""
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise UsageError("device 'cuda' was asked for but CUDA is not available", "use --device auto or cpu")
    if name == "mps" and not torch.backends.mps.is_available():
        raise UsageError("device 'mps' was asked for but Apple MPS is not available", "use --device auto or cpu")
    if name not in {"cuda", "mps", "cpu"}:
        raise UsageError(f"unknown device '{name}'", "use auto, cuda, mps or cpu")
    return torch.device(name)


def pick_dtype(name: str, device: torch.device) -> torch.dtype:
    """``auto`` → bfloat16 on CUDA (float16 on GPUs without bf16) and MPS, float32 on CPU.

    T5 overflows in float16, so MPS gets bfloat16 (macOS 14+; pass float32 on older systems).
    """
    if name != "auto":
        if name not in _DTYPES:
            raise UsageError(f"unknown dtype '{name}'", "use auto, bfloat16, float16 or float32")
        return _DTYPES[name]
    if device.type == "cuda":
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    if device.type == "mps":
        return torch.bfloat16
    return torch.float32


def _load_pipeline(
    source: ModelSource, options: LoadOptions, dtype: torch.dtype
) -> tuple[LTXConditionPipeline, str | None, str | None]:
    """Return the pipeline, the base repo used for a single file, and the local path of the weights."""
    if source.kind == "folder":
        return _from_pretrained(source.ref, dtype, None, None), None, source.ref
    if source.kind == "hub":
        return _from_pretrained(source.ref, dtype, options.revision, None), None, None
    path = _download_hub_file(source, options.revision) if source.hub_file else Path(source.ref)
    pipe, base = _from_single_file(path, options, dtype)
    return pipe, base, str(path)


def _from_pretrained(
    ref: str, dtype: torch.dtype, revision: str | None, components: dict[str, Any] | None, context: str = ""
) -> LTXConditionPipeline:
    local = Path(ref).is_dir()
    if not local:
        _require_cached(ref, revision, context)
    try:
        return LTXConditionPipeline.from_pretrained(
            ref, dtype=dtype, revision=None if local else revision, local_files_only=not local and _offline(),
            **(components or {}),
        )
    except OSError as err:
        raise _hub_error(err, ref, revision, context) from None


def _from_single_file(path: Path, options: LoadOptions, dtype: torch.dtype) -> tuple[LTXConditionPipeline, str]:
    keys = _checkpoint_keys(path)
    if not any(k.endswith("patchify_proj.weight") for k in keys):
        raise ModelError(f"{path} is not an LTX-Video checkpoint (no patchify_proj weights)",
                         "pass an LTX-Video 0.9.x .safetensors file, a diffusers folder or a Hub id")
    base = str(options.extra.get("base_model") or _base_model_for(keys))
    context = f"the single-file checkpoint {path.name} takes its text encoder, tokenizer and scheduler from {base}"
    if not Path(base).is_dir():
        _require_cached(base, None, context)
    local_only = not Path(base).is_dir() and _offline()
    try:
        components: dict[str, Any] = {"transformer": LTXVideoTransformer3DModel.from_single_file(
            str(path), config=base, subfolder="transformer", dtype=dtype, local_files_only=local_only)}
        if any(k.startswith("vae.") for k in keys):
            components["vae"] = AutoencoderKLLTXVideo.from_single_file(
                str(path), config=base, subfolder="vae", dtype=dtype, local_files_only=local_only)
    except OSError as err:
        raise _hub_error(err, base, None, context) from None
    return _from_pretrained(base, dtype, None, components, context), base


def _base_model_for(keys: Sequence[str]) -> str:
    return BASE_MODEL_13B if any(k.endswith("transformer_blocks.47.scale_shift_table") for k in keys) else BASE_MODEL_2B


def _checkpoint_keys(path: Path) -> list[str]:
    from safetensors import SafetensorError, safe_open

    try:
        with safe_open(str(path), framework="pt") as handle:
            return list(handle.keys())
    except (SafetensorError, OSError) as err:
        raise ModelError(f"cannot read {path} as safetensors: {err}", "re-download the checkpoint") from None


def apply_load_options(pipe: Any, options: LoadOptions, dtype: torch.dtype, device: torch.device,
                       progress: Progress) -> None:
    """fp8 weights, placement (CPU offload with low_memory), VAE tiling, attention backend and torch.compile, in
    that order, for any LTX-family pipeline (LTX-Video and LTX-2 alike)."""
    if options.fp8:
        enable_fp8(pipe.transformer, dtype, device)
    _place(pipe, device, options.low_memory, progress)
    if options.vae_tiling or options.low_memory:
        pipe.vae.enable_tiling()
    _set_attention_backend(pipe, options.extra.get("attention_backend"))
    if options.compile:
        pipe.transformer.compile()


def _place(pipe: LTXConditionPipeline, device: torch.device, low_memory: bool, progress: Progress) -> None:
    if low_memory and device.type == "cuda":
        pipe.enable_model_cpu_offload(device=device)
    else:
        if low_memory:
            progress.warn(f"low_memory: model CPU offload needs CUDA; keeping the whole model on {device.type}")
        pipe.to(device)


def enable_fp8(transformer: LTXVideoTransformer3DModel, dtype: torch.dtype, device: torch.device) -> None:
    """Store the transformer's weights in float8 e4m3 and upcast each layer to ``dtype`` as it runs (diffusers'
    layerwise casting; norms and embeddings stay in ``dtype``). Half the weight memory of bf16."""
    hint = "leave --fp8 off (weights stay in the model dtype)"
    if device.type == "mps":
        raise ModelError("fp8 weights cannot be used on Apple MPS (no float8 support)", hint)
    try:
        transformer.enable_layerwise_casting(storage_dtype=torch.float8_e4m3fn, compute_dtype=dtype)
    except (RuntimeError, TypeError, ValueError) as err:
        first_line = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise ModelError(f"fp8 weights cannot be used with this model: {first_line}", hint) from None


def _set_attention_backend(pipe: LTXConditionPipeline, backend: str | None) -> None:
    if not backend:
        return
    try:
        pipe.transformer.set_attention_backend(str(backend))
    except (ValueError, RuntimeError, ImportError) as err:
        first_line = str(err).strip().splitlines()[0]
        raise ModelError(f"attention backend '{backend}' cannot be used: {first_line}",
                         "leave attention_backend unset to use PyTorch SDPA") from None


def _check_load_extra(extra: dict[str, Any]) -> None:
    unknown = sorted(set(extra) - LOAD_EXTRA_KEYS)
    if unknown:
        raise UsageError(f"unknown ltx load option(s): {', '.join(unknown)}",
                         f"allowed: {', '.join(sorted(LOAD_EXTRA_KEYS))}")


def _is_distilled(options: LoadOptions, marker: dict[str, Any] | None) -> bool:
    if "distilled" in options.extra:
        return bool(options.extra["distilled"])
    if marker is not None:
        return bool(marker.get("distilled_schedule"))
    return "distilled" in options.model.lower()
