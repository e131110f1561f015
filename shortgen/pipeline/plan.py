"""What ``make`` will do, worked out before any model loads (no torch): the preset with the options applied,
the segment plan (:class:`MakePlan`), the post stages as spec dicts, and the checks that fail early (duration,
outputs, sound files)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from shortgen.backends import check_model_folder, get_backend_info
from shortgen.chain import SegmentPlan, plan_segments, split_prompts
from shortgen.config import MakeOptions, Preset, checked_options
from shortgen.errors import UsageError
from shortgen.extend import ExtendPlan, plan_extend
from shortgen.frames import AudioMix, AudioSpec
from shortgen.multiscale import Multiscale, plan_multiscale
from shortgen.outputs import check_clip_outputs, writes_srt
from shortgen.presets import DEFAULT_PRESET, load_preset
from shortgen.soundgen.plan import check_sound_options, sound_plan
from shortgen.stages import Stage, build_stage
from shortgen.stages.reframe import resize_spec

DEFAULT_SEED = 0
SPEED_OPTIONS = ("low_memory", "compile", "attention_backend", "fp8", "vae_tiling", "decode_ahead")


@dataclass(frozen=True)
class MakePlan:
    """Everything ``make`` will do, worked out without importing torch."""

    options: MakeOptions
    preset: Preset
    prompts: list[str]
    duration: float
    seed: int
    segments: SegmentPlan
    output: Path
    multiscale: Multiscale | None = None  # --upscale latent (issue 12): the segments run at pass 2's size
    extend: ExtendPlan | None = None  # make --extend CLIP (issue 12)
    # --loop seamless: frames generated before the clip's first one and dropped, so the closing condition lands
    # on a frame the backend can place (LTX-2: 8j+1; see shortgen.stages.loop_close.room_to_close)
    loop_lead: int = 0

    def to_dict(self) -> dict[str, Any]:
        gen = self.preset.generation
        extra: dict[str, Any] = {}
        if self.multiscale is not None:
            extra["multiscale"] = self.multiscale.to_dict()
        if self.extend is not None:
            extra["extend"] = self.extend.to_dict()
        if self.loop_lead:
            extra["loop_lead_frames"] = self.loop_lead
        return {
            "output": str(self.output),
            "prompts": self.prompts,
            "preset": self.preset.name,
            "duration": self.duration,
            "fps": self.preset.output.fps,
            "frames": round(self.duration * self.preset.output.fps),
            "seed": self.seed,
            "model": gen.model,
            "backend": gen.backend,
            "generation_size": f"{gen.width}x{gen.height}",
            "output_size": f"{self.preset.output.width}x{self.preset.output.height}",
            "steps": gen.steps,
            "device": gen.device,
            "dtype": gen.dtype,
            "speed": {name: getattr(gen, name) for name in SPEED_OPTIONS},
            "segments": self.segments.to_dict()["segments"],
            "generated_frames": self.segments.generated_frames,
            "sound": sound_plan(self.options, self.prompts),
            **extra,
        }


def resolve_preset(options: MakeOptions) -> Preset:
    """The preset with these options applied, every value validated (the options' own too)."""
    checked_options(options)
    preset = load_preset(options.preset or DEFAULT_PRESET, options.preset_overrides())
    return _backend_default_model(preset, options)


def _backend_default_model(preset: Preset, options: MakeOptions) -> Preset:
    """``--backend ltx2`` without ``--model``: that backend's default model, not the preset's LTX-Video one."""
    from shortgen.config import GenerationSpec, replace

    gen = preset.generation
    if options.model or gen.model != GenerationSpec().model or gen.backend == GenerationSpec().backend:
        return preset
    generation = replace(gen, model=get_backend_info(gen.backend).default_model)
    return replace(preset, generation=generation)


def check_duration(duration: float, preset: Preset) -> None:
    spec = preset.duration
    if not spec.min <= duration <= spec.max:
        raise UsageError(f"duration {duration:g} s is outside the {preset.name} preset's range "
                         f"{spec.min:g}-{spec.max:g} s", "pass --duration within it, or use another preset")


def default_output(prompts: list[str]) -> Path:
    import re

    slug = re.sub(r"[^a-z0-9]+", "-", prompts[0].lower()).strip("-")[:40] or "clip"
    return Path(f"{slug}.mp4")


def plan_make(options: MakeOptions, *, extra_frames: int = 0, preset: Preset | None = None) -> MakePlan:
    """Validate options and plan the segments. Raises :class:`UsageError` on bad input; no torch.
    ``preset``: the options' resolved preset, when the caller has it already."""
    prompts = split_prompts(options.prompts())
    preset = preset or resolve_preset(options)
    duration = options.duration if options.duration is not None else preset.duration.default
    check_duration(duration, preset)
    gen = preset.generation
    rules = get_backend_info(gen.backend).rules
    frames = round(duration * preset.output.fps)
    multiscale = _plan_multiscale(options, preset)
    width, height = (multiscale.full_width, multiscale.full_height) if multiscale else (gen.width, gen.height)
    extend = plan_extend(options, preset, frames) if options.extend else None
    new_frames = frames - extend.kept_frames if extend else frames
    segments = plan_segments(new_frames + extra_frames, rules=rules, segment_frames=gen.segment_frames,
                             overlap=gen.overlap_frames, prompts=prompts, width=width,
                             height=height, fps=preset.output.fps)
    check_model_folder(gen.backend, gen.model)
    check_sound_options(options, prompts, gen.backend)
    output = Path(options.output) if options.output else default_output(prompts)
    seed = options.seed if options.seed is not None else DEFAULT_SEED
    return MakePlan(options, preset, prompts, duration, seed, segments, output, multiscale, extend)


def _plan_multiscale(options: MakeOptions, preset: Preset) -> Multiscale | None:
    gen = preset.generation
    if options.upscale != "latent":
        if options.upsampler or options.refine_strength is not None:
            raise UsageError("--upsampler and --refine-strength only act with --upscale latent")
        return None
    return plan_multiscale(gen.backend, gen.width, gen.height, options.refine_strength)


def post_stage_specs(preset: Preset, options: MakeOptions, frames: int | None = None) -> list[dict[str, Any]]:
    """The post stages, in order, as plain dicts (see :mod:`shortgen.stages`). ``frames``: the clip's
    requested length when it is generated for these stages (make); ``None`` for an existing video."""
    specs: list[dict[str, Any]] = []
    if preset.loop.mode != "none":
        specs.append({"key": "loop", "mode": preset.loop.mode, "overlap_seconds": preset.loop.overlap_seconds,
                      "threshold": preset.loop.seam_threshold, "frames": frames})
    # reframe (issue 11): the upscale stage for the plain centre crop, the reframe stage for other fits
    # (after the sr stage with --upscale model:PATH)
    specs.extend(_upscale_specs(preset, options, generated=frames is not None))
    if options.caption is not None or options.captions:
        specs.append({"key": "captions", "text": options.caption, "file": options.captions,
                      "spec": preset.captions, "safe_zone": preset.safe_zone,
                      "subtitles": options.subtitles or "burn"})
    return specs


def _upscale_specs(preset: Preset, options: MakeOptions, generated: bool) -> list[dict[str, Any]]:
    """The stages that bring frames to the output size (issue 12: ``latent`` needs a generation; ``model:``
    runs where the model does: in the upscale stage for the centre crop, else in the sr stage before the
    reframe stage, on the part of the source the output shows)."""

    method = options.upscale or "lanczos"
    if method == "latent" and not generated:
        raise UsageError("--upscale latent upscales the model's latents while generating; an existing video "
                         "has none", "use --upscale model:PATH (a Real-ESRGAN-family file) or lanczos")
    width, height = preset.output.width, preset.output.height
    spec = resize_spec(preset.reframe, width, height, method)
    if method.startswith("model:"):
        if spec["key"] == "upscale":
            return [{**spec, "device": preset.generation.device}]
        fit = preset.reframe
        sr = {"key": "sr", "method": method, "width": width, "height": height, "fit": fit.fit,
              "crop_x": fit.crop_x, "crop_y": fit.crop_y, "device": preset.generation.device}
        return [sr, {**spec, "method": "lanczos"}]
    if spec["key"] == "reframe" and method == "latent":
        spec["method"] = "lanczos"  # the frames were generated at twice the size already
    return [spec]


def build_post_stages(preset: Preset, options: MakeOptions, frames: int | None = None) -> list[Stage]:
    return [build_stage(spec) for spec in post_stage_specs(preset, options, frames)]


def requested_frames(options: MakeOptions, preset: Preset) -> int:
    return round((options.duration or preset.duration.default) * preset.output.fps)


def plan_for_stages(options: MakeOptions, stages: list[Stage] | None = None,
                    preset: Preset | None = None) -> MakePlan:
    """The plan ``make`` runs: the clip's frames plus what its post stages consume (a crossfade's overlap, a
    seamless loop's regenerated opening; a ping-pong needs about half). Without ``stages`` only the loop
    stage is built, which is all ``--dry-run`` needs. The preset is read and validated once."""
    preset = preset or resolve_preset(options)
    frames = requested_frames(options, preset)
    if stages is None:
        stages = [build_stage(spec) for spec in post_stage_specs(preset, options, frames) if spec["key"] == "loop"]
    extra = sum(stage.extra_frames(frames, preset.output.fps) for stage in stages)
    plan = plan_make(options, extra_frames=extra, preset=preset)
    if preset.loop.mode == "seamless":
        from dataclasses import replace

        from shortgen.stages.loop_close import condition_starts, room_to_close

        more, lead = room_to_close(lambda more: plan_make(options, extra_frames=extra + more, preset=preset).segments,
                                   frames, preset.generation.segment_frames,
                                   condition_starts(preset.generation.backend))
        plan = plan_make(options, extra_frames=extra + more, preset=preset) if more else plan
        plan = replace(plan, loop_lead=lead) if lead else plan
    return plan


def audio_mix(options: MakeOptions, preset: Preset, own: AudioSpec | None = None) -> AudioMix | None:
    """The clip's sound (see :mod:`shortgen.audio.plan`); every sound file is checked here, before any work."""
    from shortgen.audio.plan import clip_audio

    return clip_audio(options, preset.audio, own)


def check_outputs(output: Path, options: MakeOptions, overwrite: bool, sidecar: bool) -> None:
    """The clip, its sidecar and its ``.srt`` may all be written (before any model loads or frame decodes)."""
    has_captions = options.caption is not None or bool(options.captions)
    check_clip_outputs(output, overwrite=overwrite, sidecar=sidecar, srt=writes_srt(options.subtitles, has_captions),
                       captions_file=options.captions)
