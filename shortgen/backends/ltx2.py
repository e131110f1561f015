"""LTX-2 through diffusers' ``LTX2ConditionPipeline``: picture and synchronised sound from one model.

What ``LoadOptions.model`` may be: a local diffusers folder whose ``model_index.json`` names an LTX-2 pipeline
(e.g. ``shortgen models tiny DIR --backend ltx2``), or a Hub id, from the local cache when offline. Single-file
checkpoints are not supported here (convert them with diffusers' script first).

Shape rules (:data:`shortgen.backends.LTX2_RULES`, checked before any weights load): sizes multiples of 32,
8k+1 frames, 9-481 per call (20 s at 24 fps). Conditions: LTX-2 places a condition at a *latent* index; pixel
frame ``0`` is latent 0 and pixel frame ``8j+1`` latent ``j+1``, so a condition must start at one of those frames.
A chained segment is conditioned on the previous segment's last frames at frame 0 (the first latents are
replaced by them), as with LTX-Video. A condition at frame 8j+1 (j >= 1) is not put in place of latents: the
pipeline appends it as clean keyframe tokens timed at that frame (``prepare_latents``, as Lightricks'
``VideoConditionByKeyframeIndex``), which the model attends to while it denoises the frames there. ``make --loop
seamless`` closes its loop that way: the last segment gets the clip's opening at the frame 8j+1 where the clip
ends (``shortgen.stages.loop_close.room_to_close`` plans a few dropped lead frames to put the end there).

Generation: a distilled model asked for 8 steps runs diffusers' distilled sigmas
(``DISTILLED_SIGMA_VALUES``) with no classifier-free, spatio-temporal or modality guidance, as Lightricks run it.
Other models or step counts use the pipeline's schedule and its guidance defaults, with ``guidance_scale``
from the request. The sound comes from the vocoder at its own rate, read from its config (24 kHz for LTX-2,
48 kHz for LTX-2.3 by third-party notes), and is returned beside the frames
(:class:`~shortgen.backends.base.SegmentOutput`).

Memory: the Gemma 3 text encoder (12B for LTX-2) is larger than many GPUs' spare room next to the 19-22B
transformer; ``make`` encodes every prompt first (:meth:`LTX2Backend.prepare_prompts`) and then frees it
(:meth:`LTX2Backend.release_text_encoder`), as for LTX-Video's T5.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import diffusers
import numpy as np
import torch
from diffusers import LTX2ConditionPipeline
from diffusers.pipelines.ltx2.pipeline_ltx2_condition import LTX2VideoCondition
from diffusers.pipelines.ltx2.utils import DISTILLED_SIGMA_VALUES, resolve_default_image_crf

from shortgen.backends import LTX2_RULES, check_model_folder, get_backend_info
from shortgen.backends.base import FrameCondition, LoadOptions, SegmentOutput, SegmentRequest, StepCallback
from shortgen.backends.ltx import (
    LoadedPipeline,
    PromptEmbeddingCache,
    _hub_error,
    _offline,
    _require_cached,
    _step_callback,
    _to_uint8,
    apply_load_options,
    pick_device,
    pick_dtype,
    quiet_hf_libraries,
)
from shortgen.errors import ModelError, UsageError
from shortgen.progress import Progress
from shortgen.tinymodels import read_marker

MAX_SEQUENCE_LENGTH = 256
LOAD_EXTRA_KEYS = frozenset({"distilled", "attention_backend"})
# No guidance at all: what the distilled checkpoints are trained for (one transformer call per step).
DISTILLED_CALL = {"guidance_scale": 1.0, "stg_scale": 0.0, "modality_scale": 1.0, "guidance_rescale": 0.0,
                  "audio_guidance_scale": 1.0, "audio_stg_scale": 0.0, "audio_modality_scale": 1.0,
                  "audio_guidance_rescale": 0.0}


def load_ltx2(options: LoadOptions, progress: Progress) -> LTX2Backend:
    unknown = sorted(set(options.extra) - LOAD_EXTRA_KEYS)
    if unknown:
        raise UsageError(f"unknown ltx2 load option(s): {', '.join(unknown)}",
                         f"allowed: {', '.join(sorted(LOAD_EXTRA_KEYS))}")
    device = pick_device(options.device)
    dtype = pick_dtype(options.dtype, device)
    local = _local_folder(options.model)
    if local is None:
        _require_cached(options.model, options.revision, "the ltx2 backend")
    progress.start("load", "Loading model", None)
    with quiet_hf_libraries():
        try:
            pipe = LTX2ConditionPipeline.from_pretrained(
                str(local or options.model), dtype=dtype, revision=None if local else options.revision,
                local_files_only=local is None and _offline())
        except OSError as err:
            raise _hub_error(err, options.model, options.revision, "the ltx2 backend") from None
        apply_load_options(pipe, options, dtype, device, progress)
    pipe.set_progress_bar_config(disable=True)
    progress.finish("load")
    marker = read_marker(local) if local else None
    distilled = bool(options.extra.get("distilled", marker.get("distilled_schedule") if marker else
                                       "distilled" in options.model.lower()))
    return LTX2Backend(pipe, options, device, dtype, distilled, bool(marker and marker.get("random_weights")))


def _local_folder(model: str) -> Path | None:
    path = Path(model).expanduser()
    if not path.is_dir():
        if path.exists() or model.startswith(("/", "./", "../", "~")):
            raise UsageError(f"model path {model} is not a diffusers folder",
                             "pass a folder saved by save_pretrained, or a Hub id")
        return None
    check_model_folder("ltx2", str(path))
    index = path / "model_index.json"
    try:
        class_name = json.loads(index.read_text(encoding="utf-8")).get("_class_name")
    except (OSError, ValueError):
        raise ModelError(f"{path} is not a diffusers pipeline folder (no readable model_index.json)",
                         "pass a folder saved by save_pretrained, or a Hub id") from None
    if class_name not in get_backend_info("ltx2").pipeline_classes:
        raise ModelError(f"{path} holds a {class_name}, not an LTX-2 pipeline",
                         f"the ltx2 backend needs an LTX-2 model, e.g. {get_backend_info('ltx2').default_model}")
    return path.resolve()


def latent_index(cond: FrameCondition, num_frames: int) -> int:
    """The latent index LTX-2 needs for a condition starting at pixel frame ``cond.frame_index``."""
    frames = cond.frames
    if frames.dtype != np.uint8 or frames.ndim != 4 or frames.shape[3] != 3:
        raise UsageError(f"condition frames must be uint8 (n, height, width, 3), got {frames.dtype} {frames.shape}")
    n, index = frames.shape[0], cond.frame_index
    if index < 0 or index + n > num_frames:
        raise UsageError(f"a {n}-frame condition at frame {index} does not fit in {num_frames} frames",
                         f"use a frame index from 0 to {num_frames - n}")
    if n != 1 and n % 8 != 1:
        raise UsageError(f"a condition of {n} frames does not fit LTX-2 (1 or 8k+1 frames)",
                         f"use {max(1, (n - 1) // 8 * 8 + 1)} frames")
    if index and (index - 1) % 8:
        below = (index - 1) // 8 * 8 + 1
        raise UsageError(f"LTX-2 cannot start a condition at frame {index} (only frame 0 or 8j+1)",
                         f"use frame {below} or {below + 8}")
    if not 0.0 <= cond.strength <= 1.0:
        raise UsageError(f"condition strength {cond.strength} is outside 0..1")
    return 0 if index == 0 else (index - 1) // 8 + 1


class LTX2Backend(LoadedPipeline):
    """A loaded LTX-2 pipeline behind :class:`~shortgen.backends.base.SoundBackend`."""

    name = "ltx2"

    def __init__(self, pipe: LTX2ConditionPipeline, options: LoadOptions, device: torch.device,
                 dtype: torch.dtype, distilled: bool, random_weights: bool) -> None:
        self.rules = LTX2_RULES
        self._pipe = pipe
        self._options = options
        self._device = device
        self._dtype = dtype
        self._distilled = distilled
        self._random_weights = random_weights
        self.audio_sample_rate = int(pipe.vocoder.config.output_sampling_rate)
        # Gemma 3 (LTX-2/2.3) trained with CRF 33 image conditions, Gemma 4 (2.5) with 18; read it while the
        # encoder is still loaded.
        self._image_crf = resolve_default_image_crf(pipe.text_encoder)
        self._embeddings = PromptEmbeddingCache(pipe)

    def describe(self) -> dict[str, Any]:
        return {
            "backend": self.name, "model": self._options.model, "revision": self._options.revision,
            "distilled": self._distilled, "random_weights": self._random_weights, "device": str(self._device),
            "dtype": str(self._dtype).removeprefix("torch."), "low_memory": self._options.low_memory,
            "compile": self._options.compile, "attention_backend": self._options.extra.get("attention_backend"),
            "fp8": self._options.fp8, "vae_tiling": bool(getattr(self._pipe.vae, "use_tiling", False)),
            "audio_sample_rate": self.audio_sample_rate, "diffusers": diffusers.__version__,
            "torch": torch.__version__,
        }

    def generate(self, request: SegmentRequest, on_step: StepCallback | None = None) -> np.ndarray:
        return self.generate_with_audio(request, on_step).frames

    def generate_with_audio(self, request: SegmentRequest, on_step: StepCallback | None = None) -> SegmentOutput:
        self.rules.check_size(request.width, request.height)
        self.rules.check_frames(request.num_frames)
        conditions = [self._condition(c, request.num_frames) for c in request.conditions]
        try:
            embeddings = self._embeddings.get(request.prompt, request.negative_prompt, self._cfg(request),
                                              MAX_SEQUENCE_LENGTH)
            with torch.inference_mode(), quiet_hf_libraries():
                output = self._pipe(
                    conditions=conditions or None, height=request.height, width=request.width,
                    num_frames=request.num_frames, frame_rate=request.fps, generator=self._generator(request.seed),
                    output_type="pt", callback_on_step_end=_step_callback(on_step),
                    max_sequence_length=MAX_SEQUENCE_LENGTH,
                    **embeddings,
                    **self._schedule(request),
                )
                frames = _to_uint8(output.frames[0])
                audio = output.audio[0].float().cpu().numpy()
                del output
        finally:
            self._free_memory()
        return SegmentOutput(frames=frames, audio=audio, sample_rate=self.audio_sample_rate)

    def prepare_prompts(self, prompts: Sequence[str], negative_prompt: str, guidance_scale: float) -> None:
        """Encode prompts ahead of time, e.g. before :meth:`release_text_encoder`."""
        # The request's step count decides whether the distilled (guidance-free) call runs: encode for both.
        variants = {guidance_scale > 1.0, False} if self._distilled else {guidance_scale > 1.0}
        for prompt in prompts:
            for cfg in variants:
                self._embeddings.get(prompt, negative_prompt, cfg, MAX_SEQUENCE_LENGTH)

    def _cfg(self, request: SegmentRequest) -> bool:
        return request.guidance_scale > 1.0 and not self._is_distilled_call(request)

    def _is_distilled_call(self, request: SegmentRequest) -> bool:
        return self._distilled and request.steps == len(DISTILLED_SIGMA_VALUES)

    def _schedule(self, request: SegmentRequest) -> dict[str, Any]:
        if self._is_distilled_call(request):
            return {"sigmas": list(DISTILLED_SIGMA_VALUES), "num_inference_steps": len(DISTILLED_SIGMA_VALUES),
                    **DISTILLED_CALL}
        return {"num_inference_steps": request.steps, "guidance_scale": request.guidance_scale,
                "audio_guidance_scale": request.guidance_scale}

    def _condition(self, cond: FrameCondition, num_frames: int) -> LTX2VideoCondition:
        index = latent_index(cond, num_frames)
        return LTX2VideoCondition(frames=cond.frames, index=index, strength=cond.strength,
                                  crf=self._image_crf if len(cond.frames) == 1 else None)
