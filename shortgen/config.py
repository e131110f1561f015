"""Typed configuration: presets, generation, encoder, captions, loops, and one resolved job.

Every model forbids unknown keys, so a typo in a preset or job file is an error that names the key.
Precedence is explicit and lives in :func:`merge_layers`: CLI flag > job file > preset > built-in default.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from shortgen.errors import ConfigError

CaptionStyleName = Literal["clean", "box", "highlight", "pop"]
CaptionPosition = Literal["top", "middle", "bottom"]
LoopMode = Literal["none", "crossfade", "pingpong", "seamless"]
DeviceName = Literal["auto", "cuda", "mps", "cpu"]
DtypeName = Literal["auto", "bfloat16", "float16", "float32"]

HEX_COLOR = re.compile(r"^#(?:[0-9a-fA-F]{6}|[0-9a-fA-F]{8})$")


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class OutputSpec(Strict):
    width: int = Field(1080, ge=64, le=4096)
    height: int = Field(1920, ge=64, le=4096)
    fps: int = Field(30, ge=1, le=120)

    @field_validator("width", "height")
    @classmethod
    def _even(cls, v: int) -> int:
        if v % 2:
            raise ValueError("must be even (H.264 with yuv420p needs even sizes)")
        return v


class DurationSpec(Strict):
    default: float = Field(15.0, gt=0)
    min: float = Field(10.0, gt=0)
    max: float = Field(30.0, gt=0)

    @model_validator(mode="after")
    def _ordered(self) -> DurationSpec:
        if not self.min <= self.default <= self.max:
            raise ValueError(f"need min <= default <= max, got {self.min} <= {self.default} <= {self.max}")
        return self


class GenerationSpec(Strict):
    """How the generator is driven. Sizes are checked against the backend's rules before loading."""

    backend: str = "ltx"
    model: str = "Lightricks/LTX-Video-0.9.8-13B-distilled"
    width: int = Field(544, ge=32)
    height: int = Field(960, ge=32)
    steps: int = Field(8, ge=1, le=200)
    guidance_scale: float = Field(1.0, ge=0)
    negative_prompt: str = "worst quality, inconsistent motion, blurry, jittery, distorted"
    # Frames per model call (8k+1 for LTX) and frames shared between consecutive segments.
    segment_frames: int = Field(121, ge=9)
    overlap_frames: int = Field(17, ge=0)
    device: DeviceName = "auto"
    dtype: DtypeName = "auto"
    low_memory: bool = False
    compile: bool = False  # torch.compile the transformer (pays off from the second segment on a GPU)
    attention_backend: str | None = None  # a diffusers attention backend, e.g. _native_cudnn, flash, sage
    fp8: bool = False  # store the transformer's weights in float8, compute in the model dtype
    vae_tiling: bool = False  # decode in tiles (less memory at large sizes); low_memory turns it on too
    decode_ahead: bool = False  # decode a segment while the next one denoises


class EncoderSpec(Strict):
    codec: Literal["h264"] = "h264"
    profile: Literal["high", "main", "baseline"] = "high"
    pix_fmt: Literal["yuv420p"] = "yuv420p"
    crf: int = Field(20, ge=1, le=51)  # 0 (lossless) needs a 4:4:4 profile, not High
    preset: Literal["ultrafast", "superfast", "veryfast", "faster", "fast", "medium", "slow", "slower"] = "veryfast"
    max_bitrate_kbps: int = Field(8000, ge=100)
    bufsize_kbps: int = Field(16000, ge=100)
    gop_seconds: float = Field(2.0, gt=0)
    closed_gop: bool = True
    bframes: int = Field(2, ge=0, le=16)
    audio_codec: Literal["aac"] = "aac"
    audio_sample_rate: Literal[44100, 48000] = 48000
    audio_bitrate_kbps: int = Field(128, ge=32, le=512)
    max_size_mb: float | None = Field(None, gt=0)


class SafeZone(Strict):
    """Margins, in output pixels, that the platform's own buttons and text cover."""

    left: int = Field(65, ge=0)
    top: int = Field(270, ge=0)
    right: int = Field(160, ge=0)
    bottom: int = Field(670, ge=0)


class CaptionSpec(Strict):
    style: CaptionStyleName = "clean"
    position: CaptionPosition = "bottom"
    font: str | None = None
    font_size: int = Field(72, ge=8, le=400)
    min_font_size: int = Field(28, ge=6, le=400)
    max_lines: int = Field(3, ge=1, le=12)
    color: str = "#FFFFFF"
    accent_color: str = "#FFD400"
    outline_color: str = "#000000"
    outline_width: int = Field(6, ge=0, le=40)
    shadow: bool = True
    box_color: str = "#000000"
    box_opacity: float = Field(0.6, ge=0, le=1)

    @field_validator("color", "accent_color", "outline_color", "box_color")
    @classmethod
    def _hex(cls, v: str) -> str:
        if not HEX_COLOR.match(v):
            raise ValueError(f"{v!r} is not a colour; use #RRGGBB or #RRGGBBAA")
        return v


class LoopSpec(Strict):
    mode: LoopMode = "none"
    overlap_seconds: float = Field(0.5, gt=0)
    seam_threshold: float = Field(1.5, gt=0)


class Preset(Strict):
    name: str
    description: str = ""
    output: OutputSpec = OutputSpec()
    duration: DurationSpec = DurationSpec()
    generation: GenerationSpec = GenerationSpec()
    encoder: EncoderSpec = EncoderSpec()
    safe_zone: SafeZone = SafeZone()
    captions: CaptionSpec = CaptionSpec()
    loop: LoopSpec = LoopSpec()

    @model_validator(mode="after")
    def _zone_fits(self) -> Preset:
        z, o = self.safe_zone, self.output
        if z.left + z.right >= o.width or z.top + z.bottom >= o.height:
            raise ValueError(f"safe_zone margins leave no room inside {o.width}x{o.height}")
        return self


def _loc(loc: tuple[Any, ...]) -> str:
    return ".".join(str(part) for part in loc) or "(top level)"


def describe_validation_error(err: ValidationError, source: str) -> str:
    """One line naming the file, the key and what is allowed, for the first problem found."""
    first = err.errors()[0]
    key = _loc(first["loc"])
    kind = first["type"]
    if kind == "extra_forbidden":
        return f"{source}: unknown key '{key}'"
    if kind == "literal_error":
        allowed = first.get("ctx", {}).get("expected", "")
        return f"{source}: '{key}' is {first.get('input')!r}; allowed: {allowed}"
    if kind == "missing":
        return f"{source}: missing required key '{key}'"
    msg = first["msg"].removeprefix("Value error, ")
    return f"{source}: '{key}': {msg} (got {first.get('input')!r})"


def validate_model(model: type[BaseModel], data: Any, source: str) -> Any:
    """Validate ``data`` into ``model``; a failure becomes a one-line :class:`ConfigError`."""
    if not isinstance(data, Mapping):
        raise ConfigError(f"{source}: expected a mapping of keys to values, got {type(data).__name__}")
    try:
        return model.model_validate(dict(data))
    except ValidationError as err:
        raise ConfigError(describe_validation_error(err, source)) from None


def merge_layers(*layers: Mapping[str, Any] | None) -> dict[str, Any]:
    """Deep-merge mappings left to right; later layers win, ``None`` values mean 'not set'."""
    merged: dict[str, Any] = {}
    for layer in layers:
        for key, value in (layer or {}).items():
            if value is None:
                continue
            if isinstance(value, Mapping):
                below = merged.get(key)
                merged[key] = merge_layers(below if isinstance(below, Mapping) else None, value)
            else:
                merged[key] = value
    return merged


def parse_size(text: str) -> tuple[int, int]:
    """``'544x960'`` → ``(544, 960)``."""
    match = re.fullmatch(r"\s*(\d+)\s*[xX×]\s*(\d+)\s*", text)
    if not match:
        raise ConfigError(f"size {text!r} is not WIDTHxHEIGHT, e.g. 544x960")
    return int(match[1]), int(match[2])


def path_or_none(value: str | Path | None) -> Path | None:
    return Path(value) if value else None


class MakeOptions(Strict):
    """What one ``make`` call (or one batch job) asks for. ``None`` means 'not set here'.

    The same model validates CLI flags, job-file entries and Python callers' keyword arguments.
    """

    prompt: list[str] | str | None = None
    preset: str | None = None
    duration: float | None = Field(None, gt=0)
    seed: int | None = Field(None, ge=0, lt=2**63)
    fps: int | None = Field(None, ge=1, le=120)
    # generation
    backend: str | None = None
    model: str | None = None
    revision: str | None = None
    steps: int | None = Field(None, ge=1, le=200)
    guidance_scale: float | None = Field(None, ge=0)
    negative_prompt: str | None = None
    gen_size: str | None = None
    segment_frames: int | None = Field(None, ge=9)
    overlap_frames: int | None = Field(None, ge=0)
    device: DeviceName | None = None
    dtype: DtypeName | None = None
    low_memory: bool | None = None
    compile: bool | None = None
    attention_backend: str | None = None
    fp8: bool | None = None
    vae_tiling: bool | None = None
    decode_ahead: bool | None = None
    image: str | None = None
    # post
    upscale: Literal["lanczos", "bicubic", "bilinear", "area"] | None = None
    loop: LoopMode | None = None
    loop_overlap: float | None = Field(None, gt=0)
    caption: str | None = None
    captions: str | None = None
    caption_style: CaptionStyleName | None = None
    caption_position: CaptionPosition | None = None
    font: str | None = None
    font_size: int | None = Field(None, ge=8, le=400)
    caption_color: str | None = None
    caption_accent_color: str | None = None
    caption_outline_color: str | None = None
    caption_outline_width: int | None = Field(None, ge=0, le=40)
    caption_box_color: str | None = None
    caption_box_opacity: float | None = Field(None, ge=0, le=1)
    subtitles: Literal["burn", "soft", "both"] | None = None
    audio: str | None = None
    crf: int | None = Field(None, ge=1, le=51)
    # output
    output: str | None = None

    @field_validator("caption_color", "caption_accent_color", "caption_outline_color", "caption_box_color")
    @classmethod
    def _hex(cls, v: str | None) -> str | None:
        if v is not None and not HEX_COLOR.match(v):
            raise ValueError(f"{v!r} is not a colour; use #RRGGBB or #RRGGBBAA")
        return v

    def prompts(self) -> list[str]:
        if self.prompt is None:
            return []
        return [self.prompt] if isinstance(self.prompt, str) else list(self.prompt)

    def preset_overrides(self) -> dict[str, Any]:
        """The parts of these options that override preset sections, shaped like a preset."""
        width_height: dict[str, Any] = {}
        if self.gen_size:
            width, height = parse_size(self.gen_size)
            width_height = {"width": width, "height": height}
        return {
            "output": {"fps": self.fps},
            "generation": {
                "backend": self.backend, "model": self.model, "steps": self.steps,
                "guidance_scale": self.guidance_scale, "negative_prompt": self.negative_prompt,
                "segment_frames": self.segment_frames, "overlap_frames": self.overlap_frames,
                "device": self.device, "dtype": self.dtype, "low_memory": self.low_memory,
                "compile": self.compile, "attention_backend": self.attention_backend, "fp8": self.fp8,
                "vae_tiling": self.vae_tiling, "decode_ahead": self.decode_ahead,
                **width_height,
            },
            "encoder": {"crf": self.crf},
            "captions": {"style": self.caption_style, "position": self.caption_position,
                         "font": self.font, "font_size": self.font_size, "color": self.caption_color,
                         "accent_color": self.caption_accent_color, "outline_color": self.caption_outline_color,
                         "outline_width": self.caption_outline_width, "box_color": self.caption_box_color,
                         "box_opacity": self.caption_box_opacity},
            "loop": {"mode": self.loop, "overlap_seconds": self.loop_overlap},
        }


def layered_options(*layers: MakeOptions | None) -> MakeOptions:
    """Merge option sets; later layers win (defaults < job file < CLI flags)."""
    dumps = [layer.model_dump(exclude_none=True) for layer in layers if layer is not None]
    return MakeOptions.model_validate(merge_layers(*dumps))
