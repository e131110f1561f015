"""The product in one function: options → plan → frame stream through stages → encoder → result.

``make_clip`` generates; ``edit_clip`` runs the same post stages on an existing video. Both are plain
library calls (no terminal output): progress and warnings go through a :class:`Progress`.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from shortgen.backends import GeneratorBackend, LoadOptions, check_model_folder, get_backend_info, load_backend
from shortgen.backends.base import FrameCondition
from shortgen.chain import GenerationSettings, SegmentPlan, plan_segments, segment_requests, split_prompts
from shortgen.config import MakeOptions, Preset, checked_options
from shortgen.errors import MediaError, UsageError
from shortgen.extend import ExtendPlan, plan_extend
from shortgen.frames import AudioMix, AudioSpec, Clip, as_fraction
from shortgen.multiscale import Multiscale, plan_multiscale
from shortgen.outputs import check_clip_outputs, writes_srt
from shortgen.presets import DEFAULT_PRESET, load_preset
from shortgen.progress import Progress
from shortgen.soundgen.plan import check_sound_options, sound_plan
from shortgen.stages import Stage, build_stage, run_stages, takes_yuv
from shortgen.stages.reframe import resize_spec
from shortgen.timing import Timings

if TYPE_CHECKING:
    import numpy as np

    from shortgen.backends.base import SegmentRequest
    from shortgen.chain import SplitModel
    from shortgen.publish.finish import Publish

DEFAULT_SEED = 0
SPEED_OPTIONS = ("low_memory", "compile", "attention_backend", "fp8", "vae_tiling", "decode_ahead")


@dataclass
class ClipResult:
    output: Path
    sidecar: Path | None
    width: int
    height: int
    fps: float
    frames: int
    duration: float
    seed: int | None
    size_bytes: int
    timings: dict[str, float]
    plan: dict[str, Any] | None = None
    info: dict[str, Any] = field(default_factory=dict)
    check: dict[str, Any] | None = None  # publish: the platform check of the written file
    credentials: dict[str, Any] | None = None  # publish: {"signed": bool, signer, ...}

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["output"] = str(self.output)
        data["sidecar"] = str(self.sidecar) if self.sidecar else None
        return data


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

    def to_dict(self) -> dict[str, Any]:
        gen = self.preset.generation
        extra: dict[str, Any] = {}
        if self.multiscale is not None:
            extra["multiscale"] = self.multiscale.to_dict()
        if self.extend is not None:
            extra["extend"] = self.extend.to_dict()
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
    specs.append(_upscale_spec(preset, options, generated=frames is not None))
    if options.caption is not None or options.captions:
        specs.append({"key": "captions", "text": options.caption, "file": options.captions,
                      "spec": preset.captions, "safe_zone": preset.safe_zone,
                      "subtitles": options.subtitles or "burn"})
    return specs


def _upscale_spec(preset: Preset, options: MakeOptions, generated: bool) -> dict[str, Any]:
    """The upscale stage's dict (issue 12: ``latent`` needs a generation, ``model:`` runs where the model does)."""

    method = options.upscale or "lanczos"
    if method == "latent" and not generated:
        raise UsageError("--upscale latent upscales the model's latents while generating; an existing video "
                         "has none", "use --upscale model:PATH (a Real-ESRGAN-family file) or lanczos")
    spec = resize_spec(preset.reframe, preset.output.width, preset.output.height, method)
    if spec["key"] == "reframe":  # another fit than the centre crop: the reframe stage resamples
        if method.startswith("model:"):
            raise UsageError("--upscale model:PATH works with the centred crop fit only",
                             "use --fit crop without --crop-x/--crop-y, or a resampler")
        if method == "latent":
            spec["method"] = "lanczos"  # the frames were generated at twice the size already
    elif method.startswith("model:"):
        spec["device"] = preset.generation.device
    return spec


def build_post_stages(preset: Preset, options: MakeOptions, frames: int | None = None) -> list[Stage]:
    return [build_stage(spec) for spec in post_stage_specs(preset, options, frames)]


def load_generator(preset: Preset, options: MakeOptions, progress: Progress) -> GeneratorBackend:
    gen = preset.generation
    extra: dict[str, Any] = {"attention_backend": gen.attention_backend} if gen.attention_backend else {}
    if options.upscale == "latent":  # issue 12: load the latent upsampler too ("auto": find it)
        extra["latent_upsampler"] = options.upsampler or "auto"
    load = LoadOptions(model=gen.model, device=gen.device, dtype=gen.dtype, low_memory=gen.low_memory,
                       revision=options.revision, compile=gen.compile, fp8=gen.fp8, vae_tiling=gen.vae_tiling,
                       extra=extra)
    return load_backend(gen.backend, load, progress)


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
    if preset.loop.mode == "seamless" and preset.generation.backend == "ltx2":  # (ltx2 branch)
        raise UsageError("--loop seamless is not available with the ltx2 backend yet: it conditions the last "
                         "segment at a frame LTX-2 cannot place (only frame 0 or 8j+1)",
                         "use --loop crossfade or --loop pingpong")
    if preset.loop.mode == "seamless":
        from shortgen.stages.loop import room_to_close

        more = room_to_close(lambda more: plan_make(options, extra_frames=extra + more, preset=preset).segments,
                             frames, preset.generation.segment_frames)
        plan = plan_make(options, extra_frames=extra + more, preset=preset) if more else plan
    return plan


def make_clip(options: MakeOptions, *, overwrite: bool = False, progress: Progress | None = None,
              backend: GeneratorBackend | None = None, write_sidecar: bool = True,
              overlap: bool = True) -> ClipResult:
    """Generate, post-process and encode one clip. Pass ``backend`` to reuse a loaded model.

    With ``overlap`` the model generates the next segment while the post path upscales, captions and
    encodes the frames of this one (a background thread, at most one segment of frames ahead); the frames
    are the same either way.
    """
    from shortgen.encode import encode_clip
    from shortgen.media import load_image
    from shortgen.metadata import write_sidecar as write_meta
    from shortgen.publish.finish import make_publish

    progress = progress or Progress()
    preset = resolve_preset(options)
    stages = build_post_stages(preset, options, requested_frames(options, preset))
    plan = plan_for_stages(options, stages, preset)
    check_outputs(plan.output, options, overwrite, write_sidecar)
    publish = make_publish(options, plan)
    width, height = plan.segments.width, plan.segments.height  # pass 2's size with --upscale latent
    first: list[FrameCondition] = []
    if options.image:
        image = load_image(Path(options.image), width, height, fit=preset.reframe)
        first.append(FrameCondition(frames=image[None], frame_index=0, strength=1.0))
    extend_tail = None
    if plan.extend is not None:  # issue 12: the first segment continues from CLIP's last frames
        from shortgen.extend import opening_condition

        extend_tail, condition = opening_condition(plan.extend, preset.output.fps, width, height, image=bool(first),
                                                   loop_mode=preset.loop.mode)
        first.append(condition)
    audio = _audio_spec(options, preset)
    timings = Timings()
    # --- generated sound (ltx2 branch): made before the video model loads, so the two never share memory
    from shortgen.soundgen.clip import sound_bed

    audio, sound = sound_bed(plan, audio, progress, timings)
    started = time.perf_counter()
    if backend is None:
        backend = load_generator(preset, options, progress)
        _encode_prompts_and_free_text_encoder(backend, plan)
        timings.add("load", time.perf_counter() - started)
    clip = _generated_clip(plan, backend, first, progress, timings, audio, overlap, sound)
    if plan.extend is not None and extend_tail is not None:
        from shortgen.extend import extended_clip

        clip = extended_clip(clip, plan.extend, preset.output.fps, extend_tail)
    return _finish(clip, stages, plan.output, preset, overwrite, progress, timings, write_sidecar,
                   write_meta, encode_clip, seed=plan.seed, plan=plan, backend=backend, publish=publish)


def _encode_prompts_and_free_text_encoder(backend: GeneratorBackend, plan: MakePlan) -> None:
    """A model loaded for one clip knows every prompt it will see: encode them now and free the text
    encoder, which for LTX (T5-XXL, ~10 GiB in bf16) is larger than the 2B transformer. Backends without
    these optional methods are left alone; batch keeps the encoder, as later jobs bring new prompts."""
    prepare = getattr(backend, "prepare_prompts", None)
    release = getattr(backend, "release_text_encoder", None)
    if prepare is None or release is None:
        return
    gen = plan.preset.generation
    prepare(sorted({segment.prompt for segment in plan.segments.segments}), gen.negative_prompt, gen.guidance_scale)
    release()


def _audio_spec(options: MakeOptions, preset: Preset, own: AudioSpec | None = None) -> AudioMix | None:
    """The clip's sound (see :mod:`shortgen.audio.plan`); every sound file is checked here, before any work."""
    from shortgen.audio.plan import clip_audio

    return clip_audio(options, preset.audio, own)


def check_outputs(output: Path, options: MakeOptions, overwrite: bool, sidecar: bool) -> None:
    """The clip, its sidecar and its ``.srt`` may all be written (before any model loads or frame decodes)."""
    has_captions = options.caption is not None or bool(options.captions)
    check_clip_outputs(output, overwrite=overwrite, sidecar=sidecar, srt=writes_srt(options.subtitles, has_captions),
                       captions_file=options.captions)


def _generated_clip(plan: MakePlan, backend: GeneratorBackend, first: list[FrameCondition],
                    progress: Progress, timings: Timings, audio: AudioMix | None, overlap: bool,
                    sound: dict[str, Any] | None = None) -> Clip:
    from shortgen.chain import stream_segments, stream_segments_ahead
    from shortgen.frames import prefetch

    gen = plan.preset.generation
    settings = GenerationSettings(negative_prompt=gen.negative_prompt, steps=gen.steps,
                                  guidance_scale=gen.guidance_scale, seed=plan.seed)
    requests = segment_requests(plan.segments, settings)
    if plan.multiscale is not None:  # issue 12: each call runs both passes (see shortgen.multiscale)
        from dataclasses import replace

        requests = [replace(r, extra={**r.extra, "multiscale": plan.multiscale.to_dict()}) for r in requests]
    count = len(plan.segments.segments)
    from shortgen.soundgen.clip import backend_sound, finishing  # (ltx2 branch)

    # A backend that makes sound (LTX-2): its segments' sound is joined as their frames are.
    track, stitcher, audio, made_sound = backend_sound(plan, backend, audio, progress)
    sound = sound or made_sound

    def generate(request: Any) -> Any:
        key = _start_segment_bar(progress, request, count)
        started = time.perf_counter()
        if stitcher is not None:
            made = backend.generate_with_audio(request, on_step=lambda step, total: progress.advance(key))
            stitcher.add(request.index, made.audio)
            frames = made.frames
        else:
            frames = backend.generate(request, on_step=lambda step, total: progress.advance(key))
        timings.add("model", time.perf_counter() - started)
        progress.advance(key)
        progress.finish(key)
        return frames

    loop_options: dict[str, Any] = {}
    if plan.preset.loop.mode == "seamless":
        from shortgen.stages.loop import seamless_chain_options

        loop_options = seamless_chain_options(plan.segments, round(plan.duration * plan.preset.output.fps),
                                              progress.warn)
    split = _decode_ahead_model(backend, progress, timings, count) if gen.decode_ahead and not stitcher else None
    if gen.decode_ahead and stitcher is not None:
        progress.warn(f"--decode-ahead is off: the {backend.name} backend decodes picture and sound in one call")
    if split is not None:
        frames = stream_segments_ahead(plan.segments, requests, split, first_conditions=first, **loop_options)
    else:
        frames = stream_segments(plan.segments, requests, generate, first_conditions=first, **loop_options)
    if track is not None:
        frames = finishing(frames, track)
    if overlap:
        frames = prefetch(frames, maxsize=max(s.num_frames for s in plan.segments.segments))
    fps = as_fraction(plan.preset.output.fps)
    return Clip(plan.segments.width, plan.segments.height, fps, plan.segments.total_frames,
                timings.timed("generate", frames), audio=audio, info={"sound": sound} if sound else {})


def _start_segment_bar(progress: Progress, request: SegmentRequest, count: int) -> str:
    """A segment's bar: one tick per denoising step, and a last one for the VAE decode that follows them."""
    from shortgen.multiscale import refine_steps

    key = f"segment{request.index}"
    progress.start(key, f"Segment {request.index + 1}/{count}", request.steps + refine_steps(request.extra) + 1)
    return key


def _decode_ahead_model(backend: GeneratorBackend, progress: Progress, timings: Timings,
                        count: int) -> SplitModel | None:
    """The backend's denoise / decode / decode_tail with make's progress bars and model timing, or None (with a
    warning) when it cannot decode ahead. A segment's bar gets its last tick when its full decode is done,
    which happens on the decode worker; "model" time adds up both threads' work."""
    import threading

    from shortgen.backends.base import split_backend
    from shortgen.chain import SplitModel

    split, reason = split_backend(backend)
    if split is None:
        progress.warn(f"--decode-ahead is off: {reason}")
        return None
    lock = threading.Lock()

    def add_model_time(started: float) -> None:
        with lock:
            timings.add("model", time.perf_counter() - started)

    def denoise(request: SegmentRequest) -> Any:
        key = _start_segment_bar(progress, request, count)
        started = time.perf_counter()
        latents = split.denoise(request, on_step=lambda step, total: progress.advance(key))
        add_model_time(started)
        return latents

    def decode_tail(latents: Any, request: SegmentRequest, frames: int) -> np.ndarray:
        started = time.perf_counter()
        tail = split.decode_tail(latents, request, frames)
        add_model_time(started)
        return tail

    def decode(latents: Any, request: SegmentRequest) -> np.ndarray:
        key = f"segment{request.index}"
        started = time.perf_counter()
        frames = split.decode(latents, request)
        add_model_time(started)
        progress.advance(key)
        progress.finish(key)
        return frames

    return SplitModel(denoise=denoise, decode=decode, decode_tail=decode_tail)


def edit_clip(source: Path, options: MakeOptions, output: Path, *, overwrite: bool = False,
              progress: Progress | None = None, write_sidecar: bool = True) -> ClipResult:
    """Run the post stages (loop, upscale, captions, audio, encode) on an existing video."""
    from shortgen.encode import encode_clip
    from shortgen.metadata import write_sidecar as write_meta
    from shortgen.publish.conform import conform_source
    from shortgen.publish.finish import edit_publish
    from shortgen.restyle import restyle_prompt

    progress = progress or Progress()
    preset = resolve_preset(options)
    prompt = restyle_prompt(options)
    stages = build_post_stages(preset, options)
    check_outputs(output, options, overwrite, write_sidecar)
    if output.resolve() == source.resolve():
        raise UsageError("the output would replace the input", "write to another -o path")
    publish = edit_publish(options, source, output, progress)
    # The first stage resizes straight from the decoder's YUV frames when it can (no RGB round trip).
    clip = conform_source(source, options, preset, progress, yuv=prompt is None and takes_yuv(stages))
    audio = _audio_spec(options, preset, clip.audio if isinstance(clip.audio, AudioSpec) else None)
    timings = Timings()
    clip = clip.with_frames(timings.timed("decode", clip.frames), audio=audio)
    backend, seed = None, None
    if prompt is not None:  # issue 12: --restyle re-renders the frames through the generator first
        seed = options.seed if options.seed is not None else DEFAULT_SEED
        clip, backend = _restyled(clip, options, preset, prompt, seed, progress, timings)
    return _finish(clip, stages, output, preset, overwrite, progress, timings, write_sidecar, write_meta,
                   encode_clip, seed=seed, plan=None, backend=backend, source=source, publish=publish)


def _restyled(clip: Clip, options: MakeOptions, preset: Preset, prompt: str, seed: int, progress: Progress,
              timings: Timings) -> tuple[Clip, GeneratorBackend]:
    from shortgen.restyle import plan_restyle, restyled_frames

    plan = plan_restyle(clip, preset, prompt)
    started = time.perf_counter()
    backend = load_generator(preset, options, progress)
    timings.add("load", time.perf_counter() - started)
    frames = restyled_frames(clip, plan, backend, options, preset, seed)
    return Clip(plan.width, plan.height, clip.fps, clip.num_frames, timings.timed("generate", frames),
                audio=clip.audio, info=clip.info), backend


PREVIEW_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp")


def preview_frame(source: Path, options: MakeOptions, seconds: float, output: Path, *, overwrite: bool = False,
                  progress: Progress | None = None) -> dict[str, Any]:
    """Write the frame shown at ``seconds`` after the post stages (captions included) as an image.

    Frames stream through the stages up to the one wanted; nothing is encoded. The image appears at
    ``output`` only when complete.
    """
    from PIL import Image

    from shortgen.atomic import atomic_output, check_output_path
    from shortgen.media import open_video
    from shortgen.overlay import to_rgb

    progress = progress or Progress()
    if output.suffix.lower() not in PREVIEW_SUFFIXES:
        raise UsageError(f"--preview writes an image, not '{output.suffix or output.name}'",
                         "pass -o frame.png")
    preset = resolve_preset(options)
    stages = build_post_stages(preset, options)
    check_output_path(output, overwrite)
    clip = open_video(source, constant_fps=as_fraction(options.fps or preset.output.fps))
    for stage in stages:
        clip = stage.apply(clip)
    for message in clip.info.get("warnings", []):
        progress.warn(message)
    index = int(seconds * clip.fps + 1e-9)
    if seconds < 0 or index >= clip.num_frames:
        raise UsageError(f"--preview {seconds:g} is outside the clip (0 to {clip.duration:.2f} s)",
                         "give a time within it")
    frames = iter(clip.frames)
    try:
        frame = next(f for i, f in enumerate(frames) if i == index)
    except StopIteration:
        raise MediaError(f"{source} ended before {seconds:g} s") from None
    finally:
        close = getattr(frames, "close", None)
        if close is not None:
            close()
    with atomic_output(output, overwrite=overwrite) as tmp:
        Image.fromarray(to_rgb(frame)).save(tmp, format=Image.registered_extensions()[output.suffix.lower()])
    return {"output": str(output), "time": index / float(clip.fps), "frame": index, "width": clip.width,
            "height": clip.height, "info": {k: v for k, v in clip.info.items() if k != "soft_subtitles"}}


def post_process(clip: Clip, options: MakeOptions, output: Path, *, overwrite: bool = False,
                 progress: Progress | None = None) -> ClipResult:
    """Run the post stages and the encoder on any clip (frames from memory, a file, a generator)."""
    from shortgen.encode import encode_clip
    from shortgen.publish.finish import publish_settings

    preset = resolve_preset(options)
    stages = build_post_stages(preset, options)
    if options.sign:
        raise UsageError("post_process cannot sign: it does not know where the frames came from",
                         "sign with make_clip or edit_clip")
    return _finish(clip, stages, output, preset, overwrite, progress or Progress(), Timings(), False, None,
                   encode_clip, seed=None, plan=None, backend=None, publish=publish_settings(options))


def _finish(clip: Clip, stages: list[Stage], output: Path, preset: Preset, overwrite: bool,
            progress: Progress, timings: Timings, write_sidecar: bool, write_meta: Any, encode_clip: Any,
            *, seed: int | None, plan: MakePlan | None, backend: GeneratorBackend | None,
            source: Path | None = None, publish: Publish | None = None) -> ClipResult:
    """Encode the clip and write its ``.srt`` and sidecar to temp names, then rename them into place
    together: a failure at any step (or a signal) leaves none of them, and no temp file."""
    from shortgen.atomic import staged_outputs, write_text
    from shortgen.metadata import sidecar_path
    from shortgen.publish.finish import Publish, publish_file
    from shortgen.subtitles import check_srt_path, srt_text

    for stage in stages:
        clip = stage.apply(clip)
        clip = clip.with_frames(timings.timed(stage.key, clip.frames))
    info = dict(clip.info)
    for message in info.get("warnings", []):  # stages report what they changed (e.g. captions trimmed)
        progress.warn(message)
    soft_cues = info.pop("soft_subtitles", None)  # the captions stage's cues for a mov_text track + .srt
    srt = check_srt_path(output, overwrite, info.get("captions", {}).get("file")) if soft_cues else None
    with staged_outputs(overwrite=overwrite) as staged:
        staged_clip = staged.add(output)
        before_encode = time.perf_counter()
        encoded = encode_clip(clip, staged_clip, preset.encoder, overwrite=True, progress=progress,
                              subtitles=soft_cues)
        upstream = timings.inclusive[timings.order[-1]] if timings.order else 0.0
        timings.add("encode", time.perf_counter() - before_encode - upstream)
        check, credentials = publish_file(staged_clip, output, preset=preset, publish=publish or Publish(),
                                          progress=progress)  # publish: check, then sign, before the commit
        # What stages learned while the frames streamed (the loop's seam score; damaged source frames replaced).
        late_warnings = list(clip.facts.get("warnings", {}).values())
        for message in late_warnings:
            progress.warn(message)
        info.update({k: v for k, v in clip.facts.items() if k != "warnings"})
        if late_warnings:
            info["warnings"] = [*info.get("warnings", []), *late_warnings]
        if "seam_score" in info:
            _measure_encoded_seam(staged_clip, info, timings)
        result = ClipResult(
            output=output, sidecar=None, width=clip.width, height=clip.height, fps=float(clip.fps),
            frames=encoded.frames, duration=encoded.duration, seed=seed, size_bytes=staged_clip.stat().st_size,
            timings=timings.exclusive(), plan=plan.to_dict() if plan else None, info=info,
            check=check, credentials=credentials,
        )
        if srt is not None:
            write_text(staged.add(srt), srt_text(soft_cues), shown_as=srt)
            info["subtitles_file"] = str(srt)
        if write_sidecar:
            side = sidecar_path(output)
            write_meta(result, preset=preset, plan=plan, backend=backend, source=source, path=staged.add(side))
            result.sidecar = side
        staged.commit()
    return result


def _measure_encoded_seam(path: Path, info: dict[str, Any], timings: Timings) -> None:
    """The seam score of the file as encoded, measured as ``shortgen inspect`` measures it, so the sidecar
    and inspect agree; the score of the frames before upscale, captions and encoding is kept beside it."""
    from shortgen.inspect import measure_seam

    started = time.perf_counter()
    _, score = measure_seam(path)
    timings.add("seam", time.perf_counter() - started)
    info["seam_score_before_encode"] = info["seam_score"]
    info["seam_score"] = None if score is None else round(score, 4)


__all__ = ["ClipResult", "MakePlan", "edit_clip", "make_clip", "plan_make", "post_process", "preview_frame",
           "run_stages"]
