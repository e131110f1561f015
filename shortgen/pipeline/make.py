"""``make``: load the generator, stream the planned segments through it (optionally decoding one segment
while the next denoises) and hand the generated clip to :func:`~shortgen.pipeline.finish.finish_clip`."""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from shortgen.backends import GeneratorBackend, LoadOptions, load_backend
from shortgen.backends.base import FrameCondition
from shortgen.chain import GenerationSettings, segment_requests
from shortgen.config import MakeOptions, Preset
from shortgen.frames import AudioMix, Clip, as_fraction
from shortgen.pipeline.finish import ClipResult, finish_clip
from shortgen.pipeline.plan import (
    MakePlan,
    audio_mix,
    build_post_stages,
    check_outputs,
    plan_for_stages,
    requested_frames,
    resolve_preset,
)
from shortgen.progress import Progress
from shortgen.timing import Timings

if TYPE_CHECKING:
    from collections.abc import Iterator

    import numpy as np

    from shortgen.backends.base import SegmentRequest
    from shortgen.chain import SplitModel


def load_generator(preset: Preset, options: MakeOptions, progress: Progress) -> GeneratorBackend:
    """The preset's model with its speed options (make, ``edit --restyle`` and batch load through here)."""
    gen = preset.generation
    extra: dict[str, Any] = {"attention_backend": gen.attention_backend} if gen.attention_backend else {}
    if options.upscale == "latent":  # issue 12: load the latent upsampler too ("auto": find it)
        extra["latent_upsampler"] = options.upsampler or "auto"
    load = LoadOptions(model=gen.model, device=gen.device, dtype=gen.dtype, low_memory=gen.low_memory,
                       revision=options.revision, compile=gen.compile, fp8=gen.fp8, vae_tiling=gen.vae_tiling,
                       extra=extra)
    return load_backend(gen.backend, load, progress)


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
    audio = audio_mix(options, preset)
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
    return finish_clip(clip, stages, plan.output, preset, overwrite, progress, timings, write_sidecar,
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
        from shortgen.stages.loop_close import condition_starts, seamless_chain_options

        loop_options = seamless_chain_options(plan.segments, round(plan.duration * plan.preset.output.fps),
                                              progress.warn, lead=plan.loop_lead,
                                              placeable=condition_starts(gen.backend))
    split = _decode_ahead_model(backend, progress, timings, count) if gen.decode_ahead and not stitcher else None
    if gen.decode_ahead and stitcher is not None:
        progress.warn(f"--decode-ahead is off: the {backend.name} backend decodes picture and sound in one call")
    if split is not None:
        frames = stream_segments_ahead(plan.segments, requests, split, first_conditions=first, **loop_options)
    else:
        frames = stream_segments(plan.segments, requests, generate, first_conditions=first, **loop_options)
    if track is not None:
        frames = finishing(frames, track)
    if plan.loop_lead:  # --loop seamless: the frames before the loop's first one (see MakePlan.loop_lead)
        frames, audio = _drop_lead(plan, frames, audio, own_sound=track is not None, progress=progress)
    if overlap:
        frames = prefetch(frames, maxsize=max(s.num_frames for s in plan.segments.segments))
    fps = as_fraction(plan.preset.output.fps)
    return Clip(plan.segments.width, plan.segments.height, fps, plan.segments.total_frames - plan.loop_lead,
                timings.timed("generate", frames), audio=audio, info={"sound": sound} if sound else {})


def _drop_lead(plan: MakePlan, frames: Iterator[Any], audio: AudioMix | None, *, own_sound: bool,
               progress: Progress) -> tuple[Iterator[Any], AudioMix | None]:
    """The stream without its first ``plan.loop_lead`` frames; the backend's own sound, made with them, starts
    as much later so it stays in sync (files given with ``--audio``/``--music`` start with the clip)."""
    from dataclasses import replace
    from itertools import islice

    from shortgen.frames import AudioBuffer

    lead = plan.loop_lead
    if plan.options.image:
        progress.warn(f"the seamless loop starts {lead} frame(s) after --image: {plan.preset.generation.backend} "
                      "can close it only on a frame 8j+1 of the last segment")
    if own_sound and audio is not None and isinstance(audio.source, AudioBuffer):
        audio = replace(audio, source=replace(audio.source, start=float(lead / as_fraction(plan.segments.fps))))
    return islice(frames, lead, None), audio


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
