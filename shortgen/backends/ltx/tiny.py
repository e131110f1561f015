"""A tiny, randomly initialised LTX-Video pipeline for smoke tests, built fully offline.

The components are the real diffusers classes with the real LTX-Video 0.9.5+ layout (the layout the
0.9.7 / 0.9.8 distilled checkpoints use): a VAE with patch size 4 and four down blocks
(spatial, temporal, spatio-temporal, spatio-temporal), so ×32 spatial and ×8 temporal compression,
a timestep-conditioned decoder, a T5 text encoder and a flow-matching Euler scheduler. Only the
widths are tiny. The weights are random: the output is coloured noise, but every shape rule, condition
and decode path behaves like the real model. The same seed gives byte-identical weight files.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from shortgen.tinymodels import (
    MARKER_FILE,
    check_target,
    is_tiny_model,
    marker,
    read_marker,
    save_atomically,
    t5_tokenizer,
    t5_vocab,
)

if TYPE_CHECKING:
    from diffusers import AutoencoderKLLTXVideo, LTXConditionPipeline, LTXVideoTransformer3DModel
    from transformers import T5EncoderModel

# MARKER_FILE, is_tiny_model and read_marker stay importable from here (and from shortgen.backends.tiny).
__all__ = ["LATENT_CHANNELS", "LATENT_UPSAMPLER_DIR", "MARKER_FILE", "MARKER_KIND", "TEXT_DIM", "build_tiny_ltx",
           "is_tiny_model", "quiet_hf_libraries", "read_marker", "tiny_latent_upsampler", "tiny_ltx_pipeline"]

MARKER_KIND = "shortgen-tiny-ltx"

LATENT_CHANNELS = 8
LATENT_UPSAMPLER_DIR = "latent_upsampler"
TEXT_DIM = 32

# Common prompt words get one token each; anything else is spelled out letter by letter (see t5_vocab).
_WORDS_TEXT = (
    "a an the and or of in on at to with from by over under into through slow fast camera shot close up wide "
    "aerial view pan zoom tracking cinematic light lighting sun sunset sunrise night day sky cloud clouds "
    "rain snow fog water ocean sea wave waves river lake beach mountain mountains forest tree trees flower "
    "flowers city street car road building neon man woman person people child dog cat bird fish horse walks "
    "runs flies dances smiles looks turns moves falls red green blue yellow orange purple pink black white "
    "gold bright dark soft warm cold golden hour realistic quality worst best blurry jittery distorted motion "
    "inconsistent detailed portrait vertical background foreground coffee cup table room window fire smoke"
)
_WORDS = _WORDS_TEXT.split()
README = (
    "Tiny LTX-Video pipeline with RANDOM weights, built by shortgen.backends.tiny.build_tiny_ltx.\n"
    "It has the real architecture (x32 spatial / x8 temporal VAE, T5 encoder, LTX transformer) but\n"
    "produces coloured noise. Use it for smoke tests, never for real clips.\n"
)


def build_tiny_ltx(folder: Path, seed: int = 0, overwrite: bool = False) -> Path:
    """Build the tiny pipeline and ``save_pretrained`` it into ``folder``; return ``folder``.

    A non-empty ``folder`` that is not a tiny model already is refused unless ``overwrite``.
    """
    folder = Path(folder)
    check_target(folder, overwrite)
    note = "Random weights with the LTX-Video 0.9.5+ layout: generates noise. For smoke tests only."
    return save_atomically(tiny_ltx_pipeline(seed), folder, marker(MARKER_KIND, seed, note, distilled_schedule=True),
                           README, extra=lambda staging: _write_upscalers(staging, seed))


def _write_upscalers(folder: Path, seed: int) -> None:
    """Issue 12: ``latent_upsampler/`` (a diffusers ``LTXLatentUpsamplePipeline`` folder, the layout of
    ``Lightricks/ltxv-spatial-upscaler-0.9.7``), found by ``--upscale latent``; and a tiny compact ×2 pixel
    upscaler for ``--upscale model:DIR/upscaler-x2.safetensors``."""
    from diffusers import LTXLatentUpsamplePipeline

    from shortgen.stages.upscale.sr_models import TINY_UPSCALER_FILE, save_tiny_upscaler

    upsample = LTXLatentUpsamplePipeline(vae=_vae(seed), latent_upsampler=tiny_latent_upsampler(seed))
    upsample.save_pretrained(folder / LATENT_UPSAMPLER_DIR, safe_serialization=True)
    save_tiny_upscaler(folder / TINY_UPSCALER_FILE, "compact", 2, seed=seed)


def tiny_latent_upsampler(seed: int = 0, in_channels: int = LATENT_CHANNELS) -> Any:
    """``LTXLatentUpsamplerModel`` as the published 0.9.7 / 0.9.8 spatial upsampler (3-D convolutions, ×2 in
    space, not in time), narrow: ``mid_channels`` must be a multiple of 32 (it uses GroupNorm(32))."""
    import torch
    from diffusers.pipelines.ltx.modeling_latent_upsampler import LTXLatentUpsamplerModel

    torch.manual_seed(seed + 3)
    return LTXLatentUpsamplerModel(in_channels=in_channels, mid_channels=32, num_blocks_per_stage=1, dims=3,
                                   spatial_upsample=True, temporal_upsample=False).eval()


def tiny_ltx_pipeline(seed: int = 0) -> LTXConditionPipeline:
    """The tiny pipeline in memory (float32, CPU)."""
    from diffusers import LTXConditionPipeline

    return LTXConditionPipeline(
        scheduler=_scheduler(),
        vae=_vae(seed),
        text_encoder=_text_encoder(seed),
        tokenizer=t5_tokenizer(_WORDS),
        transformer=_transformer(seed),
    )


@contextlib.contextmanager
def quiet_hf_libraries() -> Iterator[None]:
    """Hide diffusers' info/warning logs (e.g. the scheduler's note on custom timesteps) and the loading bars
    of diffusers and transformers; the caller's :class:`Progress` reports instead."""
    from diffusers.utils import logging as dlogging
    from transformers.utils import logging as tlogging

    verbosity = dlogging.get_verbosity()
    bars = (dlogging.is_progress_bar_enabled(), tlogging.is_progress_bar_enabled())
    dlogging.set_verbosity_error()
    dlogging.disable_progress_bar()
    tlogging.disable_progress_bar()
    try:
        yield
    finally:
        dlogging.set_verbosity(verbosity)
        if bars[0]:
            dlogging.enable_progress_bar()
        if bars[1]:
            tlogging.enable_progress_bar()


def _transformer(seed: int) -> LTXVideoTransformer3DModel:
    import torch
    from diffusers import LTXVideoTransformer3DModel

    torch.manual_seed(seed)
    return LTXVideoTransformer3DModel(
        in_channels=LATENT_CHANNELS,
        out_channels=LATENT_CHANNELS,
        patch_size=1,
        patch_size_t=1,
        num_attention_heads=4,
        attention_head_dim=8,
        cross_attention_dim=32,
        num_layers=1,
        caption_channels=TEXT_DIM,
    )


def _vae(seed: int) -> AutoencoderKLLTXVideo:
    """The 0.9.5+ VAE layout (diffusers' convert_ltx_to_diffusers.py, version 0.9.5/0.9.7) with tiny widths."""
    import torch
    from diffusers import AutoencoderKLLTXVideo

    torch.manual_seed(seed + 1)
    return AutoencoderKLLTXVideo(
        in_channels=3,
        out_channels=3,
        latent_channels=LATENT_CHANNELS,
        block_out_channels=(8, 8, 16, 16, 16),
        down_block_types=("LTXVideo095DownBlock3D",) * 4,
        decoder_block_out_channels=(8, 16, 32),
        layers_per_block=(1, 1, 1, 1, 1),
        decoder_layers_per_block=(1, 1, 1, 1),
        spatio_temporal_scaling=(True, True, True, True),
        decoder_spatio_temporal_scaling=(True, True, True),
        decoder_inject_noise=(False, False, False, False),
        downsample_type=("spatial", "temporal", "spatiotemporal", "spatiotemporal"),
        upsample_residual=(True, True, True),
        upsample_factor=(2, 2, 2),
        timestep_conditioning=True,
        patch_size=4,
        patch_size_t=1,
        resnet_norm_eps=1e-6,
        scaling_factor=1.0,
        encoder_causal=True,
        decoder_causal=False,
        spatial_compression_ratio=32,
        temporal_compression_ratio=8,
    )


def _text_encoder(seed: int) -> T5EncoderModel:
    import torch
    from transformers import T5Config, T5EncoderModel

    torch.manual_seed(seed + 2)
    config = T5Config(
        vocab_size=len(t5_vocab(_WORDS)),
        d_model=TEXT_DIM,
        d_kv=8,
        d_ff=64,
        num_layers=1,
        num_heads=4,
        relative_attention_num_buckets=8,
        relative_attention_max_distance=32,
        feed_forward_proj="gated-gelu",  # t5-v1_1 style, as in google/t5-v1_1-xxl
        dropout_rate=0.0,
        pad_token_id=0,
        eos_token_id=1,
        decoder_start_token_id=0,
    )
    return T5EncoderModel(config).eval()


def _scheduler() -> Any:
    from diffusers import FlowMatchEulerDiscreteScheduler

    # As diffusers converts LTX-Video 0.9.5 / 0.9.7 (the distilled models pass explicit timesteps).
    return FlowMatchEulerDiscreteScheduler(use_dynamic_shifting=False)
