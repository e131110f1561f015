"""Typed configuration: presets, generation, encoder, captions, loops, and one resolved job.

Every model forbids unknown keys, so a typo in a preset or job file is an error that names the key.
Precedence is explicit and lives in :func:`merge_layers`: CLI flag > job file > preset > built-in default.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal, TypeVar

import msgspec
from msgspec import Meta, Struct

from shortgen.errors import ConfigError

CaptionStyleName = Literal["clean", "box", "highlight", "pop"]
CaptionPosition = Literal["top", "middle", "bottom"]
LoopMode = Literal["none", "crossfade", "pingpong", "seamless"]
DeviceName = Literal["auto", "cuda", "mps", "cpu"]
DtypeName = Literal["auto", "bfloat16", "float16", "float32"]
# --- upscale methods (issue 12): a resampler, "latent" (LTX multiscale) or "model:PATH" (a pixel upscaler)
UPSCALE_PATTERN = r"^(?:lanczos|bicubic|bilinear|area|latent|model:.*\S.*)$"
UpscaleMethod = Annotated[str, Meta(pattern=UPSCALE_PATTERN)]
SubtitleMode = Literal["burn", "soft", "both"]
FitMode = Literal["crop", "pad", "blur", "track"]  # reframe (issue 11)
X264Preset = Literal["ultrafast", "superfast", "veryfast", "faster", "fast", "medium", "slow", "slower"]

StructT = TypeVar("StructT", bound=Struct)

HEX_COLOR = r"^#(?:[0-9a-fA-F]{6}|[0-9a-fA-F]{8})$"
Colour = Annotated[str, Meta(pattern=HEX_COLOR)]

Positive = Annotated[float, Meta(gt=0)]
Side = Annotated[int, Meta(ge=64, le=4096)]
Fps = Annotated[int, Meta(ge=1, le=120)]
Steps = Annotated[int, Meta(ge=1, le=200)]
Crf = Annotated[int, Meta(ge=1, le=51)]  # 0 (lossless) needs a 4:4:4 profile, not High
FontSize = Annotated[int, Meta(ge=8, le=400)]
OutlineWidth = Annotated[int, Meta(ge=0, le=40)]
Opacity = Annotated[float, Meta(ge=0, le=1)]
SegmentFrames = Annotated[int, Meta(ge=9)]
NonNegative = Annotated[int, Meta(ge=0)]
Seed = Annotated[int, Meta(ge=0, le=2**63 - 1)]
Fraction01 = Annotated[float, Meta(gt=0, le=1)]  # (0, 1]
# Generation size bounds (README "Limits"): sides are multiples of 32 (the model's rule) up to 2048, and at most
# 1920x1088 pixels (1080p rounded up to the grid), 4x the default 544x960: the transformer's tokens and the VAE
# decoder's activations grow with pixels x frames, and the platforms show 1080x1920 at most anyway.
MAX_GEN_SIDE = 2048
MAX_GEN_PIXELS = 1920 * 1088
GenSide = Annotated[int, Meta(ge=32, le=MAX_GEN_SIDE)]
UnitInterval = Annotated[float, Meta(ge=0, le=1)]


class Strict(Struct, forbid_unknown_fields=True, frozen=True, kw_only=True):
    """Unknown keys are errors; instances are immutable (change one with :func:`replace`)."""


class OutputSpec(Strict):
    width: Side = 1080
    height: Side = 1920
    fps: Fps = 30

    def __post_init__(self) -> None:
        for name in ("width", "height"):
            if getattr(self, name) % 2:
                raise ValueError(f"{name} {getattr(self, name)} must be even (H.264 with yuv420p needs even sizes)")


class DurationSpec(Strict):
    default: Positive = 15.0
    min: Positive = 10.0
    max: Positive = 30.0

    def __post_init__(self) -> None:
        if not self.min <= self.default <= self.max:
            raise ValueError(f"need min <= default <= max, got {self.min} <= {self.default} <= {self.max}")


class GenerationSpec(Strict):
    """How the generator is driven. Sizes are checked against the backend's rules before loading."""

    backend: str = "ltx"
    model: str = "Lightricks/LTX-Video-0.9.8-13B-distilled"
    width: GenSide = 544
    height: GenSide = 960
    steps: Steps = 8
    guidance_scale: Annotated[float, Meta(ge=0)] = 1.0
    negative_prompt: str = "worst quality, inconsistent motion, blurry, jittery, distorted"
    # Frames per model call (8k+1 for LTX) and frames shared between consecutive segments.
    segment_frames: SegmentFrames = 121
    overlap_frames: NonNegative = 17
    device: DeviceName = "auto"
    dtype: DtypeName = "auto"
    low_memory: bool = False
    compile: bool = False  # torch.compile the transformer (pays off from the second segment on a GPU)
    attention_backend: str | None = None  # a diffusers attention backend, e.g. _native_cudnn, flash, sage
    fp8: bool = False  # store the transformer's weights in float8, compute in the model dtype
    vae_tiling: bool = False  # decode in tiles (less memory at large sizes); low_memory turns it on too
    decode_ahead: bool = False  # decode a segment while the next one denoises

    def __post_init__(self) -> None:
        if self.width * self.height > MAX_GEN_PIXELS:
            raise ValueError(f"generation size {self.width}x{self.height} is {self.width * self.height:,} pixels; "
                             f"at most {MAX_GEN_PIXELS:,} (1920x1088 or 1088x1920)")


class EncoderSpec(Strict):
    codec: Literal["h264"] = "h264"
    profile: Literal["high", "main", "baseline"] = "high"
    pix_fmt: Literal["yuv420p"] = "yuv420p"
    crf: Crf = 20
    preset: X264Preset = "veryfast"
    max_bitrate_kbps: Annotated[int, Meta(ge=100)] = 8000
    bufsize_kbps: Annotated[int, Meta(ge=100)] = 16000
    gop_seconds: Positive = 2.0
    closed_gop: bool = True
    bframes: Annotated[int, Meta(ge=0, le=16)] = 2
    audio_codec: Literal["aac"] = "aac"
    audio_sample_rate: Literal[44100, 48000] = 48000
    audio_bitrate_kbps: Annotated[int, Meta(ge=32, le=512)] = 128
    max_size_mb: Positive | None = None
    # Bit-identical output for the same frames: one x264 thread, no mb-tree (README "Reproducible"). false: x264's
    # frame threads and mb-tree, faster on many cores, but the same clip no longer encodes the same twice.
    reproducible: bool = True


# ---- publish: what the platform accepts (read by shortgen.publish.check; sources in the README) -------------
ProfileName = Literal["high", "main", "baseline", "constrained baseline"]


class PlatformSpec(Strict):
    """Limits of the platform a preset targets. ``shortgen check`` measures a file against these, the output
    size, the duration range, ``encoder.max_size_mb`` and ``encoder.pix_fmt``. ``None`` means no limit."""

    video_codecs: tuple[Literal["h264", "hevc"], ...] = ("h264",)
    video_profiles: tuple[ProfileName, ...] = ("high", "main", "baseline", "constrained baseline")
    fps_min: Positive = 23.0
    fps_max: Positive = 60.0
    # The whole file's bitrate: its average, and its peak over any peak_window_seconds (packet sizes).
    max_bitrate_kbps: Annotated[int, Meta(ge=100)] | None = None
    peak_window_seconds: Positive = 1.0
    max_keyframe_seconds: Positive = 2.0
    closed_gop: bool = True
    edit_list_allowed: bool = True
    audio_codecs: tuple[Literal["aac"], ...] = ("aac",)
    audio_sample_rates: tuple[int, ...] = (44100, 48000)
    max_audio_channels: Annotated[int, Meta(ge=1, le=8)] = 2

    def __post_init__(self) -> None:
        if self.fps_min > self.fps_max:
            raise ValueError(f"need fps_min <= fps_max, got {self.fps_min:g} > {self.fps_max:g}")


def vbv_peak_kbps(encoder: EncoderSpec, window_seconds: float) -> float:
    """The most the encoder may write in any ``window_seconds`` (video at x264's VBV bound plus the audio
    bitrate), in kb/s: a full buffer drained while the max rate refills it."""
    return encoder.max_bitrate_kbps + encoder.bufsize_kbps / window_seconds + encoder.audio_bitrate_kbps


def check_vbv_holds_cap(encoder: EncoderSpec, platform: PlatformSpec) -> None:
    cap = platform.max_bitrate_kbps
    if cap is not None and vbv_peak_kbps(encoder, platform.peak_window_seconds) > cap:
        raise ValueError(
            f"encoder max_bitrate_kbps {encoder.max_bitrate_kbps} + bufsize_kbps {encoder.bufsize_kbps} / "
            f"{platform.peak_window_seconds:g} s + audio {encoder.audio_bitrate_kbps} can exceed the platform's "
            f"{cap} kb/s cap; lower them (see README: Publishing)")
# ---- end publish block ---------------------------------------------------------------------------------


class SafeZone(Strict):
    """Margins, in output pixels, that the platform's own buttons and text cover."""

    left: NonNegative = 65
    top: NonNegative = 270
    right: NonNegative = 160
    bottom: NonNegative = 670


class CaptionSpec(Strict):
    style: CaptionStyleName = "clean"
    position: CaptionPosition = "bottom"
    font: str | None = None
    font_size: FontSize = 72
    min_font_size: Annotated[int, Meta(ge=6, le=400)] = 28
    max_lines: Annotated[int, Meta(ge=1, le=12)] = 3
    color: Colour = "#FFFFFF"
    accent_color: Colour = "#FFD400"
    outline_color: Colour = "#000000"
    outline_width: OutlineWidth = 6
    shadow: bool = True
    box_color: Colour = "#000000"
    box_opacity: Opacity = 0.6


class LoopSpec(Strict):
    mode: LoopMode = "none"
    overlap_seconds: Positive = 0.5
    seam_threshold: Positive = 1.5


# --- sound (shortgen.audio): the preset's `audio:` section ---------------------------------------------------
Lufs = Annotated[float, Meta(ge=-40, le=-5)]
Decibels = Annotated[float, Meta(ge=-60, le=20)]
Fade = Annotated[float, Meta(ge=0, le=10)]


class AudioSettings(Strict):
    """How the clip's sound is mixed: loudness target, music level, ducking and fades (see shortgen.audio)."""

    normalize: bool = True  # bring the final mix to loudness_lufs (false: leave its level as it is)
    loudness_lufs: Lufs = -14.0  # integrated loudness of the final mix (the platforms play at about -14)
    true_peak_db: Annotated[float, Meta(ge=-9, le=0)] = -1.0  # true-peak ceiling, dBTP, after AAC
    music_volume_db: Decibels = -12.0  # gain on the music file as decoded, before mixing and normalising
    duck_db: Annotated[float, Meta(ge=0, le=40)] = 12.0  # how far music drops under a voice (0: no ducking)
    fade_in_seconds: Fade = 0.5  # music fades (not when the clip loops: its music loops seamlessly instead)
    fade_out_seconds: Fade = 1.5
# --- end sound ----------------------------------------------------------------------------------------------
class ReframeSpec(Strict):
    """How footage of another aspect ratio becomes the output frame (see :mod:`shortgen.stages.reframe`)."""

    fit: FitMode = "crop"  # crop keeps the look presets had before fit modes existed
    pad_color: Colour = "#000000"
    crop_x: UnitInterval = 0.5  # crop window position: 0 left edge, 1 right edge
    crop_y: UnitInterval = 0.5  # 0 top edge, 1 bottom edge


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
    audio: AudioSettings = AudioSettings()  # sound (shortgen.audio)
    reframe: ReframeSpec = ReframeSpec()
    platform: PlatformSpec = PlatformSpec()  # publish block: what shortgen check measures against

    def __post_init__(self) -> None:
        z, o = self.safe_zone, self.output
        if z.left + z.right >= o.width or z.top + z.bottom >= o.height:
            raise ValueError(f"safe_zone margins leave no room inside {o.width}x{o.height}")
        check_vbv_holds_cap(self.encoder, self.platform)  # publish block


# ------------------------------------------------------------------------------------ validation


def replace(obj: StructT, **changes: Any) -> StructT:
    """A copy of ``obj`` with ``changes``, validated like the original (a bad value is a :class:`ConfigError`)."""
    return validate_model(type(obj), {**as_dict(obj), **changes}, type(obj).__name__)


def as_dict(obj: Struct, *, exclude_none: bool = False,
            exclude: frozenset[str] | set[str] = frozenset()) -> dict[str, Any]:
    """Plain JSON-ready data (nested sections become dicts)."""
    data = msgspec.to_builtins(obj)
    return {k: v for k, v in data.items() if k not in exclude and not (exclude_none and v is None)}


def field_names(model: type[Struct]) -> tuple[str, ...]:
    return model.__struct_fields__


def convert(model: type[StructT], data: Any) -> StructT:
    """Validate ``data`` into ``model``; raises ``msgspec.ValidationError`` (see :func:`describe_validation_error`).

    Lax like YAML users expect: ``fps: 30.0`` and ``seed: "7"`` are the numbers they spell, ``1``/``"true"`` a
    bool; ``30.5`` frames per second or ``seed: lots`` are errors."""
    return msgspec.convert(data, model, strict=False)


_ERROR = re.compile(r"^(?P<message>.*?)(?: - at `\$(?P<path>[^`]*)`)?$", re.DOTALL)
_PATH_PART = re.compile(r"\.([^.\[]+)|\[(\d+)\]")


def error_location(err: msgspec.ValidationError) -> tuple[str, list[str | int]]:
    """msgspec's message without its location, and the location as keys and list indices."""
    match = _ERROR.match(str(err))
    assert match is not None  # the pattern matches any text
    parts: list[str | int] = [key if key else int(index)
                              for key, index in _PATH_PART.findall(match["path"] or "")]
    return match["message"], parts


def describe_validation_error(err: msgspec.ValidationError, source: str, model: type[Struct], data: Any) -> str:
    """One line naming the file, the key and what is allowed."""
    message, parts = error_location(err)
    field = re.match(r"Object (contains unknown|missing required) field `([^`]+)`", message)
    if field:
        key = _dotted([*parts, field[2]])
        what = "unknown key" if field[1] == "contains unknown" else "missing required key"
        return f"{source}: {what} '{key}'"
    key = _dotted(parts)
    value = _value_at(data, parts)
    if message.startswith("Invalid enum value"):
        choices = ", ".join(repr(c) for c in _literal_choices(model, parts))
        return f"{source}: '{key}' is {value!r}; allowed: {choices}"
    message = readable_message(message, value)
    return f"{source}: '{key}': {message}" if parts else f"{source}: {message}"


def readable_message(message: str, value: Any) -> str:
    """msgspec's wording, for people: ``Expected `int` >= 1`` → ``expected int >= 1 (got 0)``."""
    if HEX_COLOR in message:
        return f"{value!r} is not a colour; use #RRGGBB or #RRGGBBAA"
    if "latent|model:" in message:  # UPSCALE_PATTERN, as msgspec quotes it
        return f"{value!r} is not an upscaler; use lanczos, bicubic, bilinear, area, latent or model:PATH"
    message = message.replace("`", "").replace(" | null", "")
    if message.startswith("Expected"):
        message = "expected" + message.removeprefix("Expected")
        message = re.sub(r", got \w+$", "", message) + f" (got {value!r})"
    return message


def _dotted(parts: list[str | int]) -> str:
    return ".".join(str(part) for part in parts) or "(top level)"


def _value_at(data: Any, parts: list[str | int]) -> Any:
    for part in parts:
        try:
            data = data[part]
        except (KeyError, IndexError, TypeError):
            return None
    return data


def _literal_choices(model: type[Any], parts: list[str | int]) -> tuple[Any, ...]:
    """The allowed values of the ``Literal`` field at ``parts`` (unwrapping ``X | None``)."""
    from typing import get_args, get_type_hints

    kind: Any = model
    for part in parts:
        if isinstance(part, int) or not (isinstance(kind, type) and issubclass(kind, Struct)):
            return ()
        kind = get_type_hints(kind)[part]
        options = [a for a in get_args(kind) if a is not type(None)] if _is_union(kind) else [kind]
        kind = options[0] if len(options) == 1 else kind
    return tuple(get_args(kind))


def _is_union(kind: Any) -> bool:
    import types
    from typing import Union, get_origin

    return get_origin(kind) in (Union, types.UnionType)


def validate_model(model: type[StructT], data: Any, source: str) -> StructT:
    """Validate ``data`` into ``model``; a failure becomes a one-line :class:`ConfigError`."""
    if not isinstance(data, Mapping):
        raise ConfigError(f"{source}: expected a mapping of keys to values, got {type(data).__name__}")
    data = dict(data)
    check_finite(data, source)
    try:
        return convert(model, data)
    except msgspec.ValidationError as err:
        raise ConfigError(describe_validation_error(err, source, model, data)) from None


def non_finite(data: Any, parts: tuple[str | int, ...] = ()) -> tuple[tuple[str | int, ...], float] | None:
    """Where ``data`` holds ``inf`` or ``nan`` (YAML's ``.inf``, ``.nan``), and the value; None if nowhere.
    msgspec's bounds let ``inf`` through ``gt=0`` and Python's comparisons let ``nan`` through any bound."""
    if isinstance(data, float) and not math.isfinite(data):
        return parts, data
    items = data.items() if isinstance(data, Mapping) else enumerate(data) if isinstance(data, list) else ()
    for key, value in items:
        found = non_finite(value, (*parts, key))
        if found is not None:
            return found
    return None


def check_finite(data: Any, source: str) -> None:
    found = non_finite(data)
    if found is not None:
        parts, value = found
        raise ConfigError(f"{source}: '{_dotted(list(parts))}' is {value}; give a finite number")


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

    The same model validates CLI flags, job-file entries and Python callers' keyword arguments (those are
    checked by :func:`checked_options` when a library call starts).
    """

    prompt: list[str] | str | None = None
    preset: str | None = None
    duration: Positive | None = None
    seed: Seed | None = None
    fps: Fps | None = None
    # generation
    backend: str | None = None
    model: str | None = None
    revision: str | None = None
    steps: Steps | None = None
    guidance_scale: Annotated[float, Meta(ge=0)] | None = None
    negative_prompt: str | None = None
    gen_size: str | None = None
    segment_frames: SegmentFrames | None = None
    overlap_frames: NonNegative | None = None
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
    upscale: UpscaleMethod | None = None
    loop: LoopMode | None = None
    loop_overlap: Positive | None = None
    caption: str | None = None
    captions: str | None = None
    caption_style: CaptionStyleName | None = None
    caption_position: CaptionPosition | None = None
    font: str | None = None
    font_size: FontSize | None = None
    caption_color: Colour | None = None
    caption_accent_color: Colour | None = None
    caption_outline_color: Colour | None = None
    caption_outline_width: OutlineWidth | None = None
    caption_box_color: Colour | None = None
    caption_box_opacity: Opacity | None = None
    subtitles: SubtitleMode | None = None
    audio: str | None = None  # a sound file replacing the clip's own sound, or "none" to drop it
    # --- sound (shortgen.audio) ---
    music: str | None = None
    music_volume: Decibels | None = None
    voice: str | None = None
    duck: bool | None = None
    # --- end sound ---
    # --- generated sound (ltx2 branch): --sound TEXT|auto, --sound-model DIR|ID, --sound-steps N
    sound: str | None = None
    sound_model: str | None = None
    sound_steps: Steps | None = None
    # --- end generated sound
    crf: Crf | None = None
    # reframe (issue 11): how non-9:16 footage and --image stills fill the frame
    fit: FitMode | None = None
    pad_color: Colour | None = None
    crop_x: UnitInterval | None = None
    crop_y: UnitInterval | None = None
    # --- issue 12: latent upscaling (multiscale), extend, restyle
    upsampler: str | None = None  # --upscale latent: Hub id, diffusers folder or .safetensors of the upsampler
    refine_strength: Fraction01 | None = None  # pass 2's denoise_strength (default 0.999, the LTX recipe)
    extend: str | None = None  # make: the clip to continue
    restyle: str | None = None  # edit: the prompt to re-render the clip with
    strength: Fraction01 | None = None  # edit --restyle: how far from the input (default 0.6)
    # output
    output: str | None = None
    # ---- publish block: platform check and Content Credentials (shortgen.publish) ----
    strict: bool | None = None  # a failed platform check is an error (no output), not a warning
    sign: bool | None = None
    sign_cert: str | None = None  # PEM chain; else $SHORTGEN_C2PA_CERT
    sign_key: str | None = None  # PEM key; else $SHORTGEN_C2PA_KEY
    sign_prompt: bool | None = None  # put the prompt text (not only its SHA-256) in the manifest
    tsa: str | None = None  # RFC 3161 timestamp server URL (none by default: signing stays offline)
    trim: str | None = None  # edit: START[:END] seconds of the source
    # ---- end publish block ----

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
            "audio": {"music_volume_db": self.music_volume},  # sound (shortgen.audio)
            "reframe": {"fit": self.fit, "pad_color": self.pad_color, "crop_x": self.crop_x, "crop_y": self.crop_y},
        }


def layered_options(*layers: MakeOptions | None) -> MakeOptions:
    """Merge option sets; later layers win (defaults < job file < CLI flags)."""
    dumps = [as_dict(layer, exclude_none=True) for layer in layers if layer is not None]
    return convert(MakeOptions, merge_layers(*dumps))


def checked_options(options: MakeOptions) -> MakeOptions:
    """Options built in Python (``MakeOptions(crf=99)``) are not range-checked on construction; this is."""
    return validate_model(MakeOptions, as_dict(options), "options")
