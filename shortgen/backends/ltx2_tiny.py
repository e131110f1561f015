"""A tiny, randomly initialised LTX-2 pipeline (video + audio) for smoke tests, built fully offline.

The components are the real diffusers classes in the real LTX-2 layout, only narrow: a video VAE with patch
size 4 and the four down blocks LTX-2 uses (spatial, temporal, spatiotemporal, spatiotemporal: ×32 spatial,
×8 temporal, so multi-frame conditions line up as on the full model), the causal audio VAE (16 kHz mel,
hop 160), a vocoder whose upsampling (10·4·4 = 160 = the hop) gives one audio sample per input sample, a
Gemma 3 text encoder (text hidden size 32; smaller fails inside the connectors) with a tokenizer built here
from the ``tokenizers`` library, the text connectors and the audio-video transformer. The weights are random:
picture and sound are noise, but every shape, condition and decode path runs as on the real model.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from shortgen.tinymodels import PROMPT_CHARS, check_target, marker, save_atomically

if TYPE_CHECKING:
    from diffusers import LTX2ConditionPipeline

MARKER_KIND = "shortgen-tiny-ltx2"
TEXT_DIM = 32
TEXT_LAYERS = 1
AUDIO_SAMPLE_RATE = 16000
SPECIAL_TOKENS = ("<pad>", "<eos>", "<bos>", "<unk>", "<mask>", "<start_of_image>", "<end_of_image>",
                  "<image_soft_token>")


def build_tiny_ltx2(folder: Path, seed: int = 0, overwrite: bool = False) -> Path:
    """Build the tiny LTX-2 pipeline and ``save_pretrained`` it into ``folder``; return ``folder``."""
    folder = Path(folder)
    check_target(folder, overwrite)
    return save_atomically(tiny_ltx2_pipeline(seed), folder, _marker(seed), README)


def tiny_ltx2_pipeline(seed: int = 0) -> LTX2ConditionPipeline:
    """The tiny pipeline in memory (float32, CPU)."""
    from diffusers import FlowMatchEulerDiscreteScheduler, LTX2ConditionPipeline

    from shortgen.backends.ltx import quiet_hf_libraries

    with quiet_hf_libraries():
        tokenizer = _tokenizer()
        text_encoder = _text_encoder(seed, len(tokenizer))
        return LTX2ConditionPipeline(
            scheduler=FlowMatchEulerDiscreteScheduler(),
            vae=_video_vae(seed),
            audio_vae=_audio_vae(seed),
            text_encoder=text_encoder,
            tokenizer=tokenizer,
            connectors=_connectors(seed),
            transformer=_transformer(seed),
            vocoder=_vocoder(seed),
        )


def _tokenizer() -> Any:
    """A Gemma tokenizer (the ``tokenizers``-backed class transformers 5 ships) over a character vocabulary: any
    prompt tokenizes, one token per character, characters outside the list become ``<unk>``."""
    from transformers import GemmaTokenizer

    vocab = {token: i for i, token in enumerate((*SPECIAL_TOKENS, *dict.fromkeys("▁" + PROMPT_CHARS)))}
    tokenizer = GemmaTokenizer(vocab=vocab, merges=[])
    tokenizer.model_max_length = 128
    return tokenizer


def _text_encoder(seed: int, vocab_size: int) -> Any:
    import torch
    from transformers import Gemma3Config, Gemma3ForConditionalGeneration

    ids = {token: i for i, token in enumerate(SPECIAL_TOKENS)}
    config = Gemma3Config(
        text_config={
            "vocab_size": vocab_size, "hidden_size": TEXT_DIM, "intermediate_size": 64,
            "num_hidden_layers": TEXT_LAYERS, "num_attention_heads": 2, "num_key_value_heads": 1, "head_dim": 16,
            "max_position_embeddings": 256, "sliding_window": 64, "pad_token_id": ids["<pad>"],
            "eos_token_id": ids["<eos>"], "bos_token_id": ids["<bos>"],
        },
        vision_config={"hidden_size": 16, "intermediate_size": 32, "num_hidden_layers": 1,
                       "num_attention_heads": 2, "image_size": 28, "patch_size": 14},
        mm_tokens_per_image=4,
        boi_token_index=ids["<start_of_image>"],
        eoi_token_index=ids["<end_of_image>"],
        image_token_index=ids["<image_soft_token>"],
    )
    torch.manual_seed(seed + 2)
    return Gemma3ForConditionalGeneration(config).eval()


def _connectors(seed: int) -> Any:
    import torch
    from diffusers.pipelines.ltx2 import LTX2TextConnectors

    torch.manual_seed(seed + 3)
    return LTX2TextConnectors(
        caption_channels=TEXT_DIM, text_proj_in_factor=TEXT_LAYERS + 1,
        video_connector_num_attention_heads=4, video_connector_attention_head_dim=8, video_connector_num_layers=1,
        video_connector_num_learnable_registers=None,
        audio_connector_num_attention_heads=4, audio_connector_attention_head_dim=8, audio_connector_num_layers=1,
        audio_connector_num_learnable_registers=None,
        connector_rope_base_seq_len=32, rope_theta=10000.0, rope_double_precision=False,
        causal_temporal_positioning=False, rope_type="split",
    )


def _transformer(seed: int) -> Any:
    import torch
    from diffusers import LTX2VideoTransformer3DModel

    torch.manual_seed(seed)
    return LTX2VideoTransformer3DModel(
        in_channels=8, out_channels=8, patch_size=1, patch_size_t=1,
        num_attention_heads=2, attention_head_dim=8, cross_attention_dim=16,
        audio_in_channels=4, audio_out_channels=4, audio_num_attention_heads=2, audio_attention_head_dim=4,
        audio_cross_attention_dim=8, num_layers=1, qk_norm="rms_norm_across_heads",
        caption_channels=TEXT_DIM, rope_double_precision=False, rope_type="split",
    )


def _video_vae(seed: int) -> Any:
    """LTX-2's VAE layout (×32 spatial via patch 4 and three spatial halvings, ×8 temporal) with tiny widths."""
    import torch
    from diffusers import AutoencoderKLLTX2Video

    torch.manual_seed(seed + 1)
    vae = AutoencoderKLLTX2Video(
        in_channels=3, out_channels=3, latent_channels=8,
        block_out_channels=(8, 8, 16, 16), decoder_block_out_channels=(8, 16, 32),
        layers_per_block=(1, 1, 1, 1, 1), decoder_layers_per_block=(1, 1, 1, 1),
        spatio_temporal_scaling=(True, True, True, True), decoder_spatio_temporal_scaling=(True, True, True),
        decoder_inject_noise=(False, False, False, False),
        downsample_type=("spatial", "temporal", "spatiotemporal", "spatiotemporal"),
        upsample_residual=(True, True, True), upsample_factor=(2, 2, 2),
        timestep_conditioning=False, patch_size=4, patch_size_t=1,
        encoder_causal=True, decoder_causal=False,
        spatial_compression_ratio=32, temporal_compression_ratio=8,  # as the real config states them
    )
    vae.use_framewise_encoding = False
    vae.use_framewise_decoding = False
    return vae


def _audio_vae(seed: int) -> Any:
    import torch
    from diffusers import AutoencoderKLLTX2Audio

    torch.manual_seed(seed + 4)
    return AutoencoderKLLTX2Audio(
        base_channels=4, output_channels=2, ch_mult=(1,), num_res_blocks=1, attn_resolutions=None, in_channels=2,
        resolution=32, latent_channels=2, norm_type="pixel", causality_axis="height", dropout=0.0,
        mid_block_add_attention=False, sample_rate=AUDIO_SAMPLE_RATE, mel_hop_length=160, is_causal=True, mel_bins=8,
    )


def _vocoder(seed: int) -> Any:
    import torch
    from diffusers.pipelines.ltx2.vocoder import LTX2Vocoder

    torch.manual_seed(seed + 5)
    # 10·4·4 = 160 = the audio VAE's hop: one output sample per mel hop sample, so audio is as long as the clip.
    return LTX2Vocoder(
        in_channels=2 * 8, hidden_channels=32, out_channels=2, upsample_kernel_sizes=[20, 8, 8],
        upsample_factors=[10, 4, 4], resnet_kernel_sizes=[3], resnet_dilations=[[1, 3, 5]],
        leaky_relu_negative_slope=0.1, output_sampling_rate=AUDIO_SAMPLE_RATE,
    )


def _marker(seed: int) -> dict[str, Any]:
    return marker(MARKER_KIND, seed, "Random weights with the LTX-2 layout: generates noise and noisy sound. "
                  "For smoke tests only.", distilled_schedule=True)


README = (
    "Tiny LTX-2 pipeline with RANDOM weights, built by shortgen.backends.ltx2_tiny.build_tiny_ltx2.\n"
    "It has the real architecture (x32 spatial / x8 temporal video VAE, audio VAE + vocoder, Gemma 3\n"
    "encoder, audio-video transformer) but produces noise. Use it for smoke tests, never for real clips.\n"
)
