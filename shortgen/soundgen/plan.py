"""What ``--sound`` will generate, worked out without torch: the prompt, the model, the windows, and the one
place generated sound is handed to the encoder.

A text-to-audio model makes at most ``window`` seconds per call (Stable Audio Open: 47.5 s). A longer clip is
covered by the fewest windows of one balanced length that overlap by ``crossfade`` seconds; each window gets its
own derived seed, and neighbours are joined with an equal-power crossfade over the overlap, so there is no click
or gap at a join. The joined track is cut to exactly the clip's sample count.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from shortgen.errors import UsageError

if TYPE_CHECKING:
    import numpy as np

    from shortgen.config import MakeOptions
    from shortgen.frames import AudioBuffer
    from shortgen.soundgen.buffer import GeneratedAudio

DEFAULT_SOUND_MODEL = "stabilityai/stable-audio-open-1.0"
DEFAULT_SOUND_STEPS = 100  # the model card's recommendation for Stable Audio Open 1.0
DEFAULT_SOUND_GUIDANCE = 7.0
DEFAULT_SOUND_NEGATIVE = "Low quality."
MAX_CROSSFADE_SECONDS = 2.0
WINDOW_SEED_STEP = 1_000_003  # as the video chain derives segment seeds


@dataclass(frozen=True)
class SoundRequest:
    prompt: str
    model: str
    seconds: float
    seed: int
    steps: int | None = None  # None: the model's default (the tiny model's marker, else DEFAULT_SOUND_STEPS)
    guidance_scale: float = DEFAULT_SOUND_GUIDANCE
    negative_prompt: str = DEFAULT_SOUND_NEGATIVE

    def describe(self) -> dict[str, Any]:
        return {"prompt": self.prompt, "model": self.model, "seed": self.seed, "steps": self.steps,
                "guidance_scale": self.guidance_scale, "negative_prompt": self.negative_prompt,
                "seconds": self.seconds}


@dataclass(frozen=True)
class Window:
    index: int
    start: int  # first sample in the track
    length: int  # samples this call makes
    overlap: int  # leading samples shared with the previous window (0 for the first)
    seed: int


def sound_prompt(sound: str | None, prompts: list[str]) -> str | None:
    """``--sound TEXT`` → TEXT; ``--sound auto`` → the clip's prompt (storyboard beats joined); None → no sound."""
    if sound is None:
        return None
    text = sound.strip()
    if not text:
        raise UsageError("--sound is empty", 'describe the sound, e.g. --sound "rain, distant thunder", '
                         "or pass --sound auto to use the clip's prompt")
    if text.lower() == "auto":
        return ", ".join(p for p in prompts if p.strip()) or None
    return text


def check_sound_options(options: MakeOptions, prompts: list[str], backend: str) -> None:
    """Bad ``--sound`` input is a one-line :class:`UsageError` before anything loads."""
    if options.sound is None:
        if options.sound_model or options.sound_steps:
            raise UsageError("--sound-model / --sound-steps need --sound", 'add --sound "TEXT" or --sound auto')
        return
    sound_prompt(options.sound, prompts)
    if backend == "ltx2":
        raise UsageError("the ltx2 backend makes its own sound; --sound is for video-only backends",
                         "drop --sound, or use --backend ltx")
    model = options.sound_model or DEFAULT_SOUND_MODEL
    if (model.startswith(("/", "./", "../", "~")) or "\\" in model) and not Path(model).expanduser().is_dir():
        raise UsageError(f"sound model folder {model} does not exist",
                         "build one with `shortgen models tiny-sound DIR`, or pass a Hub id")


def sound_request(options: MakeOptions, prompts: list[str], seconds: float, seed: int) -> SoundRequest | None:
    text = sound_prompt(options.sound, prompts)
    if text is None:
        return None
    return SoundRequest(prompt=text, model=options.sound_model or DEFAULT_SOUND_MODEL, seconds=seconds, seed=seed,
                        steps=options.sound_steps)


def sound_plan(options: MakeOptions, prompts: list[str]) -> dict[str, Any] | None:
    """What ``--dry-run`` shows about ``--sound``."""
    text = sound_prompt(options.sound, prompts)
    if text is None:
        return None
    return {"prompt": text, "model": options.sound_model or DEFAULT_SOUND_MODEL, "steps": options.sound_steps}


def plan_windows(total: int, window: int, crossfade: int, seed: int) -> list[Window]:
    """Fewest windows of at most ``window`` samples that cover ``total`` with ``crossfade`` samples of overlap."""
    if total <= window:
        return [Window(0, 0, total, 0, seed)]
    crossfade = min(crossfade, window // 2)
    count = 2
    while count * window - (count - 1) * crossfade < total:
        count += 1
    each = -(-(total + (count - 1) * crossfade) // count)
    windows, start = [], 0
    for i in range(count):
        length = min(each, total - start + (crossfade if i else 0))
        begin = start - (crossfade if i else 0)
        windows.append(Window(i, begin, length, crossfade if i else 0, seed + WINDOW_SEED_STEP * i))
        start = begin + length
    return windows


def crossfade_samples(window_seconds: float, sample_rate: int) -> int:
    return round(min(MAX_CROSSFADE_SECONDS, window_seconds / 4) * sample_rate)


def join_windows(pieces: list[tuple[Window, np.ndarray]], total: int) -> np.ndarray:
    """The windows' audio (``(2, n)`` each) joined with equal-power crossfades, ``total`` samples long."""
    import numpy as np

    from shortgen.soundgen.buffer import equal_power_crossfade, fit_length

    track = np.zeros((2, total), dtype=np.float32)
    for window, samples in pieces:
        samples = fit_length(samples, window.length)
        if window.overlap:
            end = window.start + window.overlap
            track[:, window.start:end] = equal_power_crossfade(track[:, window.start:end], samples[:, :window.overlap])
            samples = samples[:, window.overlap:]
            track[:, end:end + samples.shape[1]] = samples
        else:
            track[:, window.start:window.start + samples.shape[1]] = samples
    return track


def generated_audio(track: GeneratedAudio, facts: dict[str, Any]) -> AudioBuffer:
    """THE hand-off of generated sound to the mixer (:mod:`shortgen.audio`): an :class:`AudioBuffer` reading
    ``track``. ``track.samples`` is passed as a callable, so sound a backend makes along with the frames is taken
    after the last frame; a finished ``--sound`` bed is read the same way. ``facts`` go to the sidecar."""
    from shortgen.frames import AudioBuffer

    return AudioBuffer(samples=track.samples, sample_rate=track.sample_rate, label=track.description, info=facts)
