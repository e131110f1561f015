"""A loaded LTX-Video pipeline behind the generator protocol: requests in, frames out; the denoise / decode
split (``--decode-ahead``), prompt embeddings (cached by :mod:`.prompts`) and conditions checked before diffusers
would trim them.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import diffusers
import numpy as np
import PIL.Image
import torch
from diffusers import LTXConditionPipeline
from diffusers.pipelines.ltx.pipeline_ltx_condition import LTXVideoCondition
from diffusers.utils.torch_utils import randn_tensor

from shortgen.backends import LTX_RULES
from shortgen.backends.base import (
    FrameCondition,
    LoadOptions,
    SegmentRequest,
    ShapeRules,
    StepCallback,
)
from shortgen.backends.ltx.loaded import LoadedPipeline
from shortgen.backends.ltx.prompts import PromptEmbeddingCache
from shortgen.backends.ltx.restyle import encode_video, restyle_schedule
from shortgen.backends.ltx.source import ModelSource
from shortgen.backends.ltx.tiny import quiet_hf_libraries
from shortgen.backends.ltx.upsample import LatentUpsampler, multiscale_passes, upsample_options
from shortgen.errors import ModelError, UsageError

DISTILLED_TIMESTEPS: tuple[float, ...] = (1000.0, 993.0, 987.0, 981.0, 975.0, 909.0, 725.0, 0.03)
CALL_DEFAULTS: dict[str, Any] = {
    "decode_timestep": 0.05,
    "decode_noise_scale": 0.025,
    "image_cond_noise_scale": 0.0,
    "guidance_rescale": 0.7,
    "max_sequence_length": 256,
}
# "multiscale": --upscale latent (see .upsample); "video" + "denoise_strength": --restyle (see .restyle)
REQUEST_EXTRA_KEYS = frozenset({*CALL_DEFAULTS, "timesteps", "multiscale", "video", "denoise_strength"})
# Latent frames decoded before a tail and dropped (see LTXBackend.decode_tail).
TAIL_CONTEXT_LATENT_FRAMES = 1


@dataclass(frozen=True)
class DenoisedLatents:
    """What :meth:`LTXBackend.denoise` hands to :meth:`LTXBackend.decode`."""

    latents: torch.Tensor  # (1, C, F, h, w): unpacked, still normalised, float32 (output_type="latent")
    generator_state: torch.Tensor  # the seed's generator after denoising: the decode noise comes next from it
    decode_dtype: torch.dtype  # the prompt embeddings' dtype, which the pipeline decodes in
    ready: torch.cuda.Event | None = None  # recorded on the denoising stream once the latents are complete


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


class LTXBackend(LoadedPipeline):
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
        latent_upsampler: LatentUpsampler | None = None,
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
        self._embeddings = PromptEmbeddingCache(pipe)
        self._side_stream: torch.cuda.Stream | None = None
        self.latent_upsampler = latent_upsampler  # for SegmentRequest.extra["multiscale"]

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
            "latent_upsampler": self.latent_upsampler.describe() if self.latent_upsampler else None,
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
        generator = generator or self._generator(request.seed)
        if "multiscale" in request.extra:
            return self._call_multiscale(request, call, on_step, output_type, generator)
        start: dict[str, Any] = {}
        video = request.extra.get("video")
        if video is not None:  # --restyle: restart from the encoded input
            if video.shape != (request.num_frames, request.height, request.width, 3):
                raise UsageError(f"restyle input frames {video.shape} do not match the segment "
                                 f"({request.num_frames}, {request.height}, {request.width}, 3)")
            start["latents"] = encode_video(self._pipe, video)
            call["timesteps"], start["denoise_strength"] = restyle_schedule(
                float(request.extra.get("denoise_strength", 1.0)), call.get("timesteps"), request.steps)
            call["num_inference_steps"] = len(call["timesteps"])
        return self._run(request, call, on_step, output_type, generator, **start)

    def _run(self, request: SegmentRequest, call: dict[str, Any], on_step: StepCallback | None, output_type: str,
             generator: torch.Generator, **start: Any) -> tuple[Any, torch.dtype]:
        do_cfg = request.guidance_scale > 1.0
        embeds = self._embeddings.get(request.prompt, request.negative_prompt, do_cfg, call["max_sequence_length"])
        output = self._pipe(
            conditions=[_to_ltx_condition(c) for c in request.conditions] or None,
            height=request.height,
            width=request.width,
            num_frames=request.num_frames,
            frame_rate=request.fps,
            guidance_scale=request.guidance_scale,
            generator=generator,
            output_type=output_type,
            callback_on_step_end=_step_callback(on_step),
            **embeds,
            **call,
            **start,
        )
        return output, embeds["prompt_embeds"].dtype

    def _call_multiscale(self, request: SegmentRequest, call: dict[str, Any], on_step: StepCallback | None,
                         output_type: str, generator: torch.Generator) -> tuple[Any, torch.dtype]:
        """--upscale latent (see :mod:`.upsample`): pass 1 at half size, the upsampler, pass 2 at full size."""
        if self.latent_upsampler is None:
            raise ModelError("the model was loaded without a latent upsampler, so --upscale latent cannot run",
                             "load it with LoadOptions(extra={'latent_upsampler': 'auto' or PATH|ID})")
        small, refine = multiscale_passes(request, call, self.rules)
        first, _ = self._run(small, call, on_step, "latent", generator)
        upsampled = self.latent_upsampler.upsample(first.frames, **upsample_options(request))
        del first
        return self._run(request, refine, on_step, output_type, generator, latents=upsampled,
                         denoise_strength=float(request.extra["multiscale"]["refine_strength"]))

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
            self._embeddings.get(prompt, negative_prompt, guidance_scale > 1.0, CALL_DEFAULTS["max_sequence_length"])

    def _call_arguments(self, request: SegmentRequest) -> dict[str, Any]:
        unknown = sorted(set(request.extra) - REQUEST_EXTRA_KEYS)
        if unknown:
            raise UsageError(f"unknown ltx generation option(s): {', '.join(unknown)}",
                             f"allowed: {', '.join(sorted(REQUEST_EXTRA_KEYS))}")
        call = {**CALL_DEFAULTS, **{k: v for k, v in request.extra.items() if k in CALL_DEFAULTS}}
        timesteps = request.extra.get("timesteps")
        if timesteps is None and self._distilled and request.steps == len(DISTILLED_TIMESTEPS):
            timesteps = DISTILLED_TIMESTEPS
        if timesteps is not None:
            call["timesteps"] = [float(t) for t in timesteps]
            call["num_inference_steps"] = len(call["timesteps"])
        else:
            call["num_inference_steps"] = request.steps
        return call


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
