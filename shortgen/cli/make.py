"""``shortgen make``: prompt(s) → finished clip."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from shortgen.cli import options as o
from shortgen.cli.errors import report_errors
from shortgen.cli.output import Output
from shortgen.cli.render import print_plan, print_result


@report_errors
def make(
    prompt: Annotated[list[str] | None, typer.Argument(help='Prompt; "a | b | c" is a storyboard.',
                                                       show_default=False)] = None,
    prompts: Annotated[list[str] | None, typer.Option("--prompt", "-p", help="Another storyboard beat "
                                                      "(repeatable).", show_default=False)] = None,
    preset: o.Preset = None, duration: o.Duration = None, fps: o.Fps = None, seed: o.Seed = None,
    model: o.Model = None, revision: o.Revision = None, backend: o.Backend = None, steps: o.Steps = None,
    guidance: o.Guidance = None, negative_prompt: o.NegativePrompt = None, gen_size: o.GenSize = None,
    segment_frames: o.SegmentFrames = None, overlap_frames: o.OverlapFrames = None, device: o.Device = None,
    dtype: o.Dtype = None, low_memory: o.LowMemory = None, compile_model: o.Compile = None,
    attention_backend: o.AttentionBackend = None, fp8: o.Fp8 = None,
    vae_tiling: o.VaeTiling = None, decode_ahead: o.DecodeAhead = None, image: o.Image = None,
    upsampler: o.Upsampler = None, refine_strength: o.RefineStrength = None, extend: o.Extend = None,  # issue 12
    upscale: o.Upscale = None, loop: o.Loop = None, loop_overlap: o.LoopOverlap = None,
    caption: o.Caption = None, captions: o.Captions = None, caption_style: o.CaptionStyle = None,
    caption_position: o.CaptionPosition = None, font: o.Font = None, font_size: o.FontSize = None,
    caption_color: o.CaptionColor = None, caption_accent_color: o.CaptionAccent = None,
    caption_outline_color: o.CaptionOutlineColor = None, caption_outline_width: o.CaptionOutlineWidth = None,
    caption_box_color: o.CaptionBoxColor = None, caption_box_opacity: o.CaptionBoxOpacity = None,
    subtitles: o.Subtitles = None, audio: o.Audio = None, crf: o.Crf = None,
    music: o.Music = None, music_volume: o.MusicVolume = None, voice: o.Voice = None, duck: o.Duck = None,
    fit: o.Fit = None, pad_color: o.PadColor = None, crop_x: o.CropX = None, crop_y: o.CropY = None,
    sound: o.Sound = None, sound_model: o.SoundModel = None, sound_steps: o.SoundSteps = None,
    output: o.Output = None, overwrite: o.Overwrite = False, no_sidecar: o.NoSidecar = False,
    dry_run: o.DryRun = False, json: o.Json = False, quiet: o.Quiet = False,
    # publish: check and sign
    strict: o.Strict = None, sign: o.Sign = None, sign_cert: o.SignCert = None, sign_key: o.SignKey = None,
    sign_prompt: o.SignPrompt = None, tsa: o.Tsa = None,
) -> None:
    """Generate a clip from a prompt: generate, upscale, loop, caption, encode."""
    flags = dict(locals())
    out = Output(json_mode=json, quiet=quiet)
    options = o.build_options(flags, prompt=[*(prompt or []), *(prompts or [])])
    if dry_run:
        from shortgen.atomic import check_video_suffix
        from shortgen.pipeline import plan_for_stages

        plan = plan_for_stages(options)
        check_video_suffix(plan.output)
        if sign or sign_cert or sign_key or tsa:  # publish: the signing material is checked by a dry run too
            from shortgen.publish.finish import publish_settings

            publish_settings(options)
        if image:
            from shortgen.paths import check_input_file

            check_input_file(Path(image), "image", "check the --image path")
        from shortgen.audio.plan import check_sound_options

        check_sound_options(options)
        print_plan(out, plan.to_dict())
        return
    from shortgen.pipeline import make_clip

    with out.progress() as progress:
        result = make_clip(options, overwrite=overwrite, progress=progress, write_sidecar=not no_sidecar)
    print_result(out, result.to_dict())
