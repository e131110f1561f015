"""GPU rows for the upscalers (issue 12), run by :mod:`benchmarks.gpu` after its own rows.

u0. the Lanczos resample of one second of 544x960 frames to 1080x1920 (swscale, CPU): the baseline;
u1. ``--upscale latent``: one segment through both passes — pass 1 at 544x960 (8 distilled steps), the spatial
    latent upsampler at full size (``LTXLatentUpsamplerModel(128, mid 512, 4 blocks, 3-D)``, as published), pass 2
    at 1088x1920 from the refine timesteps, decode at 1088x1920 — against row b's one-pass segment;
u2-u4. ``--upscale model:``: one second of 544x960 frames (4 frames on the CPU) through RRDBNet ×2
    (RealESRGAN_x2plus), SRVGGNetCompact ×4 with 32 convolutions (general-x4v3) and with 16 (animevideov3),
    float16, batches of 4, 512-pixel tiles, then Lanczos to 1080x1920 — shortgen's own ``ModelUpscaler`` path.

Every model is the real architecture with random weights (the same FLOPs). With ``--cpu-small`` the same code
runs with narrow widths and tiny frames on the CPU, which proves the path, not the speed.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

UPSAMPLER_FULL = {"in_channels": 128, "mid_channels": 512, "num_blocks_per_stage": 4}
UPSAMPLER_SMALL = {"in_channels": 8, "mid_channels": 32, "num_blocks_per_stage": 1}
SR_FULL: dict[str, tuple[str, int, dict[str, Any]]] = {
    "RRDBNet x2 (RealESRGAN_x2plus)": ("rrdb", 2, {"num_feat": 64, "num_block": 23, "num_grow_ch": 32}),
    "SRVGGNetCompact x4, 32 convs (general-x4v3)": ("compact", 4, {"num_feat": 64, "num_conv": 32}),
    "SRVGGNetCompact x4, 16 convs (animevideov3)": ("compact", 4, {"num_feat": 64, "num_conv": 16}),
}
SR_SMALL_WIDTHS = {"rrdb": {"num_feat": 8, "num_block": 1, "num_grow_ch": 4}, "compact": {"num_feat": 8, "num_conv": 2}}


def latent_upsampler(full: bool, pipe: Any, device: Any, dtype: Any) -> Any:
    import torch
    from diffusers import LTXLatentUpsamplePipeline
    from diffusers.pipelines.ltx.modeling_latent_upsampler import LTXLatentUpsamplerModel

    from shortgen.backends.ltx.tiny import quiet_hf_libraries
    from shortgen.backends.ltx.upsample import LatentUpsampler

    torch.manual_seed(4)
    with quiet_hf_libraries(), torch.device(device):
        network = LTXLatentUpsamplerModel(**(UPSAMPLER_FULL if full else UPSAMPLER_SMALL), dims=3,
                                          spatial_upsample=True, temporal_upsample=False).to(dtype).eval()
    upsample = LTXLatentUpsamplePipeline(vae=pipe.vae, latent_upsampler=network)
    upsample.set_progress_bar_config(disable=True)
    return LatentUpsampler(upsample, "folder", "(random weights in memory)", None)


def sr_upscaler(arch: str, scale: int, params: dict[str, Any], full: bool, device: Any) -> Any:
    import torch

    from shortgen.stages.upscale.model import ModelUpscaler
    from shortgen.stages.upscale.sr_models import SRSpec, build

    torch.manual_seed(5)
    if not full:
        params = {**params, **SR_SMALL_WIDTHS[arch]}
    spec = SRSpec(arch, scale, params)  # type: ignore[arg-type]
    cuda = device.type == "cuda"
    dtype = torch.float16 if cuda else torch.float32
    model = build(spec).to(device=device, dtype=dtype).eval().requires_grad_(False)
    return ModelUpscaler(model, spec, device, dtype, tile=512 if cuda else 64, batch=4 if cuda else 1)


def run_rows(report: Any, clock: Any, backend: Any, pipe: Any, size: Any, device: Any, dtype: Any, runs: int,
             deadline: Any) -> None:
    import numpy as np
    from av.video.reformatter import VideoReformatter

    from benchmarks.gpu import PROMPT, measure, request
    from shortgen.multiscale import Multiscale
    from shortgen.stages.upscale import resize_frame

    full = size.name == "full"
    out_w, out_h = (1080, 1920) if full else (size.width * 2, size.height * 2)
    count = size.fps if full else 4  # one second of frames; a few on the CPU (a correctness run)
    frames = np.random.default_rng(0).integers(0, 256, (count, size.height, size.width, 3), dtype=np.uint8)
    seconds = count / size.fps
    reformatter = VideoReformatter()

    def lanczos(batch: Any) -> None:
        for frame in batch:
            resize_frame(frame, out_w, out_h, "lanczos", "yuv420p", reformatter)

    measure(report, clock, f"u0. Lanczos {size.width}x{size.height} → {out_w}x{out_h}, {count} frames (CPU)",
            lambda: lanczos(frames), runs, output_seconds=seconds)
    if deadline.allows(120, "--upscale latent"):
        backend.latent_upsampler = latent_upsampler(full, pipe, device, dtype)
        multiscale = Multiscale(size.width, size.height).to_dict()
        two_pass = replace(request(size, PROMPT), width=size.width * 2, height=size.height * 2,
                           extra={"multiscale": multiscale})  # the prompt row b encoded before T5 was released
        measure(report, clock, f"u1. --upscale latent: {size.width}x{size.height} + upsampler + refine at "
                f"{size.width * 2}x{size.height * 2}", lambda: backend.generate(two_pass), runs, pipe=pipe,
                note="compare with row b (one pass)")
        backend.latent_upsampler = None
    for name, (arch, scale, params) in SR_FULL.items():
        if not deadline.allows(60, name):
            continue
        upscaler = sr_upscaler(arch, scale, params, full, device)

        def pixel(u: Any = upscaler) -> None:
            lanczos(u.stream(iter(frames)))

        measure(report, clock, f"u. model:{name}, {count} frames", pixel, runs,
                note=f"{upscaler.dtype}, batch {upscaler.batch}, tile {upscaler.tile}", output_seconds=seconds)
        del upscaler
