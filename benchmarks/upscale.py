"""Upscalers on the CPU: cost per frame of each pixel upscaler against the Lanczos resample, same frames, same run.

The models are the published Real-ESRGAN architectures at full width with random weights (the same FLOPs as the
real files): RRDBNet ×2 (RealESRGAN_x2plus) and ×4 (RealESRGAN_x4plus), SRVGGNetCompact ×4 with 32 convolutions
(realesr-general-x4v3) and 16 (realesr-animevideov3). Each takes one frame of a small input (default 68x120,
1/8 of 544x960 a side) through shortgen's own path (``ModelUpscaler.upscale``, float32, untiled) and then the
Lanczos resize to the output size; the baseline is that resize alone. The last column scales the per-frame cost to
a 544x960 frame by pixel count (these networks are fully convolutional, so the cost is linear in pixels).

``python -m benchmarks upscale`` (or ``python -m benchmarks.upscale --size 68x120 --runs 2``). The GPU rows for
the same architectures are in :mod:`benchmarks.gpu_upscale` (run by ``python -m benchmarks gpu``).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from benchmarks.harness import machine

FULL_FRAME = (544, 960)
OUT = (1080, 1920)
ARCHITECTURES: dict[str, tuple[str, int, dict[str, Any]]] = {
    "RRDBNet x2 (RealESRGAN_x2plus)": ("rrdb", 2, {"num_feat": 64, "num_block": 23, "num_grow_ch": 32}),
    "RRDBNet x4 (RealESRGAN_x4plus)": ("rrdb", 4, {"num_feat": 64, "num_block": 23, "num_grow_ch": 32}),
    "SRVGGNetCompact x4, 32 convs (general-x4v3)": ("compact", 4, {"num_feat": 64, "num_conv": 32,
                                                                   "act_type": "prelu"}),
    "SRVGGNetCompact x4, 16 convs (animevideov3)": ("compact", 4, {"num_feat": 64, "num_conv": 16,
                                                                   "act_type": "prelu"}),
}


def frame(width: int, height: int) -> np.ndarray:
    yy, xx = np.mgrid[0:height, 0:width]
    out = np.stack([(xx * 3) % 256, (yy * 2) % 256, np.full_like(xx, 90)], axis=-1).astype(np.uint8)
    out[height // 3: height // 2, width // 4: width // 2] = (250, 230, 40)
    return out


def time_per_frame(fn: Callable[[], Any], runs: int) -> float:
    fn()  # warm-up: allocator, swscale tables, oneDNN kernels
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def build(arch: str, scale: int, params: dict[str, Any]) -> Any:
    import torch

    from shortgen.stages.upscale.model import ModelUpscaler
    from shortgen.stages.upscale.sr_models import SRSpec, build

    torch.manual_seed(0)
    spec = SRSpec(arch, scale, params)  # type: ignore[arg-type]
    model = build(spec).eval().requires_grad_(False)
    return ModelUpscaler(model, spec, torch.device("cpu"), torch.float32, tile=None, batch=1)


def run(width: int, height: int, runs: int) -> list[tuple[str, float]]:
    from av.video.reformatter import VideoReformatter

    from shortgen.stages.upscale import resize_frame

    src = frame(width, height)
    out_w, out_h = width * OUT[0] // FULL_FRAME[0], height * OUT[1] // FULL_FRAME[1]
    reformatter = VideoReformatter()

    def lanczos(image: np.ndarray) -> Any:
        return resize_frame(image, out_w, out_h, "lanczos", "yuv420p", reformatter)

    rows = [("Lanczos resample (swscale, the default)", time_per_frame(lambda: lanczos(src), max(runs, 5)))]
    for name, (arch, scale, params) in ARCHITECTURES.items():
        upscaler = build(arch, scale, params)
        rows.append((name, time_per_frame(lambda u=upscaler: lanczos(u.upscale(src[None])[0]), runs)))
        print(f"  measured {name}: {rows[-1][1]:.3f} s", file=sys.stderr, flush=True)
    return rows


def print_rows(rows: list[tuple[str, float]], width: int, height: int, runs: int) -> None:
    import torch

    base = rows[0][1]
    pixels = FULL_FRAME[0] * FULL_FRAME[1] / (width * height)
    load = f", load average {os.getloadavg()[0]:.1f}" if hasattr(os, "getloadavg") else ""
    print(f"\n## Upscalers on the CPU: one {width}x{height} frame → the output's size (float32, torch "
          f"{torch.__version__}, {torch.get_num_threads()} threads{load})\n{machine()}\n")
    print(f"| upscaler | s per frame (median of {runs}) | ratio to Lanczos | s per 544x960 frame (scaled) |")
    print("|---|---|---|---|")
    for name, seconds in rows:
        print(f"| {name} | {seconds:.4f} | {seconds / base:.0f} | {seconds * pixels:.2f} |")
    sys.stdout.flush()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.upscale", description=__doc__.splitlines()[0])
    parser.add_argument("--size", default="68x120", help="input frame WIDTHxHEIGHT (default 68x120)")
    parser.add_argument("--runs", type=int, default=1, help="timed frames per upscaler after one warm-up")
    args = parser.parse_args(sys.argv[1:] if argv is None and __name__ == "__main__" else (argv or []))
    width, height = (int(v) for v in args.size.lower().split("x"))
    print_rows(run(width, height, args.runs), width, height, args.runs)


if __name__ == "__main__":
    main()
