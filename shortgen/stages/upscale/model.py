"""Run a pixel upscaler (see :mod:`.sr_models`) over a frame stream with bounded memory.

Frames are gathered into batches of ``batch`` frames; each batch runs tile by tile (``tile`` input pixels a
side, each tile read with ``tile_pad`` pixels of real context around it and cropped back, as Real-ESRGAN's
own ``tile_process`` does), so the activations' memory depends on the tile, not the frame size. With a pad
at least the network's receptive radius, tiled and untiled outputs agree to float rounding.

On CUDA the model runs in float16 (what Real-ESRGAN's own inference uses) or bfloat16; elsewhere float32.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from shortgen.errors import UsageError
from shortgen.frames import Clip
from shortgen.stages.upscale.sr_models import SRSpec, load_sr_model

DTYPES = {"float16": torch.float16, "bfloat16": torch.bfloat16, "float32": torch.float32}


@dataclass
class ModelUpscaler:
    """A loaded upscaler: uint8 RGB frames in, uint8 RGB frames ``scale`` times larger out."""

    model: torch.nn.Module
    spec: SRSpec
    device: torch.device
    dtype: torch.dtype
    tile: int | None = 512
    tile_pad: int = 16
    batch: int = 1

    @property
    def scale(self) -> int:
        return self.spec.scale

    def describe(self) -> dict[str, Any]:
        return {"arch": self.spec.arch, "scale": self.spec.scale, **self.spec.params, "device": str(self.device),
                "dtype": str(self.dtype).removeprefix("torch."), "tile": self.tile, "batch": self.batch}

    def upscale(self, frames: np.ndarray) -> np.ndarray:
        """``(n, h, w, 3)`` uint8 → ``(n, h·s, w·s, 3)`` uint8."""
        with torch.inference_mode():
            x = torch.from_numpy(np.ascontiguousarray(frames)).to(self.device)
            x = x.permute(0, 3, 1, 2).to(self.dtype).div_(255.0)
            height, width = x.shape[2:]
            x = self._pad_to_multiple(x)
            out = self._tiled(x) if self.tile and max(x.shape[2:]) > self.tile else self.model(x)
            out = out[:, :, :height * self.scale, :width * self.scale]
            out = out.float().clamp_(0, 1).mul_(255.0).round_().to(torch.uint8)
            # Contiguous RGB rows: swscale (the reframe stage's wrap) reads them in place, without a copy.
            return out.permute(0, 2, 3, 1).contiguous().cpu().numpy()

    def _pad_to_multiple(self, x: torch.Tensor) -> torch.Tensor:
        """RRDBNet ×2 / ×1 pixel-unshuffle their input, so sides must be multiples of 2 / 4: reflect-pad
        (cropped off the output again), as Real-ESRGAN does."""
        multiple = 4 // self.scale if self.spec.arch == "rrdb" and self.scale < 4 else 1
        pad_h, pad_w = -x.shape[2] % multiple, -x.shape[3] % multiple
        if not (pad_h or pad_w):
            return x
        return torch.nn.functional.pad(x, (0, pad_w, 0, pad_h), mode="reflect")

    def stream(self, frames: Iterable[np.ndarray]) -> Iterator[np.ndarray]:
        """Upscale a stream ``batch`` frames at a time, yielding one frame at a time."""
        pending: list[np.ndarray] = []
        for frame in frames:
            pending.append(frame)
            if len(pending) == self.batch:
                yield from self.upscale(np.stack(pending))
                pending.clear()
        if pending:
            yield from self.upscale(np.stack(pending))

    def _tiled(self, x: torch.Tensor) -> torch.Tensor:
        assert self.tile is not None
        n, c, height, width = x.shape
        # Multiples of 4 keep every tile and pad edge aligned with RRDBNet's pixel unshuffle.
        s, tile, pad = self.scale, max(4, self.tile // 4 * 4), self.tile_pad // 4 * 4
        out = torch.empty((n, c, height * s, width * s), dtype=x.dtype, device=x.device)
        for y0 in range(0, height, tile):
            for x0 in range(0, width, tile):
                y1, x1 = min(y0 + tile, height), min(x0 + tile, width)
                py0, px0 = max(y0 - pad, 0), max(x0 - pad, 0)
                py1, px1 = min(y1 + pad, height), min(x1 + pad, width)
                part = self.model(x[:, :, py0:py1, px0:px1])
                oy, ox = (y0 - py0) * s, (x0 - px0) * s
                out[:, :, y0 * s:y1 * s, x0 * s:x1 * s] = part[:, :, oy:oy + (y1 - y0) * s, ox:ox + (x1 - x0) * s]
        return out


def upscale_region(clip: Clip, upscaler: ModelUpscaler, file: str, region: tuple[int, int, int, int],
                   shown: tuple[int, int], part: str) -> Clip:
    """The clip's ``region`` (x, y, w, h) of every frame through the model, when the output shows that part
    enlarged (``shown``: its size there); otherwise the clip as it is, with one warning (a model's larger frames
    would only be scaled down again: time spent for nothing). Either way ``info["upscaler"]`` records it."""
    x, y, w, h = region
    entry = {"file": file, **upscaler.describe(), "source_size": f"{clip.width}x{clip.height}",
             "region": [x, y, w, h]}
    if not (w < shown[0] and h < shown[1]):
        message = (f"--upscale model:{file}: the {part} ({w}x{h}) is already at least as large as the output "
                   f"shows it ({shown[0]}x{shown[1]}); the model was skipped (its output would only be scaled down)")
        info = {**clip.info, "upscaler": {**entry, "applied": False},
                "warnings": [*clip.info.get("warnings", []), message]}
        return clip.with_frames(clip.frames, info=info)
    whole = (x, y, w, h) == (0, 0, clip.width, clip.height)
    frames = (_rgb(frame) if whole else _rgb(frame)[y:y + h, x:x + w] for frame in clip.frames)
    info = {**clip.info, "upscaler": {**entry, "applied": True}}
    s = upscaler.scale
    return clip.with_frames(upscaler.stream(frames), width=w * s, height=h * s, info=info)


def _rgb(frame: Any) -> np.ndarray:
    """Stages that run a model say they take no YUV, so frames arrive as RGB; a Python caller's yuv420p
    ``av.VideoFrame`` is converted here all the same."""
    from shortgen.overlay import to_rgb

    return to_rgb(frame)


def load_upscaler(path: Path, device: str = "auto", dtype: str = "auto", tile: int | None = None,
                  tile_pad: int = 16, batch: int | None = None) -> ModelUpscaler:
    """Load the upscaler in ``path`` onto ``device`` (auto: CUDA, else CPU). Defaults: 512-pixel tiles and
    4-frame batches on CUDA; on the CPU, 256-pixel tiles one frame at a time (float32; slow, a fallback)."""
    torch_device = _device(device)
    torch_dtype = _dtype(dtype, torch_device)
    model, spec = load_sr_model(path)
    model = model.to(device=torch_device, dtype=torch_dtype)
    on_gpu = torch_device.type == "cuda"
    return ModelUpscaler(model, spec, torch_device, torch_dtype, tile=tile or (512 if on_gpu else 256),
                         tile_pad=tile_pad, batch=batch or (4 if on_gpu else 1))


def _device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise UsageError("device 'cuda' was asked for but CUDA is not available", "use --device auto or cpu")
    return torch.device(name)


def _dtype(name: str, device: torch.device) -> torch.dtype:
    if name == "auto":
        return torch.float16 if device.type == "cuda" else torch.float32
    if name not in DTYPES:
        raise UsageError(f"unknown dtype '{name}'", "use auto, bfloat16, float16 or float32")
    return DTYPES[name]
