"""A tiny, randomly initialised Stable Audio Open pipeline for smoke tests, built fully offline.

Real classes in the real layout (Oobleck VAE, Stable Audio DiT with rotary attention and duration
conditioning, a T5 text encoder, the cosine DPM-Solver scheduler), narrow and short: 8 kHz stereo, a VAE hop of
2·4·4·4 = 128 samples and 64 latents per window, so one model call covers 1.024 s and a clip of a few seconds
already needs several windows joined. Random weights: the output is noise, not sound that fits.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

from shortgen.tinymodels import check_target, marker, save_atomically

MARKER_KIND = "shortgen-tiny-sound"
SAMPLE_RATE = 8000
LATENTS_PER_WINDOW = 64
TEXT_DIM = 32
DEFAULT_STEPS = 4  # what `--sound-steps` defaults to with this model (the real one: 100)
README = (
    "Tiny Stable Audio Open pipeline with RANDOM weights, built by shortgen.soundgen.tiny.build_tiny_sound.\n"
    "Real architecture (Oobleck VAE, Stable Audio DiT, T5 encoder), 8 kHz, 1.024 s per model call.\n"
    "It makes noise. Use it for smoke tests, never for real clips.\n"
)


def build_tiny_sound(folder: Path, seed: int = 0, overwrite: bool = False) -> Path:
    """Build the tiny pipeline and ``save_pretrained`` it into ``folder``; return ``folder``."""
    folder = Path(folder)
    check_target(folder, overwrite)
    note = "Random weights with the Stable Audio Open layout: generates noise. For smoke tests only."
    return save_atomically(tiny_sound_pipeline(seed), folder,
                           marker(MARKER_KIND, seed, note, default_steps=DEFAULT_STEPS), README)


def tiny_sound_pipeline(seed: int = 0) -> Any:
    import torch
    from diffusers import (
        AutoencoderOobleck,
        CosineDPMSolverMultistepScheduler,
        StableAudioDiTModel,
        StableAudioPipeline,
        StableAudioProjectionModel,
    )
    from transformers import T5Config, T5EncoderModel

    from shortgen.tinymodels import t5_tokenizer, t5_vocab

    torch.manual_seed(seed)
    transformer = StableAudioDiTModel(
        sample_size=LATENTS_PER_WINDOW, in_channels=8, num_layers=1, attention_head_dim=8, num_attention_heads=2,
        num_key_value_attention_heads=1, out_channels=8, cross_attention_dim=16, time_proj_dim=16,
        global_states_input_dim=32, cross_attention_input_dim=16,
    )
    torch.manual_seed(seed + 1)
    with warnings.catch_warnings():  # Oobleck still uses torch's deprecated weight_norm
        warnings.simplefilter("ignore", FutureWarning)
        vae = AutoencoderOobleck(encoder_hidden_size=8, downsampling_ratios=[2, 4, 4, 4],
                                 channel_multiples=[1, 1, 2, 2], decoder_channels=4, decoder_input_channels=8,
                                 audio_channels=2, sampling_rate=SAMPLE_RATE)
    torch.manual_seed(seed + 2)
    text_encoder = T5EncoderModel(T5Config(
        vocab_size=len(t5_vocab()), d_model=TEXT_DIM, d_kv=8, d_ff=64, num_layers=1, num_heads=4,
        relative_attention_num_buckets=8, relative_attention_max_distance=32, dropout_rate=0.0,
        pad_token_id=0, eos_token_id=1, decoder_start_token_id=0,
    )).eval()
    torch.manual_seed(seed + 3)
    # min/max seconds as in stabilityai/stable-audio-open-1.0's projection model.
    projection = StableAudioProjectionModel(text_encoder_dim=TEXT_DIM, conditioning_dim=16, min_value=0,
                                            max_value=512)
    scheduler = CosineDPMSolverMultistepScheduler(solver_order=2, prediction_type="v_prediction", sigma_data=1.0,
                                                  sigma_schedule="exponential")
    return StableAudioPipeline(
        vae=vae, text_encoder=text_encoder, projection_model=projection,
        tokenizer=t5_tokenizer(),
        transformer=transformer, scheduler=scheduler,
    )
