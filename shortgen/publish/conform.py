"""``edit``'s source, conformed to the preset: its frame rate, and a ``--trim`` / ``--duration`` window.

A constant-rate source at another rate is resampled by nearest timestamp (as variable-rate phone video
already is); ``--trim START[:END]`` and ``--duration S`` cut a window, with the audio following; a result
outside the preset's duration range is a warning naming the flags that conform it.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import replace
from pathlib import Path

from shortgen.config import MakeOptions, Preset
from shortgen.errors import UsageError
from shortgen.frames import Clip, as_fraction
from shortgen.progress import Progress


def parse_trim(text: str) -> tuple[float, float | None]:
    """``"2.5"`` → (2.5, None); ``"2.5:12"`` → (2.5, 12.0); ``":12"`` → (0, 12.0)."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)?\s*(?::\s*(\d+(?:\.\d+)?)?)?\s*", text)
    if not match or not (match[1] or match[2]):
        raise UsageError(f"--trim {text!r} is not START[:END] in seconds", "e.g. --trim 2.5:14")
    start = float(match[1] or 0)
    end = float(match[2]) if match[2] else None
    if end is not None and end <= start:
        raise UsageError(f"--trim {text}: the end must come after the start")
    return start, end


def conform_source(source: Path, options: MakeOptions, preset: Preset, progress: Progress, *,
                   yuv: bool = False) -> Clip:
    """``yuv``: frames as the decoder's yuv420p ``av.VideoFrame``s (for a first stage that takes them)."""
    from shortgen.media import open_video

    fps = as_fraction(options.fps or preset.output.fps)
    clip = open_video(source, constant_fps=fps, convert_fps=True, yuv=yuv)
    if "converted_frame_rate" in clip.info:
        progress.warn(f"{source.name} is {clip.info['converted_frame_rate']:.4g} fps; converted to {float(fps):g} fps "
                      "(frames repeated or dropped by timestamp)")
    clip = _window(clip, options, source)
    spec = preset.duration
    if not spec.min <= clip.duration <= spec.max:
        progress.warn(f"{source.name} runs {clip.duration:.2f} s, outside the {preset.name} preset's "
                      f"{spec.min:g}-{spec.max:g} s; conform it with --trim START:END or --duration S")
    return clip


def _window(clip: Clip, options: MakeOptions, source: Path) -> Clip:
    start, end = parse_trim(options.trim) if options.trim else (0.0, None)
    if options.duration is not None:
        end = start + options.duration if end is None else min(end, start + options.duration)
    if start == 0 and end is None:
        return clip
    if start >= clip.duration:
        raise UsageError(f"--trim starts at {start:g} s but {source.name} runs {clip.duration:.2f} s")
    first = round(start * clip.fps)
    last = clip.num_frames if end is None else min(clip.num_frames, round(end * clip.fps))
    audio = replace(clip.audio, start=clip.audio.start + first / clip.fps) if clip.audio else None
    info = {**clip.info, "trim": [round(first / float(clip.fps), 3), round(last / float(clip.fps), 3)]}
    frames = itertools.islice(clip.frames, first, last)
    return clip.with_frames(frames, num_frames=last - first, audio=audio, info=info)
