"""``edit``: the post stages on an existing video, optionally re-rendered through the generator first
(``--restyle``)."""

from __future__ import annotations

import time
from pathlib import Path

from shortgen.backends import GeneratorBackend
from shortgen.config import MakeOptions, Preset
from shortgen.errors import UsageError
from shortgen.frames import AudioSpec, Clip
from shortgen.pipeline.finish import ClipResult, finish_clip
from shortgen.pipeline.make import load_generator
from shortgen.pipeline.plan import DEFAULT_SEED, audio_mix, build_post_stages, check_outputs, resolve_preset
from shortgen.progress import Progress
from shortgen.stages import takes_yuv
from shortgen.timing import Timings


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
    seed = None if prompt is None else options.seed if options.seed is not None else DEFAULT_SEED
    publish = edit_publish(options, preset, seed, source, output, progress)
    # The first stage resizes straight from the decoder's YUV frames when it can (no RGB round trip).
    clip = conform_source(source, options, preset, progress, yuv=prompt is None and takes_yuv(stages))
    audio = audio_mix(options, preset, clip.audio if isinstance(clip.audio, AudioSpec) else None)
    timings = Timings()
    clip = clip.with_frames(timings.timed("decode", clip.frames), audio=audio)
    backend = None
    if prompt is not None and seed is not None:  # issue 12: --restyle re-renders the frames through the generator
        clip, backend = _restyled(clip, options, preset, prompt, seed, progress, timings)
    return finish_clip(clip, stages, output, preset, overwrite, progress, timings, write_sidecar, write_meta,
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
