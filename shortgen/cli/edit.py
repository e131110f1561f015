"""``shortgen edit``: the post stages on an existing clip."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from shortgen.cli import options as o
from shortgen.cli.errors import report_errors
from shortgen.cli.output import Output, styled
from shortgen.cli.render import print_result
from shortgen.errors import UsageError

if TYPE_CHECKING:
    from shortgen.config import MakeOptions


@report_errors
def edit(
    source: Annotated[Path, typer.Argument(help="Input video.", show_default=False)],
    preset: o.Preset = None, fps: o.Fps = None,
    # issue 12: --restyle re-renders the clip with the model
    restyle: o.Restyle = None, strength: o.Strength = None, model: o.Model = None, revision: o.Revision = None,
    backend: o.Backend = None, seed: o.Seed = None, steps: o.Steps = None, guidance: o.Guidance = None,
    negative_prompt: o.NegativePrompt = None, gen_size: o.GenSize = None, segment_frames: o.SegmentFrames = None,
    overlap_frames: o.OverlapFrames = None, device: o.Device = None, dtype: o.Dtype = None,
    low_memory: o.LowMemory = None,
    upscale: o.Upscale = None, loop: o.Loop = None, loop_overlap: o.LoopOverlap = None,
    caption: o.Caption = None, captions: o.Captions = None, caption_style: o.CaptionStyle = None,
    caption_position: o.CaptionPosition = None, font: o.Font = None, font_size: o.FontSize = None,
    caption_color: o.CaptionColor = None, caption_accent_color: o.CaptionAccent = None,
    caption_outline_color: o.CaptionOutlineColor = None, caption_outline_width: o.CaptionOutlineWidth = None,
    caption_box_color: o.CaptionBoxColor = None, caption_box_opacity: o.CaptionBoxOpacity = None,
    subtitles: o.Subtitles = None, audio: o.Audio = None, crf: o.Crf = None, preview: o.Preview = None,
    music: o.Music = None, music_volume: o.MusicVolume = None, voice: o.Voice = None, duck: o.Duck = None,
    fit: o.Fit = None, pad_color: o.PadColor = None, crop_x: o.CropX = None, crop_y: o.CropY = None,
    output: o.Output = None, overwrite: o.Overwrite = False, no_sidecar: o.NoSidecar = False,
    json: o.Json = False, quiet: o.Quiet = False,
    # publish: conform, check, sign
    trim: o.Trim = None, duration: o.EditDuration = None, strict: o.Strict = None, sign: o.Sign = None,
    sign_cert: o.SignCert = None, sign_key: o.SignKey = None, tsa: o.Tsa = None,
) -> None:
    """Apply the post stages (upscale to the preset, loop, captions, sound, encode) to a clip; with --restyle,
    re-render it through the model first."""
    flags = dict(locals())
    out = Output(json_mode=json, quiet=quiet)
    if output is None:
        raise UsageError("edit needs an output path", "pass -o OUT.mp4")
    options = o.build_options(flags)
    if preview is not None:
        _preview(out, source, options, preview, output, overwrite)
        return
    from shortgen.pipeline import edit_clip

    with out.progress() as progress:
        result = edit_clip(source, options, output, overwrite=overwrite, progress=progress,
                           write_sidecar=not no_sidecar)
    print_result(out, result.to_dict())


def _preview(out: Output, source: Path, options: MakeOptions, seconds: float, output: Path, overwrite: bool) -> None:
    from shortgen.pipeline import preview_frame

    with out.progress() as progress:
        result = preview_frame(source, options, seconds, output, overwrite=overwrite, progress=progress)
    if out.json_mode:
        out.result(result)
    else:
        out.info(styled("wrote", "bold green", f" {result['output']}: frame {result['frame']} at "
                                               f"{result['time']:.2f} s, {result['width']}x{result['height']}"))
