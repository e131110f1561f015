"""Option definitions shared by every command, so a flag means the same thing everywhere."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal

import typer

if TYPE_CHECKING:
    from shortgen.config import MakeOptions

GEN = "Generation"
POST = "Post-processing"
OUT = "Output"


Preset = Annotated[str | None, typer.Option("--preset", help="Preset name (see 'presets list') or a .yaml path.",
                                            rich_help_panel=OUT)]
Duration = Annotated[float | None, typer.Option("--duration", "-d", min=0.1,
                                                help="Seconds of video (the preset's range applies).",
                                                rich_help_panel=OUT)]
Fps = Annotated[int | None, typer.Option("--fps", min=1, max=120, help="Output frame rate (preset default).",
                                         rich_help_panel=OUT)]
Output = Annotated[Path | None, typer.Option("--output", "-o", help="Output .mp4 path.", rich_help_panel=OUT,
                                             dir_okay=False)]
Overwrite = Annotated[bool, typer.Option("--overwrite", help="Replace an existing output file.",
                                         rich_help_panel=OUT)]
Json = Annotated[bool, typer.Option("--json", help="Print one JSON result on stdout; no bars.")]
Quiet = Annotated[bool, typer.Option("--quiet", "-q", help="Print only errors.")]
NoSidecar = Annotated[bool, typer.Option("--no-sidecar", help="Do not write the .json metadata beside the clip.",
                                         rich_help_panel=OUT)]
DryRun = Annotated[bool, typer.Option("--dry-run", help="Validate and print the plan; load nothing.")]
Crf = Annotated[int | None, typer.Option("--crf", min=1, max=51, help="x264 quality (lower is better).",
                                         rich_help_panel=OUT)]

Seed = Annotated[int | None, typer.Option("--seed", min=0, help="Random seed (default 0): same seed, same clip.",
                                          rich_help_panel=GEN)]
Model = Annotated[str | None, typer.Option("--model", "-m",
                                           help="Hub id, local diffusers folder, or single-file .safetensors.",
                                           rich_help_panel=GEN)]
Revision = Annotated[str | None, typer.Option("--revision", help="Hub revision (branch, tag or commit).",
                                              rich_help_panel=GEN)]
Backend = Annotated[str | None, typer.Option("--backend", help="Model family (default: ltx).", rich_help_panel=GEN)]
Steps = Annotated[int | None, typer.Option("--steps", min=1, max=200, help="Denoising steps per segment.",
                                           rich_help_panel=GEN)]
Guidance = Annotated[float | None, typer.Option("--guidance", min=0.0, help="Guidance scale (1 = no CFG).",
                                                rich_help_panel=GEN)]
NegativePrompt = Annotated[str | None, typer.Option("--negative-prompt", help="What to steer away from.",
                                                    rich_help_panel=GEN)]
GenSize = Annotated[str | None, typer.Option("--gen-size", help="Generation size WIDTHxHEIGHT (multiples of 32).",
                                             rich_help_panel=GEN)]
SegmentFrames = Annotated[int | None, typer.Option("--segment-frames", min=9,
                                                   help="Frames per model call (8k+1).", rich_help_panel=GEN)]
OverlapFrames = Annotated[int | None, typer.Option("--overlap-frames", min=0,
                                                   help="Frames shared by consecutive segments (8k+1).",
                                                   rich_help_panel=GEN)]
Device = Annotated[Literal["auto", "cuda", "mps", "cpu"] | None, typer.Option("--device",
                                            help="Where to run the model.", rich_help_panel=GEN)]
Dtype = Annotated[Literal["auto", "bfloat16", "float16", "float32"] | None, typer.Option("--dtype",
                                           help="Model precision (auto: bf16 on CUDA).", rich_help_panel=GEN)]
LowMemory = Annotated[bool | None, typer.Option("--low-memory/--no-low-memory",
                                                help="CPU offload and VAE tiling for small GPUs.",
                                                rich_help_panel=GEN)]
Compile = Annotated[bool | None, typer.Option("--compile/--no-compile",
                                              help="torch.compile the transformer (GPU; the first segment pays).",
                                              rich_help_panel=GEN)]
AttentionBackend = Annotated[str | None, typer.Option("--attention-backend", metavar="NAME",
                                                     help="diffusers attention backend, e.g. _native_cudnn, flash.",
                                                     rich_help_panel=GEN)]
Fp8 = Annotated[bool | None, typer.Option("--fp8/--no-fp8",
                                          help="Keep transformer weights in float8, compute in bf16 (CUDA).",
                                          rich_help_panel=GEN)]
VaeTiling = Annotated[bool | None, typer.Option("--vae-tiling/--no-vae-tiling",
                                                help="Decode in tiles: less GPU memory at large sizes.",
                                                rich_help_panel=GEN)]
DecodeAhead = Annotated[bool | None, typer.Option("--decode-ahead/--no-decode-ahead",
                                                  help="Decode a segment while the next one denoises.",
                                                  rich_help_panel=GEN)]
Image = Annotated[Path | None, typer.Option("--image", help="Start the clip from this still.", rich_help_panel=GEN)]

Upscale = Annotated[str | None, typer.Option("--upscale", metavar="METHOD",
                                             help="To the output size: lanczos, bicubic, bilinear, area "
                                                  "(resample), latent (LTX multiscale: generate at half size, "
                                                  "refine at full size) or model:PATH (a Real-ESRGAN-family "
                                                  ".pth/.safetensors).", rich_help_panel=POST)]
Loop = Annotated[Literal["none", "crossfade", "pingpong", "seamless"] | None, typer.Option("--loop",
                                          help="Make the clip loop (preset default).", rich_help_panel=POST)]
LoopOverlap = Annotated[float | None, typer.Option("--loop-overlap", min=0.01,
                                                   help="Seconds blended at the loop point.", rich_help_panel=POST)]
Caption = Annotated[str | None, typer.Option("--caption", help="Caption text for the whole clip.",
                                             rich_help_panel=POST)]
Captions = Annotated[Path | None, typer.Option("--captions", help="Timed captions: .srt, .vtt or word-timing .json.",
                                               rich_help_panel=POST)]
CaptionStyle = Annotated[Literal["clean", "box", "highlight", "pop"] | None, typer.Option("--caption-style",
                                                  help="Caption look (preset default).", rich_help_panel=POST)]
CaptionPosition = Annotated[Literal["top", "middle", "bottom"] | None, typer.Option("--caption-position",
                                                     help="Where in the safe zone.", rich_help_panel=POST)]
Font = Annotated[Path | None, typer.Option("--font", help="A .ttf/.otf font file.", rich_help_panel=POST)]
FontSize = Annotated[int | None, typer.Option("--font-size", min=8, max=400, help="Caption size in output pixels.",
                                              rich_help_panel=POST)]
CaptionColor = Annotated[str | None, typer.Option("--caption-color", metavar="#RRGGBB", help="Caption text colour.",
                                                 rich_help_panel=POST)]
CaptionAccent = Annotated[str | None, typer.Option("--caption-accent-color", metavar="#RRGGBB",
                                                  help="Colour of the spoken word (highlight style).",
                                                  rich_help_panel=POST)]
CaptionOutlineColor = Annotated[str | None, typer.Option("--caption-outline-color", metavar="#RRGGBB",
                                                        help="Caption outline colour.", rich_help_panel=POST)]
CaptionOutlineWidth = Annotated[int | None, typer.Option("--caption-outline-width", min=0, max=40,
                                                        help="Caption outline width in pixels (0: none).",
                                                        rich_help_panel=POST)]
CaptionBoxColor = Annotated[str | None, typer.Option("--caption-box-color", metavar="#RRGGBB",
                                                    help="Box colour (box style).", rich_help_panel=POST)]
CaptionBoxOpacity = Annotated[float | None, typer.Option("--caption-box-opacity", min=0.0, max=1.0,
                                                        help="Box opacity 0-1 (box style).", rich_help_panel=POST)]
Subtitles = Annotated[Literal["burn", "soft", "both"] | None, typer.Option("--subtitles",
                                               help="Burn captions in, add a soft track + .srt, or both.",
                                               rich_help_panel=POST)]
Preview = Annotated[float | None, typer.Option("--preview", min=0.0, metavar="SECONDS",
                                               help="Write the frame at SECONDS as an image (-o frame.png) "
                                                    "instead of encoding.", rich_help_panel=OUT)]
# --- sound (shortgen.audio) ---
SOUND = "Sound"
Audio = Annotated[Path | None, typer.Option("--audio", metavar="FILE|none",
                                            help="Replace the clip's own sound with FILE as it is (in sync, "
                                                 "looping with the clip); 'none' drops it.", rich_help_panel=SOUND)]
Music = Annotated[Path | None, typer.Option("--music", metavar="FILE",
                                            help="Music under the clip: trimmed or looped, faded, ducked under a "
                                                 "voice.", rich_help_panel=SOUND)]
MusicVolume = Annotated[float | None, typer.Option("--music-volume", metavar="DB", min=-60.0, max=20.0,
                                                   help="Gain on the music in dB before mixing (preset default, "
                                                        "-12).", rich_help_panel=SOUND)]
Voice = Annotated[Path | None, typer.Option("--voice", metavar="FILE",
                                            help="A voice-over on top, from the start; the music ducks under it.",
                                            rich_help_panel=SOUND)]
Duck = Annotated[bool | None, typer.Option("--duck/--no-duck",
                                           help="Duck the music under the clip's own sound too (speech).",
                                           rich_help_panel=SOUND)]
# --- end sound ---

# --- reframe (issue 11): how footage of another aspect ratio (and --image stills) fills the 9:16 frame
REFRAME = "Reframe"
Fit = Annotated[Literal["crop", "pad", "blur", "track"] | None, typer.Option(
    "--fit", help="Non-9:16 footage: crop (default), pad, blur (whole frame over a blurred copy), "
                  "track (a window that follows faces, people, motion).", rich_help_panel=REFRAME)]
PadColor = Annotated[str | None, typer.Option("--pad-color", metavar="#RRGGBB", help="Band colour for --fit pad.",
                                              rich_help_panel=REFRAME)]
CropX = Annotated[float | None, typer.Option("--crop-x", min=0.0, max=1.0, help="Crop window position, "
                                             "0 left edge to 1 right edge (default 0.5).", rich_help_panel=REFRAME)]
CropY = Annotated[float | None, typer.Option("--crop-y", min=0.0, max=1.0, help="Crop window position, "
                                             "0 top to 1 bottom (default 0.5).", rich_help_panel=REFRAME)]

# --- generated sound (ltx2 branch)
Sound = Annotated[str | None, typer.Option("--sound", metavar="TEXT|auto",
                                           help='Generate a sound bed: a description, or "auto" for the prompt.',
                                           rich_help_panel=POST)]
SoundModel = Annotated[str | None, typer.Option("--sound-model", metavar="DIR|ID",
                                                help="Text-to-audio model (default stabilityai/stable-audio-open-1.0).",
                                                rich_help_panel=POST)]
SoundSteps = Annotated[int | None, typer.Option("--sound-steps", min=1, max=500,
                                                help="Denoising steps for --sound (default: the model's).",
                                                rich_help_panel=POST)]
# --- end generated sound

# ---- publish: platform check and Content Credentials ----
PUB = "Publishing"
Strict = Annotated[bool | None, typer.Option("--strict/--no-strict",
                                             help="Fail (and write nothing) when the platform check fails.",
                                             rich_help_panel=PUB)]
Sign = Annotated[bool | None, typer.Option("--sign/--no-sign", help="Sign Content Credentials (C2PA) into the clip.",
                                           rich_help_panel=PUB)]
SignCert = Annotated[Path | None, typer.Option("--sign-cert", help="PEM certificate chain (or $SHORTGEN_C2PA_CERT).",
                                               rich_help_panel=PUB)]
SignKey = Annotated[Path | None, typer.Option("--sign-key", help="PEM private key (or $SHORTGEN_C2PA_KEY).",
                                              rich_help_panel=PUB)]
SignPrompt = Annotated[bool | None, typer.Option("--sign-prompt", help="Put the prompt text in the manifest "
                                                 "(default: only its SHA-256).", rich_help_panel=PUB)]
Tsa = Annotated[str | None, typer.Option("--tsa", metavar="URL", help="RFC 3161 timestamp server (default: none, "
                                         "offline).", rich_help_panel=PUB)]
Trim = Annotated[str | None, typer.Option("--trim", metavar="START[:END]", help="Seconds of the source to keep.",
                                          rich_help_panel=PUB)]
EditDuration = Annotated[float | None, typer.Option("--duration", "-d", min=0.1,
                                                    help="Keep this many seconds (from --trim's start).",
                                                    rich_help_panel=PUB)]
# ---- end publish ----
# --- issue 12: latent upscaling, extend, restyle
Upsampler = Annotated[str | None, typer.Option("--upsampler", metavar="PATH|ID",
                                               help="Latent upsampler for --upscale latent: Hub id, diffusers "
                                                    "folder or .safetensors (default: the model folder's "
                                                    "latent_upsampler/, or the published one for LTX 0.9.7/0.9.8).",
                                               rich_help_panel=GEN)]
RefineStrength = Annotated[float | None, typer.Option("--refine-strength",
                                                      help="--upscale latent: how much the full-size pass "
                                                           "re-denoises (0-1, default 0.999).", rich_help_panel=GEN)]
Extend = Annotated[Path | None, typer.Option("--extend", metavar="CLIP", help="Continue this clip: it comes first, "
                                             "--duration is the total.", rich_help_panel=GEN, dir_okay=False)]
Restyle = Annotated[str | None, typer.Option("--restyle", metavar="PROMPT",
                                             help="Re-render the clip with the model following PROMPT.",
                                             rich_help_panel=GEN)]
Strength = Annotated[float | None, typer.Option("--strength", help="--restyle: how far from the input, in (0, 1] "
                                                "(default 0.6).", rich_help_panel=GEN)]


# Command parameters whose names differ from the MakeOptions field they set.
FIELD_OF_PARAMETER = {"guidance": "guidance_scale", "compile_model": "compile"}


def build_options(flags: dict[str, Any], **values: Any) -> MakeOptions:
    """A command's flags (its ``locals()``) → :class:`MakeOptions`; ``values`` override them. Parameters that are
    no option (``--json``, ``--overwrite``, ...) are left out, paths become strings. A value the model rejects
    is one line naming the flag."""
    from msgspec import ValidationError

    from shortgen.config import MakeOptions, convert, error_location, field_names, readable_message
    from shortgen.errors import UsageError

    _check_finite_flags(flags)
    fields = set(field_names(MakeOptions))
    chosen = {FIELD_OF_PARAMETER.get(name, name): value for name, value in flags.items()}
    chosen = {name: text(value) if isinstance(value, Path) else value
              for name, value in chosen.items() if name in fields and value is not None}
    data = {**chosen, **values}
    try:
        return convert(MakeOptions, data)
    except ValidationError as err:
        message, parts = error_location(err)
        flag = flag_of_field(str(parts[0])) if parts else "options"
        value = data.get(parts[0]) if parts and isinstance(parts[0], str) else None
        raise UsageError(f"invalid value for {flag}: {readable_message(message, value)}") from None


def _check_finite_flags(flags: dict[str, Any]) -> None:
    """``--duration inf`` or ``--preview nan`` pass Click's range checks (nan compares false with every bound)."""
    import math

    from shortgen.errors import UsageError

    for name, value in flags.items():
        if isinstance(value, float) and not math.isfinite(value):
            raise UsageError(f"invalid value for {flag_of_field(FIELD_OF_PARAMETER.get(name, name))}: "
                             f"{value} is not a finite number")


def flag_of_field(field: str) -> str:
    parameter = {f: p for p, f in FIELD_OF_PARAMETER.items()}.get(field, field)
    return "--" + parameter.removesuffix("_model").replace("_", "-")


def text(value: Any) -> str | None:
    return None if value is None else str(value)
