"""The tiny LTX builder now lives in :mod:`shortgen.backends.ltx.tiny`; this path keeps working."""

from shortgen.backends.ltx.tiny import (
    LATENT_CHANNELS,
    LATENT_UPSAMPLER_DIR,
    MARKER_FILE,
    MARKER_KIND,
    TEXT_DIM,
    build_tiny_ltx,
    is_tiny_model,
    quiet_hf_libraries,
    read_marker,
    tiny_latent_upsampler,
    tiny_ltx_pipeline,
)

__all__ = ["LATENT_CHANNELS", "LATENT_UPSAMPLER_DIR", "MARKER_FILE", "MARKER_KIND", "TEXT_DIM", "build_tiny_ltx",
           "is_tiny_model", "quiet_hf_libraries", "read_marker", "tiny_latent_upsampler", "tiny_ltx_pipeline"]
