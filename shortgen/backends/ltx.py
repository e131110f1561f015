"""LTX-Video through diffusers' ``LTXConditionPipeline``: load a model, turn requests into frames.

What ``LoadOptions.model`` may be
---------------------------------
* a local diffusers folder (has ``model_index.json`` naming an LTX pipeline) → ``from_pretrained(folder)``;
* a single-file checkpoint ``*.safetensors``: a local path, a Hub file ``org/name/path/file.safetensors`` or
  a ``https://huggingface.co/org/name/blob|resolve/REV/path/file.safetensors`` URL. The transformer (and the
  VAE, when the file holds ``vae.*`` keys, as Lightricks' files do) come from the file; text encoder, tokenizer
  and scheduler come from a diffusers base repo: ``LoadOptions.extra["base_model"]`` when given (a Hub id or
  a local diffusers folder), else ``Lightricks/LTX-Video-0.9.8-13B-distilled`` for 13B files (48 blocks) and
  ``Lightricks/LTX-Video-0.9.5`` for 2B files (28 blocks; diffusers' own default for that layout);
* a Hub id ``org/name`` → ``from_pretrained(id, revision=...)``, from the local cache when offline.

Conditions (what ``LTXConditionPipeline`` accepts; checked here because diffusers trims silently)
-----------------------------------------------------------------------------------------------
* a condition holds 1 frame (an image, placed as a keyframe) or 8k+1 frames (a video);
* ``0 <= frame_index`` and ``frame_index + n <= num_frames``: diffusers would cut a longer video to the
  frames that fit and round down to 8k+1;
* a single frame may sit at any index, including ``num_frames - 1`` (how loops close: the last frame is
  conditioned on the first). Video conditions at index 0 replace the first latent frames; at an index > 0
  their first two latent frames (9 pixel frames) become extra keyframe tokens and the rest overwrite latent
  frames ``frame_index // 8 + 2 ...``, so a video of 17+ frames at an index > 0 needs ``frame_index % 8 == 0``
  to line up. A 9-frame video ending on the last frame sits at ``num_frames - 9``, a multiple of 8.

Generation defaults (diffusers' LTX docs for the 0.9.7 / 0.9.8 distilled models)
------------------------------------------------------------------------------
``decode_timestep=0.05``, ``decode_noise_scale=0.025``, ``image_cond_noise_scale=0.0``,
``guidance_rescale=0.7`` (only acts when ``guidance_scale > 1``). A distilled model asked for 8 steps
uses the distilled timesteps ``[1000, 993, 987, 981, 975, 909, 725, 0.03]``; any other step count uses the
pipeline's own schedule. ``SegmentRequest.extra`` may override: ``decode_timestep``, ``decode_noise_scale``,
``image_cond_noise_scale``, ``guidance_rescale``, ``max_sequence_length``, ``timesteps``.

``LoadOptions.extra`` keys: ``base_model`` (see above), ``distilled`` (bool; default: the model reference
contains "distilled", or the tiny test model), ``attention_backend`` (a diffusers ``AttentionBackendName``
such as ``"flash"`` or ``"sage"``, set on the transformer).
"""

from __future__ import annotations

import contextlib
import gc
import json
import os
import re
from collections import OrderedDict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import diffusers
import numpy as np
import PIL.Image
import torch
from diffusers import AutoencoderKLLTXVideo, LTXConditionPipeline, LTXVideoTransformer3DModel
from diffusers.pipelines.ltx.pipeline_ltx_condition import LTXVideoCondition
from diffusers.utils.torch_utils import randn_tensor
from huggingface_hub import constants as hf_constants
from huggingface_hub import hf_hub_download, try_to_load_from_cache
from huggingface_hub.errors import (
    GatedRepoError,
    LocalEntryNotFoundError,
    RemoteEntryNotFoundError,
    RepositoryNotFoundError,
    RevisionNotFoundError,
)

from shortgen.backends import LTX_RULES, get_backend_info
from shortgen.backends.base import (
    FrameCondition,
    LoadOptions,
    SegmentRequest,
    ShapeRules,
    StepCallback,
)
from shortgen.backends.tiny import quiet_hf_libraries, read_marker
from shortgen.errors import ModelError, UsageError
from shortgen.progress import Progress

DISTILLED_TIMESTEPS: tuple[float, ...] = (1000.0, 993.0, 987.0, 981.0, 975.0, 909.0, 725.0, 0.03)
BASE_MODEL_13B = "Lightricks/LTX-Video-0.9.8-13B-distilled"
BASE_MODEL_2B = "Lightricks/LTX-Video-0.9.5"
LTX_PIPELINE_CLASSES = frozenset({"LTXConditionPipeline", "LTXPipeline", "LTXImageToVideoPipeline"})
CALL_DEFAULTS: dict[str, Any] = {
    "decode_timestep": 0.05,
    "decode_noise_scale": 0.025,
    "image_cond_noise_scale": 0.0,
    "guidance_rescale": 0.7,
    "max_sequence_length": 256,
}
REQUEST_EXTRA_KEYS = frozenset({*CALL_DEFAULTS, "timesteps"})
LOAD_EXTRA_KEYS = frozenset({"base_model", "distilled", "attention_backend"})
EMBEDDING_CACHE_SIZE = 16
# Latent frames decoded before a tail and dropped (see LTXBackend.decode_tail).
TAIL_CONTEXT_LATENT_FRAMES = 1
_HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.-]+$")
_HUB_URL = re.compile(r"^https?://huggingface\.co/([^/]+/[^/]+)/(?:blob|resolve)/([^/]+)/(.+)$")
_DTYPES = {"bfloat16": torch.bfloat16, "float16": torch.float16, "float32": torch.float32}


@dataclass(frozen=True)
class DenoisedLatents:
    """What :meth:`LTXBackend.denoise` hands to :meth:`LTXBackend.decode`."""

    latents: torch.Tensor  # (1, C, F, h, w): unpacked, still normalised, float32 (output_type="latent")
    generator_state: torch.Tensor  # the seed's generator after denoising: the decode noise comes next from it
    decode_dtype: torch.dtype  # the prompt embeddings' dtype, which the pipeline decodes in
    ready: torch.cuda.Event | None = None  # recorded on the denoising stream once the latents are complete


@dataclass(frozen=True)
class ModelSource:
    """Where the weights come from, resolved from ``LoadOptions.model``."""

    kind: Literal["folder", "single_file", "hub"]
    ref: str  # a local path or a Hub id
    hub_file: tuple[str, str, str | None] | None = None  # (repo id, filename, revision) of a file on the Hub


# ---------------------------------------------------------------------------------------------- loading


def load_ltx(options: LoadOptions, progress: Progress) -> LTXBackend:
    """Load an LTX-Video model as described in the module docstring."""
    _check_load_extra(options.extra)
    device = pick_device(options.device)
    dtype = pick_dtype(options.dtype, device)
    source = resolve_source(options.model)
    if source.kind == "folder" and options.revision:
        progress.warn(f"revision '{options.revision}' is ignored for the local folder {source.ref}")
    progress.start("load", "Loading model", None)
    with quiet_hf_libraries():
        pipe, base_model, local_path = _load_pipeline(source, options, dtype)
        if options.fp8:
            enable_fp8(pipe.transformer, dtype, device)
        _place(pipe, device, options.low_memory, progress)
        if options.vae_tiling or options.low_memory:
            pipe.vae.enable_tiling()
        _set_attention_backend(pipe, options.extra.get("attention_backend"))
        if options.compile:
            pipe.transformer.compile()
    pipe.set_progress_bar_config(disable=True)
    progress.finish("load")
    marker = read_marker(Path(local_path)) if local_path and Path(local_path).is_dir() else None
    return LTXBackend(
        pipe=pipe,
        options=options,
        source=source,
        device=device,
        dtype=dtype,
        base_model=base_model,
        distilled=_is_distilled(options, marker),
        random_weights=bool(marker and marker.get("random_weights")),
    )


def resolve_source(model: str) -> ModelSource:
    """Decide whether ``model`` is a local folder, a single file (local or on the Hub) or a Hub id."""
    text = model.strip()
    if not text:
        raise UsageError("no model given", f"pass a Hub id such as {get_backend_info('ltx').default_model}")
    url = _HUB_URL.match(text)
    if url:
        return _hub_file_source(url[1], url[3], url[2])
    if text.startswith(("http://", "https://")):
        raise UsageError(f"unsupported model URL {text}", "use https://huggingface.co/<org>/<name>/blob/<rev>/<file>")
    path = Path(text).expanduser()
    if path.is_dir():
        _check_pipeline_folder(path)
        return ModelSource("folder", str(path.resolve()))
    if path.is_file():
        _check_checkpoint_suffix(path)
        return ModelSource("single_file", str(path.resolve()))
    is_hub_file = text.endswith(".safetensors") and text.count("/") >= 2 and not _looks_local(text)
    if is_hub_file:
        owner, name, filename = text.split("/", 2)
        return _hub_file_source(f"{owner}/{name}", filename, None)
    if _looks_local(text) or text.endswith(".safetensors") or not _HUB_ID.match(text):
        raise UsageError(f"model path {text} does not exist", "check the path, or pass a Hub id such as org/name")
    return ModelSource("hub", text)


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


def _download_hub_file(source: ModelSource, revision: str | None) -> Path:
    assert source.hub_file is not None
    repo_id, filename, url_revision = source.hub_file
    rev = revision or url_revision
    try:
        return Path(hf_hub_download(repo_id, filename, revision=rev, local_files_only=_offline()))
    except RemoteEntryNotFoundError:
        raise ModelError(f"{filename} is not in the Hub repo {repo_id}", "check the file name") from None
    except OSError as err:
        raise _hub_error(err, repo_id, rev, "", filename) from None


def _hub_file_source(repo_id: str, filename: str, revision: str | None) -> ModelSource:
    _check_checkpoint_suffix(Path(filename))
    return ModelSource("single_file", f"{repo_id}/{filename}", hub_file=(repo_id, filename, revision))


def _check_pipeline_folder(path: Path) -> None:
    index = path / "model_index.json"
    if not index.is_file():
        hint = ("for a single-file checkpoint pass the .safetensors file itself"
                if any(path.glob("*.safetensors")) else
                "pass a folder saved by save_pretrained or `hf download <id> --local-dir DIR`, or a Hub id")
        raise ModelError(f"{path} is not a diffusers pipeline folder (no model_index.json)", hint)
    try:
        class_name = json.loads(index.read_text(encoding="utf-8")).get("_class_name")
    except (OSError, ValueError) as err:
        raise ModelError(f"cannot read {index}: {err}", "re-download or re-save the model") from None
    if class_name not in LTX_PIPELINE_CLASSES:
        default = get_backend_info("ltx").default_model
        raise ModelError(f"{path} holds a {class_name}, not an LTX-Video pipeline",
                         f"the ltx backend needs an LTX-Video 0.9.x model, e.g. {default}")


def _check_checkpoint_suffix(path: Path) -> None:
    if path.suffix != ".safetensors":
        raise UsageError(f"{path.name} is not a .safetensors checkpoint",
                         "pass a .safetensors file, a diffusers folder or a Hub id")


def _looks_local(text: str) -> bool:
    return text.startswith(("/", "./", "../", "~", ".\\")) or "\\" in text or (len(text) > 1 and text[1] == ":")


def _offline() -> bool:
    # huggingface_hub reads HF_HUB_OFFLINE once at import; honour it when it is set later too.
    late = os.environ.get("HF_HUB_OFFLINE", "").upper() in {"1", "ON", "YES", "TRUE"}
    return bool(hf_constants.HF_HUB_OFFLINE) or late


def _require_cached(repo_id: str, revision: str | None, context: str) -> None:
    """Offline, fail fast with instructions instead of letting diffusers try the network first."""
    if _offline() and not isinstance(try_to_load_from_cache(repo_id, "model_index.json", revision=revision), str):
        raise _not_cached(repo_id, revision, context)


def _not_cached(repo_id: str, revision: str | None, context: str, filename: str | None = None) -> ModelError:
    rev = f" --revision {revision}" if revision else ""
    what = f"{repo_id} {filename}" if filename else repo_id
    lead = f"{context}; " if context else ""
    return ModelError(
        f"{lead}'{what}' is not in the local Hugging Face cache ({hf_constants.HF_HUB_CACHE}) "
        "and cannot be downloaded now (offline or no network)",
        f"run `hf download {what}{rev}` on a machine with network and copy the cache here, "
        "set HF_HOME to a cache that has it, or pass a local model folder",
    )


def _hub_error(
    err: OSError, repo_id: str, revision: str | None, context: str, filename: str | None = None
) -> ModelError:
    """Turn what huggingface_hub / diffusers raised (often wrapped in a plain OSError) into one line."""
    first_line = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
    if Path(repo_id).exists():
        return ModelError(f"cannot load the model folder {repo_id}: {first_line}",
                          "the folder is incomplete; save or download it again")
    for cause in _causes(err):
        if isinstance(cause, GatedRepoError):
            return ModelError(f"'{repo_id}' is gated on the Hub",
                              "accept its licence on huggingface.co and run `hf auth login`")
        if isinstance(cause, RepositoryNotFoundError):
            return ModelError(f"Hub repo '{repo_id}' not found (or private)",
                              "check the id; for a private repo run `hf auth login`")
        if isinstance(cause, RevisionNotFoundError):
            return ModelError(f"revision '{revision}' not found in '{repo_id}'", "check --revision")
    cached = try_to_load_from_cache(repo_id, filename or "model_index.json", revision=revision)
    if not isinstance(cached, str) or any(isinstance(c, LocalEntryNotFoundError) for c in _causes(err)):
        return _not_cached(repo_id, revision, context, filename)
    return ModelError(f"cannot load '{repo_id}': {first_line}", "re-download it with `hf download` or check the files")


def _causes(err: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    current: BaseException | None = err
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


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


# ------------------------------------------------------------------------------------------- generation


def check_condition(cond: FrameCondition, num_frames: int, width: int, height: int) -> None:
    """Raise :class:`UsageError` unless LTX can place ``cond`` exactly as asked (see the module docstring)."""
    frames = cond.frames
    if frames.dtype != np.uint8 or frames.ndim != 4 or frames.shape[3] != 3:
        raise UsageError(f"condition frames must be uint8 (n, height, width, 3), got {frames.dtype} {frames.shape}")
    n, h, w = frames.shape[:3]
    if (w, h) != (width, height):
        raise UsageError(f"condition frames are {w}x{h}, the segment is {width}x{height}",
                         "resize the frames to the generation size first")
    if n != 1 and n % 8 != 1:
        lower = max(1, (n - 1) // 8 * 8 + 1)
        raise UsageError(f"a condition of {n} frames does not fit LTX (1 or 8k+1 frames)", f"use {lower} frames")
    if cond.frame_index < 0 or cond.frame_index + n > num_frames:
        raise UsageError(f"a {n}-frame condition at frame {cond.frame_index} does not fit in {num_frames} frames",
                         f"use a frame index from 0 to {num_frames - n}")
    if n > 9 and cond.frame_index % 8:
        raise UsageError(f"a {n}-frame condition at frame {cond.frame_index} would not line up with LTX latents",
                         "use a frame index that is a multiple of 8, or at most 9 frames")
    if not 0.0 <= cond.strength <= 1.0:
        raise UsageError(f"condition strength {cond.strength} is outside 0..1")


class LTXBackend:
    """A loaded LTX-Video pipeline behind the :class:`~shortgen.backends.base.GeneratorBackend` protocol."""

    name = "ltx"

    def __init__(
        self,
        pipe: LTXConditionPipeline,
        options: LoadOptions,
        source: ModelSource,
        device: torch.device,
        dtype: torch.dtype,
        base_model: str | None,
        distilled: bool,
        random_weights: bool,
    ) -> None:
        self.rules: ShapeRules = LTX_RULES
        self._pipe = pipe
        self._options = options
        self._source = source
        self._device = device
        self._dtype = dtype
        self._base_model = base_model
        self._distilled = distilled
        self._random_weights = random_weights
        self._embeddings: OrderedDict[tuple[str, str | None, int], dict[str, torch.Tensor | None]] = OrderedDict()
        self._side_stream: torch.cuda.Stream | None = None

    @property
    def pipeline(self) -> LTXConditionPipeline:
        return self._pipe

    def describe(self) -> dict[str, Any]:
        return {
            "backend": self.name,
            "model": self._options.model,
            "source": self._source.kind,
            "resolved": self._source.ref,
            "revision": self._options.revision,
            "base_model": self._base_model,
            "distilled": self._distilled,
            "random_weights": self._random_weights,
            "device": str(self._device),
            "dtype": str(self._dtype).removeprefix("torch."),
            "low_memory": self._options.low_memory,
            "compile": self._options.compile,
            "attention_backend": self._options.extra.get("attention_backend"),
            "fp8": self._options.fp8,
            "vae_tiling": bool(getattr(self._pipe.vae, "use_tiling", False)),
            "diffusers": diffusers.__version__,
            "torch": torch.__version__,
        }

    def generate(self, request: SegmentRequest, on_step: StepCallback | None = None) -> np.ndarray:
        try:
            with torch.inference_mode(), quiet_hf_libraries():
                output, _ = self._call_pipeline(request, on_step, "pt")
                frames = _to_uint8(output.frames[0])
                del output
        finally:
            self._free_memory()
        return frames

    def denoise(self, request: SegmentRequest, on_step: StepCallback | None = None) -> DenoisedLatents:
        """The denoising half of :meth:`generate`: the latents, not yet decoded. ``decode(denoise(r), r)``
        gives the frames ``generate(r)`` gives."""
        try:
            with torch.inference_mode(), quiet_hf_libraries():
                generator = self._generator(request.seed)
                output, embeds_dtype = self._call_pipeline(request, on_step, "latent", generator)
                ready = None
                if self._device.type == "cuda":
                    ready = torch.cuda.Event()
                    ready.record()
                return DenoisedLatents(latents=output.frames, generator_state=generator.get_state(),
                                       decode_dtype=embeds_dtype, ready=ready)
        finally:
            self._free_memory()

    def decode(self, denoised: DenoisedLatents, request: SegmentRequest) -> np.ndarray:
        """Decode all of ``denoised`` as the pipeline does after its last step. On CUDA this runs on a stream of
        its own (after the denoising that made the latents), so it may overlap the next segment's denoising
        when called from another thread; the frames are complete when it returns."""
        with self._decode_stream(denoised):
            return self._decode_frames(denoised, request, 0, 0)

    def decode_tail(self, denoised: DenoisedLatents, request: SegmentRequest, frames: int,
                    context: int = TAIL_CONTEXT_LATENT_FRAMES) -> np.ndarray:
        """The last ``frames`` frames of :meth:`decode`, approximately, for a fraction of its cost: only the latent
        frames behind them are decoded, plus ``context`` latent frames before them, whose frames are dropped. The
        decode noise is the full decode's, sliced. It is not exact because the decoder's temporal convolutions
        see a replicated edge where the full decode has real neighbours; the error shrinks with ``context``
        and is gone once ``context`` covers the decoder's temporal reach (then it matches within float noise)."""
        ratio = self._pipe.vae_temporal_compression_ratio
        total = (denoised.latents.shape[2] - 1) * ratio + 1
        if not 1 <= frames <= total:
            raise UsageError(f"cannot decode the last {frames} of {total} frames")
        first_pixel = total - frames
        first_latent = max(0, first_pixel // ratio - context)
        return self._decode_frames(denoised, request, first_latent, first_pixel - first_latent * ratio)

    def decode_ahead_blocker(self) -> str | None:
        if getattr(self._pipe, "_all_hooks", None):
            return "low_memory offloads the models to the CPU one at a time, so decoding cannot overlap denoising"
        return None

    def _call_pipeline(self, request: SegmentRequest, on_step: StepCallback | None, output_type: str,
                       generator: torch.Generator | None = None) -> tuple[Any, torch.dtype]:
        """One pipeline call and the prompt embeddings' dtype (the pipeline decodes in it); the caller holds
        inference mode."""
        self.rules.check_size(request.width, request.height)
        self.rules.check_frames(request.num_frames)
        for cond in request.conditions:
            check_condition(cond, request.num_frames, request.width, request.height)
        call = self._call_arguments(request)
        do_cfg = request.guidance_scale > 1.0
        embeds = self._prompt_embeddings(request.prompt, request.negative_prompt, do_cfg, call["max_sequence_length"])
        output = self._pipe(
            conditions=[_to_ltx_condition(c) for c in request.conditions] or None,
            height=request.height,
            width=request.width,
            num_frames=request.num_frames,
            frame_rate=request.fps,
            guidance_scale=request.guidance_scale,
            generator=generator or self._generator(request.seed),
            output_type=output_type,
            callback_on_step_end=_step_callback(on_step),
            **embeds,
            **call,
        )
        return output, embeds["prompt_embeds"].dtype

    def _decode_frames(self, denoised: DenoisedLatents, request: SegmentRequest, first_latent: int,
                       skip: int) -> np.ndarray:
        """``LTXConditionPipeline.__call__`` after denoising (diffusers 0.42), on latent frames ``first_latent:``:
        denormalise, mix in the decode noise, timestep-conditioned VAE decode, postprocess; then uint8 frames,
        less the first ``skip``."""
        pipe = self._pipe
        vae = pipe.vae
        device = pipe._execution_device
        call = self._call_arguments(request)
        # No quiet_hf_libraries() here: it flips process-wide logging state, and this may run on a worker thread.
        with torch.inference_mode():
            latents = denoised.latents
            full_shape = latents.shape
            latents = pipe._denormalize_latents(latents[:, :, first_latent:], vae.latents_mean, vae.latents_std,
                                                vae.config.scaling_factor).to(denoised.decode_dtype)
            timestep = None
            if vae.config.timestep_conditioning:
                generator = self._generator(0)
                generator.set_state(denoised.generator_state)
                noise = randn_tensor(full_shape, generator=generator, device=device, dtype=latents.dtype)
                decode_timestep = call["decode_timestep"]
                noise_scale = call["decode_noise_scale"]
                noise_scale = decode_timestep if noise_scale is None else noise_scale
                timestep = torch.tensor([decode_timestep], device=device, dtype=latents.dtype)
                scale = torch.tensor([noise_scale], device=device, dtype=latents.dtype)[:, None, None, None, None]
                latents = (1 - scale) * latents + scale * noise[:, :, first_latent:]
            video = vae.decode(latents, timestep, return_dict=False)[0]
            video = pipe.video_processor.postprocess_video(video, output_type="pt")[0]
            return _to_uint8(video[skip:])

    @contextlib.contextmanager
    def _decode_stream(self, denoised: DenoisedLatents) -> Iterator[None]:
        """On CUDA: run the block on this backend's decode stream, after the event that marks the latents ready,
        and wait for the stream before leaving. Elsewhere: nothing."""
        if self._device.type != "cuda":
            yield
            return
        if self._side_stream is None:
            self._side_stream = torch.cuda.Stream(device=self._pipe._execution_device)
        stream = self._side_stream
        if denoised.ready is not None:
            stream.wait_event(denoised.ready)
        else:
            stream.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(stream):
            denoised.latents.record_stream(stream)  # the allocator must not hand it out while this stream reads it
            yield
        stream.synchronize()

    def prepare_prompts(self, prompts: Sequence[str], negative_prompt: str, guidance_scale: float) -> None:
        """Encode prompts ahead of time, e.g. before :meth:`release_text_encoder`."""
        for prompt in prompts:
            self._prompt_embeddings(prompt, negative_prompt, guidance_scale > 1.0, CALL_DEFAULTS["max_sequence_length"])

    def release_text_encoder(self) -> None:
        """Free the T5 encoder; prompts encoded before stay usable, new ones raise :class:`ModelError`."""
        if self._pipe.text_encoder is None:
            return
        self._pipe.text_encoder = None
        if getattr(self._pipe, "_all_hooks", None):
            self._pipe.enable_model_cpu_offload(device=self._device)  # rebuild the chain without the encoder
        self._free_memory()

    def _call_arguments(self, request: SegmentRequest) -> dict[str, Any]:
        unknown = sorted(set(request.extra) - REQUEST_EXTRA_KEYS)
        if unknown:
            raise UsageError(f"unknown ltx generation option(s): {', '.join(unknown)}",
                             f"allowed: {', '.join(sorted(REQUEST_EXTRA_KEYS))}")
        call = {**CALL_DEFAULTS, **{k: v for k, v in request.extra.items() if k != "timesteps"}}
        timesteps = request.extra.get("timesteps")
        if timesteps is None and self._distilled and request.steps == len(DISTILLED_TIMESTEPS):
            timesteps = DISTILLED_TIMESTEPS
        if timesteps is not None:
            call["timesteps"] = [float(t) for t in timesteps]
            call["num_inference_steps"] = len(call["timesteps"])
        else:
            call["num_inference_steps"] = request.steps
        return call

    def _prompt_embeddings(
        self, prompt: str, negative_prompt: str, do_cfg: bool, max_sequence_length: int
    ) -> dict[str, torch.Tensor | None]:
        key = (prompt, negative_prompt if do_cfg else None, int(max_sequence_length))
        if key in self._embeddings:
            self._embeddings.move_to_end(key)
            return self._embeddings[key]
        if self._pipe.text_encoder is None:
            raise ModelError("the text encoder was released before this prompt was encoded",
                             "call prepare_prompts() with every prompt before release_text_encoder()")
        with torch.inference_mode(), quiet_hf_libraries():
            embeds, mask, neg_embeds, neg_mask = self._pipe.encode_prompt(
                prompt=prompt, negative_prompt=negative_prompt, do_classifier_free_guidance=do_cfg,
                max_sequence_length=int(max_sequence_length), device=self._pipe._execution_device,
            )
        entry = {"prompt_embeds": embeds, "prompt_attention_mask": mask,
                 "negative_prompt_embeds": neg_embeds, "negative_prompt_attention_mask": neg_mask}
        self._embeddings[key] = entry
        while len(self._embeddings) > EMBEDDING_CACHE_SIZE:
            self._embeddings.popitem(last=False)
        return entry

    def _generator(self, seed: int) -> torch.Generator:
        # MPS generators have been unreliable; diffusers draws on the CPU and moves the noise over.
        device = self._pipe._execution_device
        return torch.Generator(device="cpu" if device.type == "mps" else device).manual_seed(seed)

    def _free_memory(self) -> None:
        gc.collect()
        if self._device.type == "cuda":
            torch.cuda.empty_cache()
        elif self._device.type == "mps":
            torch.mps.empty_cache()


def _to_ltx_condition(cond: FrameCondition) -> LTXVideoCondition:
    images = [PIL.Image.fromarray(frame) for frame in cond.frames]
    if len(images) == 1:
        return LTXVideoCondition(image=images[0], frame_index=cond.frame_index, strength=cond.strength)
    return LTXVideoCondition(video=images, frame_index=cond.frame_index, strength=cond.strength)


def _step_callback(on_step: StepCallback | None) -> Any:
    if on_step is None:
        return None

    def callback(pipe: LTXConditionPipeline, step: int, timestep: Any, kwargs: dict[str, Any]) -> dict[str, Any]:
        on_step(step + 1, pipe.num_timesteps)
        return kwargs

    return callback


def _to_uint8(video: torch.Tensor, chunk: int = 16) -> np.ndarray:
    """``(frames, 3, H, W)`` floats in 0..1 (any device) → ``(frames, H, W, 3)`` uint8, a few frames at a time."""
    frames, _, height, width = video.shape
    out = np.empty((frames, height, width, 3), dtype=np.uint8)
    for start in range(0, frames, chunk):
        part = video[start:start + chunk].float().mul_(255.0).round_().clamp_(0, 255).to(torch.uint8)
        out[start:start + part.shape[0]] = part.permute(0, 2, 3, 1).cpu().numpy()
    return out
