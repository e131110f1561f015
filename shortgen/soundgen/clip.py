"""Where ``make`` meets generated sound: the ``--sound`` bed made before the video model loads, and the joining
of a sound-making backend's segments (LTX-2) into the track the encoder reads. Torch-free; ``make`` calls these."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from shortgen.backends.base import GeneratorBackend
    from shortgen.chain import AudioStitcher
    from shortgen.frames import AudioMix
    from shortgen.pipeline import MakePlan
    from shortgen.progress import Progress
    from shortgen.soundgen.buffer import GeneratedAudio
    from shortgen.timing import Timings


def sound_bed(plan: MakePlan, audio: AudioMix | None, progress: Progress,
              timings: Timings) -> tuple[AudioMix | None, dict[str, Any] | None]:
    """``--sound``: the whole bed made by the text-to-audio model (then freed), laid under the clip's sound."""
    from shortgen.audio.plan import with_bed
    from shortgen.soundgen.plan import generated_audio, sound_request

    request = sound_request(plan.options, plan.prompts, plan.segments.total_frames / plan.segments.fps, plan.seed)
    if request is None:
        return audio, None
    from shortgen.soundgen.stable_audio import generate_sound

    started = time.perf_counter()
    gen = plan.preset.generation
    track, facts = generate_sound(request, device=gen.device, dtype=gen.dtype, progress=progress)
    timings.add("sound", time.perf_counter() - started)
    return with_bed(audio, generated_audio(track, facts), plan.preset.audio), facts


def backend_sound(plan: MakePlan, backend: GeneratorBackend, audio: AudioMix | None,
                  progress: Progress) -> tuple[GeneratedAudio | None, AudioStitcher | None, AudioMix | None,
                                           dict[str, Any] | None]:
    """For a backend that makes sound with the picture: the track its segments' sound is joined into, the
    joiner, the clip's sound (the model's as the clip's own, under ``--music``/``--voice``; ``--audio FILE``
    replaces it, ``--audio none`` drops it) and the sidecar facts. (None, None, audio, None) otherwise."""
    from shortgen.audio.plan import clip_audio, drops_audio
    from shortgen.backends.base import sound_backend

    sounding = sound_backend(backend)
    options = plan.options
    if sounding is None or drops_audio(options.audio):
        return None, None, audio, None
    if options.audio:
        progress.warn(f"--audio replaces the sound the {backend.name} backend makes")
        return None, None, audio, None
    from shortgen.chain import AudioStitcher
    from shortgen.soundgen.buffer import GeneratedAudio
    from shortgen.soundgen.plan import generated_audio

    track = GeneratedAudio(sounding.audio_sample_rate, description=f"the {backend.name} model's sound")
    stitcher = AudioStitcher(plan.segments, sounding.audio_sample_rate, track.append)
    facts = {"source": f"{backend.name} backend", "sample_rate": sounding.audio_sample_rate, "seed": plan.seed,
             "segment_spans": stitcher.spans}
    bed = audio.bed if audio is not None else None
    return track, stitcher, clip_audio(options, plan.preset.audio, own=generated_audio(track, facts), bed=bed), facts


def finishing(frames: Iterator[Any], track: GeneratedAudio) -> Iterator[Any]:
    """``frames``, then mark ``track`` complete, also when generation fails."""
    try:
        yield from frames
    finally:
        track.finish()
