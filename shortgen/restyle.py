"""``edit --restyle PROMPT --strength S``: video-to-video through the generator.

The input is cut into the same overlapping segments ``make`` chains. Each segment's input frames (fitted to the
generation size) travel with its request as ``extra["video"]``; the backend VAE-encodes them and re-denoises
from strength ``S`` with the prompt (``extra["denoise_strength"]``: LTX counts it in steps). Segments after the
first are also conditioned on the restyled tail of the one before and crossfaded over it, exactly as ``make``
joins segments, so the style does not jump at the joins. The input is read once, front to back, holding one
segment's frames at a time.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from shortgen.errors import UsageError

if TYPE_CHECKING:
    import numpy as np

    from shortgen.backends.base import GeneratorBackend, SegmentRequest
    from shortgen.chain import SegmentPlan
    from shortgen.config import MakeOptions, Preset
    from shortgen.frames import Clip

DEFAULT_STRENGTH = 0.6


def restyle_prompt(options: MakeOptions) -> str | None:
    """The ``--restyle`` prompt, checked (with ``--strength``), or None when not restyling; torch-free."""
    if options.restyle is None:
        if options.strength is not None:
            raise UsageError("--strength only acts with --restyle PROMPT")
        return None
    prompt = options.restyle.strip()
    if not prompt:
        raise UsageError("--restyle needs a prompt", 'e.g. --restyle "the same street as a watercolour painting"')
    return prompt


def plan_restyle(source: Clip, preset: Preset, prompt: str) -> SegmentPlan:
    from shortgen.backends import get_backend_info
    from shortgen.chain import plan_segments

    gen = preset.generation
    return plan_segments(source.num_frames, rules=get_backend_info(gen.backend).rules,
                         segment_frames=gen.segment_frames, overlap=gen.overlap_frames, prompts=[prompt],
                         width=gen.width, height=gen.height, fps=float(source.fps))


class SegmentSource:
    """Hands out each segment's input frames in order, reading ``frames`` once; frames past the input's end
    repeat its last frame (segments round up to the model's frame rule)."""

    def __init__(self, plan: SegmentPlan, frames: Iterator[np.ndarray]) -> None:
        self.plan = plan
        self.frames = frames
        self.window: list[np.ndarray] = []
        self.window_start = 0
        self.last: np.ndarray | None = None

    def for_segment(self, index: int) -> np.ndarray:
        import numpy as np

        segment = self.plan.segments[index]
        start, end = segment.start, segment.start + segment.num_frames
        drop = start - self.window_start
        self.window, self.window_start = self.window[drop:], start
        while self.window_start + len(self.window) < end:
            frame = next(self.frames, None)
            if frame is None:
                if self.last is None:
                    raise UsageError("the input has no frames to restyle")
                frame = self.last
            self.last = frame
            self.window.append(frame)
        return np.stack(self.window[: end - start])


def restyled_frames(source: Clip, plan: SegmentPlan, backend: GeneratorBackend, options: MakeOptions,
                    preset: Preset, seed: int, on_request: Any = None) -> Iterator[np.ndarray]:
    """The restyled clip's frames (``source.num_frames`` of them, at the generation size)."""
    from av.video.reformatter import VideoReformatter

    from shortgen.chain import GenerationSettings, segment_requests, stream_segments
    from shortgen.stages.upscale import resize_frame

    gen = preset.generation
    strength = options.strength if options.strength is not None else DEFAULT_STRENGTH
    settings = GenerationSettings(negative_prompt=gen.negative_prompt, steps=gen.steps,
                                  guidance_scale=gen.guidance_scale, seed=seed)
    reformatter = VideoReformatter()
    fitted = (resize_frame(f, plan.width, plan.height, "lanczos", "rgb24", reformatter) for f in source.frames)
    inputs = SegmentSource(plan, fitted)

    def generate(request: SegmentRequest) -> np.ndarray:
        video = inputs.for_segment(request.index)
        request = replace(request, extra={**request.extra, "video": video, "denoise_strength": strength})
        if on_request is not None:
            on_request(request)
        return backend.generate(request)

    return stream_segments(plan, segment_requests(plan, settings), generate)
