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
``image_cond_noise_scale``, ``guidance_rescale``, ``max_sequence_length``, ``timesteps``; and it may ask for
``multiscale`` (``--upscale latent``: two passes around the latent upsampler, see :mod:`.upsample`) or
``video`` + ``denoise_strength`` (``--restyle``: restart from the encoded input frames, see :mod:`.restyle`).

``LoadOptions.extra`` keys: ``base_model`` (see above), ``distilled`` (bool; default: the model reference
contains "distilled", or the tiny test model), ``attention_backend`` (a diffusers ``AttentionBackendName``
such as ``"flash"`` or ``"sage"``, set on the transformer), ``latent_upsampler`` (``"auto"``, a Hub id, a
diffusers folder or a ``.safetensors`` file: see :mod:`.upsample`).

Modules: :mod:`.source` (where the weights come from; offline checks and Hub errors other loaders reuse),
:mod:`.load`, :mod:`.generate` (requests → frames, the denoise / decode split), :mod:`.upsample`,
:mod:`.restyle`, :mod:`.loaded` (what both backends' loaded pipelines share), :mod:`.prompts` (the
prompt-embedding cache LTX-2 shares), :mod:`.tiny` (the tiny offline model).
"""

from __future__ import annotations

from shortgen.backends.ltx.generate import (
    CALL_DEFAULTS,
    DISTILLED_TIMESTEPS,
    REQUEST_EXTRA_KEYS,
    TAIL_CONTEXT_LATENT_FRAMES,
    DenoisedLatents,
    LTXBackend,
    _step_callback,
    _to_ltx_condition,
    _to_uint8,
    check_condition,
)
from shortgen.backends.ltx.load import (
    _DTYPES,
    BASE_MODEL_2B,
    BASE_MODEL_13B,
    LOAD_EXTRA_KEYS,
    _base_model_for,
    _check_load_extra,
    _checkpoint_keys,
    _from_pretrained,
    _from_single_file,
    _is_distilled,
    _load_pipeline,
    _place,
    _set_attention_backend,
    apply_load_options,
    enable_fp8,
    load_ltx,
    pick_device,
    pick_dtype,
)
from shortgen.backends.ltx.loaded import LoadedPipeline, free_device_memory, seeded_generator
from shortgen.backends.ltx.prompts import EMBEDDING_CACHE_SIZE, PromptEmbeddingCache
from shortgen.backends.ltx.source import (
    _HUB_ID,
    _HUB_URL,
    LTX_PIPELINE_CLASSES,
    ModelSource,
    _causes,
    _check_checkpoint_suffix,
    _check_pipeline_folder,
    _download_hub_file,
    _hub_error,
    _hub_file_source,
    _looks_local,
    _not_cached,
    _offline,
    _require_cached,
    resolve_source,
)
from shortgen.backends.ltx.tiny import (
    quiet_hf_libraries,
    read_marker,
)

# Everything the single-module ltx.py had stays importable from here: the private helpers too, which the tests,
# the benchmarks and other loaders (LTX-2, text-to-audio) reuse: offline checks, one-line Hub errors, placement.
__all__ = [
    "BASE_MODEL_2B",
    "BASE_MODEL_13B",
    "CALL_DEFAULTS",
    "DISTILLED_TIMESTEPS",
    "EMBEDDING_CACHE_SIZE",
    "LOAD_EXTRA_KEYS",
    "LTX_PIPELINE_CLASSES",
    "REQUEST_EXTRA_KEYS",
    "TAIL_CONTEXT_LATENT_FRAMES",
    "_DTYPES",
    "_HUB_ID",
    "_HUB_URL",
    "DenoisedLatents",
    "LTXBackend",
    "LoadedPipeline",
    "ModelSource",
    "PromptEmbeddingCache",
    "_base_model_for",
    "_causes",
    "_check_checkpoint_suffix",
    "_check_load_extra",
    "_check_pipeline_folder",
    "_checkpoint_keys",
    "_download_hub_file",
    "_from_pretrained",
    "_from_single_file",
    "_hub_error",
    "_hub_file_source",
    "_is_distilled",
    "_load_pipeline",
    "_looks_local",
    "_not_cached",
    "_offline",
    "_place",
    "_require_cached",
    "_set_attention_backend",
    "_step_callback",
    "_to_ltx_condition",
    "_to_uint8",
    "apply_load_options",
    "check_condition",
    "enable_fp8",
    "free_device_memory",
    "load_ltx",
    "pick_device",
    "pick_dtype",
    "quiet_hf_libraries",
    "read_marker",
    "resolve_source",
    "seeded_generator",
]
