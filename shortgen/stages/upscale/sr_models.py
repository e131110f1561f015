"""The Real-ESRGAN family of pixel upscalers, written here in plain torch, and their detection from a state dict.

Two architectures cover the published Real-ESRGAN weights (``xinntao/Real-ESRGAN`` releases):

* ``RRDBNet`` (ESRGAN's generator): ``RealESRGAN_x4plus``, ``RealESRGAN_x2plus`` (×2 feeds the network a
  pixel-unshuffled input), ``RealESRNet_x4plus``, ``RealESRGAN_x4plus_anime_6B``. Keys ``conv_first``,
  ``body.N.rdbK.convJ``, ``conv_body``, ``conv_up1``, ``conv_up2``, ``conv_hr``, ``conv_last``.
* ``SRVGGNetCompact``: ``realesr-general-x4v3``, ``realesr-animevideov3``. Keys ``body.N.weight``: convolutions
  (4-D) alternating with PReLU slopes (1-D); the last convolution's channels give the scale (pixel shuffle).

Files are state dicts, often wrapped as ``{"params_ema": ...}`` or ``{"params": ...}``. ``.pth`` files are read
with ``torch.load(weights_only=True)`` (no pickled code runs), ``.safetensors`` with safetensors. The layer
names and the forward passes follow basicsr's ``rrdbnet_arch.py`` and ``srvgg_arch.py`` so the published
weights load unchanged (``load_state_dict(strict=True)``).

Why not spandrel: it imports torchvision, and PyPI's torchvision does not load against the CPU torch build
this project pins; a broken torchvision also breaks ``transformers`` imports.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import torch
import torch.nn.functional as F
from torch import nn

from shortgen.errors import ModelError, UsageError

Arch = Literal["rrdb", "compact"]
SUFFIXES = (".pth", ".pt", ".safetensors")
WRAPPERS = ("params_ema", "params", "state_dict", "model")


class ResidualDenseBlock(nn.Module):
    def __init__(self, num_feat: int = 64, num_grow_ch: int = 32) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(num_feat, num_grow_ch, 3, 1, 1)
        self.conv2 = nn.Conv2d(num_feat + num_grow_ch, num_grow_ch, 3, 1, 1)
        self.conv3 = nn.Conv2d(num_feat + 2 * num_grow_ch, num_grow_ch, 3, 1, 1)
        self.conv4 = nn.Conv2d(num_feat + 3 * num_grow_ch, num_grow_ch, 3, 1, 1)
        self.conv5 = nn.Conv2d(num_feat + 4 * num_grow_ch, num_feat, 3, 1, 1)
        self.lrelu = nn.LeakyReLU(negative_slope=0.2, inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x1 = self.lrelu(self.conv1(x))
        x2 = self.lrelu(self.conv2(torch.cat((x, x1), 1)))
        x3 = self.lrelu(self.conv3(torch.cat((x, x1, x2), 1)))
        x4 = self.lrelu(self.conv4(torch.cat((x, x1, x2, x3), 1)))
        x5 = self.conv5(torch.cat((x, x1, x2, x3, x4), 1))
        return x5 * 0.2 + x


class RRDB(nn.Module):
    def __init__(self, num_feat: int, num_grow_ch: int = 32) -> None:
        super().__init__()
        self.rdb1 = ResidualDenseBlock(num_feat, num_grow_ch)
        self.rdb2 = ResidualDenseBlock(num_feat, num_grow_ch)
        self.rdb3 = ResidualDenseBlock(num_feat, num_grow_ch)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.rdb3(self.rdb2(self.rdb1(x))) * 0.2 + x


class RRDBNet(nn.Module):
    """ESRGAN's generator; scale 2 and 1 pixel-unshuffle the input so the body always works at 1/4 size."""

    def __init__(self, num_in_ch: int = 3, num_out_ch: int = 3, scale: int = 4, num_feat: int = 64,
                 num_block: int = 23, num_grow_ch: int = 32) -> None:
        super().__init__()
        self.scale = scale
        unshuffled = num_in_ch * {1: 16, 2: 4, 4: 1}[scale]
        self.conv_first = nn.Conv2d(unshuffled, num_feat, 3, 1, 1)
        self.body = nn.Sequential(*(RRDB(num_feat, num_grow_ch) for _ in range(num_block)))
        self.conv_body = nn.Conv2d(num_feat, num_feat, 3, 1, 1)
        self.conv_up1 = nn.Conv2d(num_feat, num_feat, 3, 1, 1)
        self.conv_up2 = nn.Conv2d(num_feat, num_feat, 3, 1, 1)
        self.conv_hr = nn.Conv2d(num_feat, num_feat, 3, 1, 1)
        self.conv_last = nn.Conv2d(num_feat, num_out_ch, 3, 1, 1)
        self.lrelu = nn.LeakyReLU(negative_slope=0.2, inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        feat = F.pixel_unshuffle(x, 4 // self.scale) if self.scale < 4 else x
        feat = self.conv_first(feat)
        feat = feat + self.conv_body(self.body(feat))
        feat = self.lrelu(self.conv_up1(F.interpolate(feat, scale_factor=2, mode="nearest")))
        feat = self.lrelu(self.conv_up2(F.interpolate(feat, scale_factor=2, mode="nearest")))
        return self.conv_last(self.lrelu(self.conv_hr(feat)))


class SRVGGNetCompact(nn.Module):
    """A plain VGG-style body at the input size, a pixel shuffle, plus the nearest-upsampled input."""

    def __init__(self, num_in_ch: int = 3, num_out_ch: int = 3, num_feat: int = 64, num_conv: int = 16,
                 upscale: int = 4, act_type: Literal["prelu", "relu", "leakyrelu"] = "prelu") -> None:
        super().__init__()
        self.upscale = upscale
        layers: list[nn.Module] = [nn.Conv2d(num_in_ch, num_feat, 3, 1, 1), _activation(act_type, num_feat)]
        for _ in range(num_conv):
            layers += [nn.Conv2d(num_feat, num_feat, 3, 1, 1), _activation(act_type, num_feat)]
        layers.append(nn.Conv2d(num_feat, num_out_ch * upscale * upscale, 3, 1, 1))
        self.body = nn.ModuleList(layers)
        self.upsampler = nn.PixelShuffle(upscale)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = x
        for layer in self.body:
            out = layer(out)
        return self.upsampler(out) + F.interpolate(x, scale_factor=self.upscale, mode="nearest")


def _activation(kind: str, num_feat: int) -> nn.Module:
    if kind == "prelu":
        return nn.PReLU(num_parameters=num_feat)
    if kind == "relu":
        return nn.ReLU(inplace=True)
    return nn.LeakyReLU(negative_slope=0.1, inplace=True)


@dataclass(frozen=True)
class SRSpec:
    """An architecture and its hyper-parameters, as read from a state dict's keys and shapes."""

    arch: Arch
    scale: int
    params: dict[str, Any]

    def describe(self) -> str:
        extra = ", ".join(f"{k}={v}" for k, v in self.params.items())
        return f"{self.arch} x{self.scale} ({extra})"


def build(spec: SRSpec) -> nn.Module:
    if spec.arch == "rrdb":
        return RRDBNet(scale=spec.scale, **spec.params)
    return SRVGGNetCompact(upscale=spec.scale, **spec.params)


def detect(state: Mapping[str, torch.Tensor], source: str = "the state dict") -> SRSpec:
    """The architecture behind ``state``'s keys; a :class:`ModelError` naming what was found otherwise."""
    if "conv_first.weight" in state and "conv_last.weight" in state:
        return _detect_rrdb(state)
    if "body.0.weight" in state and "conv_first.weight" not in state:
        return _detect_compact(state, source)
    shown = ", ".join(sorted(state)[:6]) or "no tensors"
    raise ModelError(f"{source} is not a known upscaler architecture (found keys: {shown}"
                     f"{', ...' if len(state) > 6 else ''})",
                     "use a Real-ESRGAN RRDBNet (x2plus/x4plus) or SRVGGNetCompact (general-x4v3, animevideov3) file")


def _detect_rrdb(state: Mapping[str, torch.Tensor]) -> SRSpec:
    first = state["conv_first.weight"]
    in_ch = first.shape[1] // {3: 1, 12: 4, 48: 16}.get(first.shape[1], 1)
    scale = {3: 4, 12: 2, 48: 1}.get(first.shape[1])
    if scale is None or in_ch != 3:
        raise ModelError(f"an RRDBNet whose first layer takes {first.shape[1]} channels is not supported",
                         "use an RGB RRDBNet x1, x2 or x4")
    blocks = {int(m[1]) for key in state if (m := re.match(r"body\.(\d+)\.rdb1\.", key))}
    return SRSpec("rrdb", scale, {"num_feat": first.shape[0], "num_block": len(blocks),
                                  "num_grow_ch": state["body.0.rdb1.conv1.weight"].shape[0]})


def _detect_compact(state: Mapping[str, torch.Tensor], source: str) -> SRSpec:
    convs = sorted(int(m[1]) for key in state if (m := re.fullmatch(r"body\.(\d+)\.weight", key))
                   and state[key].ndim == 4)
    if len(convs) < 2 or state["body.0.weight"].shape[1] != 3:
        raise ModelError(f"{source} looks like an SRVGGNetCompact but its body is not one",
                         "use a Real-ESRGAN SRVGGNetCompact file (general-x4v3, animevideov3)")
    last = state[f"body.{convs[-1]}.weight"]
    scale = round((last.shape[0] / 3) ** 0.5)
    if scale * scale * 3 != last.shape[0]:
        raise ModelError(f"{source}: the last layer has {last.shape[0]} channels, not 3 × scale²")
    act = "prelu" if "body.1.weight" in state else "leakyrelu"
    return SRSpec("compact", scale, {"num_feat": state["body.0.weight"].shape[0], "num_conv": len(convs) - 2,
                                     "act_type": act})


def read_state_dict(path: Path) -> dict[str, torch.Tensor]:
    """The tensors of a ``.pth`` / ``.safetensors`` file, unwrapped from ``params_ema`` / ``params``."""
    from shortgen.paths import check_input_file

    check_input_file(path, "upscaler file", "check the path after model:")
    if path.suffix.lower() not in SUFFIXES:
        raise UsageError(f"upscaler file {path.name} is not .pth or .safetensors")
    try:
        if path.suffix.lower() == ".safetensors":
            from safetensors.torch import load_file

            data: Any = load_file(str(path), device="cpu")
        else:
            data = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # torch and safetensors raise many types for a damaged or foreign file
        raise ModelError(f"cannot read {path} as a state dict: {str(err).splitlines()[0]}",
                         "pass a Real-ESRGAN .pth or .safetensors file") from None
    for wrapper in WRAPPERS:
        if isinstance(data, Mapping) and isinstance(data.get(wrapper), Mapping):
            data = data[wrapper]
            break
    if not isinstance(data, Mapping):
        raise ModelError(f"{path} holds a {type(data).__name__}, not a state dict")
    return {str(k).removeprefix("module."): v for k, v in data.items() if isinstance(v, torch.Tensor)}


def load_sr_model(path: Path) -> tuple[nn.Module, SRSpec]:
    """Read, detect and build the upscaler in ``path`` (float32, CPU, eval mode)."""
    state = read_state_dict(path)
    spec = detect(state, str(path))
    model = build(spec)
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as err:
        lines = str(err).splitlines()
        detail = lines[1].strip() if len(lines) > 1 else lines[0]
        raise ModelError(f"{path} does not match the {spec.describe()} it looks like: {detail}") from None
    return model.eval().requires_grad_(False), spec


# ------------------------------------------------------------------------------ tiny random models (tests)

TINY_UPSCALER_FILE = "upscaler-x2.safetensors"


def tiny_sr_model(arch: Arch = "compact", scale: int = 2, seed: int = 0) -> nn.Module:
    """A small random-weight model of the real architecture. The last layer is scaled down so the output is
    the nearest-upsampled input plus a little structured noise (compact), or a bounded image (RRDB)."""
    torch.manual_seed(seed)
    if arch == "rrdb":
        model: nn.Module = RRDBNet(scale=scale, num_feat=8, num_block=1, num_grow_ch=4)
        last = model.conv_last
    else:
        model = SRVGGNetCompact(num_feat=8, num_conv=2, upscale=scale)
        last = model.body[-1]
    with torch.no_grad():
        last.weight.mul_(0.1)  # type: ignore[operator]
    return model.eval()


def save_tiny_upscaler(path: Path, arch: Arch = "compact", scale: int = 2, seed: int = 0) -> Path:
    """Write :func:`tiny_sr_model` as Real-ESRGAN publishes weights: ``{"params": ...}`` in a ``.pth`` (``params_ema``
    for RRDB), or the bare tensors in a ``.safetensors``. Same seed, same bytes."""
    state = {k: v.contiguous() for k, v in tiny_sr_model(arch, scale, seed).state_dict().items()}
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix == ".safetensors":
        from safetensors.torch import save_file

        save_file(state, str(path), metadata={"shortgen": f"tiny random {arch} x{scale}, seed {seed}"})
    else:
        torch.save({"params_ema" if arch == "rrdb" else "params": state}, path)
    return path
