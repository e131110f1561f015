"""Video-to-video for LTX (``edit --restyle``): encode a segment's input frames, and a schedule that starts at
the asked noise level.

``SegmentRequest.extra["video"]`` holds the input frames ``(n, height, width, 3)`` uint8 at the request's size;
``extra["denoise_strength"]`` S in (0, 1] is the noise level to restart from. diffusers' ``denoise_strength``
counts *steps* (it keeps the last ``int(n·S)`` of n timesteps), so on the distilled schedule
``[1000, 993, 987, 981, 975, 909, 725, 0.03]`` any S above 0.5 would still start at 975 — pure noise, the input
lost. Instead the schedule here starts at ``1000·S`` and keeps the one-pass schedule's timesteps below it; it is
passed with a dummy first entry and a ``denoise_strength`` that drops exactly that entry, so diffusers noises the
encoded input to sigma S (``latents = S·noise + (1−S)·input``) and denoises from there.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from diffusers.pipelines.ltx.pipeline_ltx_condition import linear_quadratic_schedule

from shortgen.errors import UsageError


def encode_video(pipe: Any, frames: np.ndarray) -> torch.Tensor:
    """``(n, h, w, 3)`` uint8 → the pipeline's normalised latents ``(1, C, F, h/32, w/32)`` (float32), as the
    pipeline's own ``latents=`` argument takes them: the VAE's mode, not a sample, so the same input gives the
    same latents."""
    n, height, width = frames.shape[:3]
    if n % pipe.vae_temporal_compression_ratio != 1:
        raise UsageError(f"a restyle segment of {n} frames does not fit LTX (8k+1 frames)")
    vae = pipe.vae
    device = pipe._execution_device
    video = torch.from_numpy(np.ascontiguousarray(frames)).permute(0, 3, 1, 2)  # (F, 3, H, W) uint8
    video = pipe.video_processor.preprocess_video(video.float().div_(255.0)[None], height, width)
    with torch.inference_mode():
        latents = vae.encode(video.to(device=device, dtype=vae.dtype)).latent_dist.mode()
    return pipe._normalize_latents(latents.float(), vae.latents_mean, vae.latents_std, vae.config.scaling_factor)


def restyle_schedule(strength: float, timesteps: list[float] | None, steps: int) -> tuple[list[float], float]:
    """(timesteps to pass, ``denoise_strength`` to pass) for a restart at noise level ``strength``."""
    if not 0.0 < strength <= 1.0:
        raise UsageError(f"restyle strength {strength:g} is outside (0, 1]", "pass --strength between 0 and 1")
    start = 1000.0 * strength
    base = timesteps if timesteps is not None else [float(t) for t in linear_quadratic_schedule(steps) * 1000.0]
    schedule = [start] + [float(t) for t in base if t < start - 1e-6]
    full = [1000.0, *schedule]
    # keep int(len(full) · s) = len(full) - 1 timesteps: all but the dummy first one
    return full, (len(full) - 0.5) / len(full)
