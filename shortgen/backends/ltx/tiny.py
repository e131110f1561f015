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
import json
import shutil
import string
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from shortgen.errors import UsageError

if TYPE_CHECKING:
    from diffusers import AutoencoderKLLTXVideo, LTXConditionPipeline, LTXVideoTransformer3DModel
    from transformers import T5EncoderModel, T5Tokenizer

MARKER_FILE = "shortgen_tiny.json"
MARKER_KIND = "shortgen-tiny-ltx"

LATENT_CHANNELS = 8
LATENT_UPSAMPLER_DIR = "latent_upsampler"
TEXT_DIM = 32

# Common prompt words get one token each; anything else is spelled out letter by letter and characters
# outside this list become <unk>, so any prompt tokenizes.
_WORDS_TEXT = (
    "a an the and or of in on at to with from by over under into through slow fast camera shot close up wide "
    "aerial view pan zoom tracking cinematic light lighting sun sunset sunrise night day sky cloud clouds "
    "rain snow fog water ocean sea wave waves river lake beach mountain mountains forest tree trees flower "
    "flowers city street car road building neon man woman person people child dog cat bird fish horse walks "
    "runs flies dances smiles looks turns moves falls red green blue yellow orange purple pink black white "
    "gold bright dark soft warm cold golden hour realistic quality worst best blurry jittery distorted motion "
    "inconsistent detailed portrait vertical background foreground coffee cup table room window fire smoke"
)


def build_tiny_ltx(folder: Path, seed: int = 0, overwrite: bool = False) -> Path:
    """Build the tiny pipeline and ``save_pretrained`` it into ``folder``; return ``folder``.

    A non-empty ``folder`` that is not a tiny model already is refused unless ``overwrite``.
    """
    folder = Path(folder)
    _check_target(folder, overwrite)
    pipe = tiny_ltx_pipeline(seed)
    folder.parent.mkdir(parents=True, exist_ok=True)
    # Build next to the target and swap it in, so a failed build never leaves half a model behind.
    staging = Path(tempfile.mkdtemp(prefix=f".{folder.name}-", dir=folder.parent))
    staging.chmod(0o755)  # mkdtemp makes it private; a model folder is an ordinary folder
    try:
        with quiet_hf_libraries():
            pipe.save_pretrained(staging, safe_serialization=True)
        _write_marker(staging, seed)
        _write_upscalers(staging, seed)
        if folder.exists():
            shutil.rmtree(folder)
        staging.rename(folder)
    finally:
        if staging.exists():
            shutil.rmtree(staging)
    return folder


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


def is_tiny_model(folder: Path) -> bool:
    return (Path(folder) / MARKER_FILE).is_file()


def read_marker(folder: Path) -> dict[str, Any] | None:
    path = Path(folder) / MARKER_FILE
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def tiny_ltx_pipeline(seed: int = 0) -> LTXConditionPipeline:
    """The tiny pipeline in memory (float32, CPU)."""
    from diffusers import LTXConditionPipeline

    return LTXConditionPipeline(
        scheduler=_scheduler(),
        vae=_vae(seed),
        text_encoder=_text_encoder(seed),
        tokenizer=_tokenizer(),
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


def _check_target(folder: Path, overwrite: bool) -> None:
    if folder.exists() and not folder.is_dir():
        raise UsageError(f"{folder} exists and is not a folder", "choose another path for the tiny model")
    if overwrite or not folder.exists() or is_tiny_model(folder) or not any(folder.iterdir()):
        return
    raise UsageError(
        f"{folder} is not empty and does not hold a tiny model",
        "choose an empty folder or pass overwrite=True (--overwrite) to replace its contents",
    )


def _write_marker(folder: Path, seed: int) -> None:
    import diffusers

    marker = {
        "kind": MARKER_KIND,
        "seed": seed,
        "random_weights": True,
        "distilled_schedule": True,
        "note": "Random weights with the LTX-Video 0.9.5+ layout: generates noise. For smoke tests only.",
        "diffusers": diffusers.__version__,
    }
    (folder / MARKER_FILE).write_text(json.dumps(marker, indent=2) + "\n", encoding="utf-8")
    (folder / "README.txt").write_text(
        "Tiny LTX-Video pipeline with RANDOM weights, built by shortgen.backends.tiny.build_tiny_ltx.\n"
        "It has the real architecture (x32 spatial / x8 temporal VAE, T5 encoder, LTX transformer) but\n"
        "produces coloured noise. Use it for smoke tests, never for real clips.\n",
        encoding="utf-8",
    )


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
        vocab_size=len(_vocab()),
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


def _tokenizer() -> T5Tokenizer:
    from transformers import T5Tokenizer

    return T5Tokenizer(vocab=_vocab(), extra_ids=0, model_max_length=128)


def _vocab() -> list[tuple[str, float]]:
    """T5 layout: <pad>=0, </s>=1, <unk>=2, then Unigram pieces with log-probability-like scores."""
    pieces: list[tuple[str, float]] = [("<pad>", 0.0), ("</s>", 0.0), ("<unk>", 0.0), ("▁", -2.0)]
    pieces += [(f"▁{word}", -6.0) for word in dict.fromkeys(_WORDS_TEXT.split())]
    chars = string.ascii_lowercase + string.ascii_uppercase + string.digits + string.punctuation
    pieces += [(char, -10.0) for char in chars]
    return pieces


def _scheduler() -> Any:
    from diffusers import FlowMatchEulerDiscreteScheduler

    # As diffusers converts LTX-Video 0.9.5 / 0.9.7 (the distilled models pass explicit timesteps).
    return FlowMatchEulerDiscreteScheduler(use_dynamic_shifting=False)
