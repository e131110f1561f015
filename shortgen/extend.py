"""``make --extend CLIP``: a new clip that continues an existing one.

The first generated segment is conditioned on CLIP's last ``k`` frames at its frame 0 (the mechanism chaining
uses between segments), so it starts where CLIP ends. The output is CLIP's frames, then the new ones: CLIP's
last ``k`` frames are crossfaded into the first ``k`` generated frames (which re-create them), exactly as chained
segments are joined, so there is neither a jump nor a repeated frame. ``--duration`` is the total; the new
frames are colour matched to CLIP's tail. Everything streams: CLIP is decoded twice (once for its tail, once to
emit it), never held whole.

CLIP's frames are brought to the generation size (cover-crop + Lanczos) so the whole stream has one size, and
then go through the post path (upscale, captions, encode) like the new frames; with ``--upscale latent`` that
size is the full one (1088x1920), so a 1080x1920 CLIP loses nothing visible.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING, Any

from shortgen.errors import MediaError, ShortgenError, UsageError

if TYPE_CHECKING:
    import numpy as np

    from shortgen.backends.base import FrameCondition
    from shortgen.config import MakeOptions, Preset
    from shortgen.frames import Clip

DEFAULT_CONDITION_FRAMES = 9


@dataclass(frozen=True)
class ExtendPlan:
    source: Path
    source_frames: int  # CLIP's frames at the output rate
    condition_frames: int  # CLIP's last frames the first segment continues from (and crossfades with)

    @property
    def kept_frames(self) -> int:
        """CLIP's frames emitted as they are, before the crossfade."""
        return self.source_frames - self.condition_frames

    def to_dict(self) -> dict[str, Any]:
        return {"source": str(self.source), "source_frames": self.source_frames,
                "condition_frames": self.condition_frames}


def plan_extend(options: MakeOptions, preset: Preset, total_frames: int) -> ExtendPlan:
    """Check CLIP (exists, readable, at the output rate, long enough) and how much is generated; no torch."""
    assert options.extend is not None
    source = Path(options.extend)
    clip = _open(source, preset.output.fps)
    overlap = preset.generation.overlap_frames
    condition = overlap if overlap > 0 else DEFAULT_CONDITION_FRAMES
    if clip.num_frames < condition:
        raise UsageError(f"{source} has {clip.num_frames} frames; extending it needs at least the {condition} "
                         "frames the new part continues from", "extend a longer clip")
    if total_frames <= clip.num_frames:
        seconds = clip.num_frames / preset.output.fps
        raise UsageError(f"--duration is the total length and must be longer than {source.name} ({seconds:.2f} s)",
                         f"pass --duration above {seconds:.2f}")
    return ExtendPlan(source, clip.num_frames, condition)


def _open(source: Path, fps: int) -> Any:
    from shortgen.media import open_video
    from shortgen.paths import check_input_file

    check_input_file(source, "--extend clip", "check the path")
    try:
        clip = open_video(source, constant_fps=Fraction(fps))
    except ShortgenError:
        raise
    except Exception as err:  # PyAV raises many types for a file it cannot parse
        raise MediaError(f"cannot read {source} to extend it: {str(err).splitlines()[0]}",
                         "give an MP4/MOV/WebM video") from None
    if clip.fps != Fraction(fps):
        raise UsageError(f"{source} is {float(clip.fps):g} fps and the output {fps} fps; extending keeps the rate",
                         f"pass --fps {float(clip.fps):g} (or a preset at that rate)")
    return clip


def source_frames(plan: ExtendPlan, fps: int, width: int, height: int) -> Iterator[np.ndarray]:
    """CLIP's frames, decoded one by one and fitted to ``width``x``height``."""
    from av.video.reformatter import VideoReformatter

    from shortgen.stages.upscale import resize_frame

    reformatter = VideoReformatter()
    for frame in _open(plan.source, fps).frames:
        yield resize_frame(frame, width, height, "lanczos", "rgb24", reformatter)


def source_tail(plan: ExtendPlan, fps: int, width: int, height: int) -> np.ndarray:
    """CLIP's last ``condition_frames`` frames at the generation size: the first segment's condition."""
    import numpy as np

    tail = deque(source_frames(plan, fps, width, height), maxlen=plan.condition_frames)
    if len(tail) < plan.condition_frames:
        raise MediaError(f"{plan.source} decoded to {len(tail)} frames, fewer than the {plan.condition_frames} "
                         "it was probed with")
    return np.stack(tail)


def opening_condition(plan: ExtendPlan, fps: int, width: int, height: int, *, image: bool,
                      loop_mode: str) -> tuple[np.ndarray, FrameCondition]:
    """CLIP's last frames at the generation size, and the first segment's condition built from them."""
    from shortgen.backends.base import FrameCondition

    if image:
        raise UsageError("--image and --extend both give the clip's start", "pass one of them")
    if loop_mode == "seamless":
        raise UsageError("--loop seamless cannot close a loop over an extended clip",
                         "use --loop crossfade or pingpong, or no loop")
    tail = source_tail(plan, fps, width, height)
    return tail, FrameCondition(frames=tail, frame_index=0, strength=1.0)


def extended_clip(clip: Clip, plan: ExtendPlan, fps: int, tail: np.ndarray) -> Clip:
    """``clip`` (the generated frames) with CLIP in front, joined as :func:`extended_stream` joins them."""
    frames = extended_stream(plan, fps, clip.width, clip.height, tail, clip.frames)
    return clip.with_frames(frames, num_frames=clip.num_frames + plan.kept_frames)


def extended_stream(plan: ExtendPlan, fps: int, width: int, height: int, tail: np.ndarray,
                    generated: Iterable[np.ndarray], chunk: int = 16) -> Iterator[np.ndarray]:
    """CLIP's first ``kept_frames`` frames, then ``tail`` crossfaded into the first generated frames, then the
    rest. The generated frames are colour matched to ``tail`` by one map, taken from the first ``k`` of them
    (which re-create the tail), so the correction is the same for every frame: no flicker between chunks."""
    import itertools

    import numpy as np

    from shortgen.chain import _crossfade
    from shortgen.colour import apply_tables, colour_stats, matching_tables

    yield from itertools.islice(source_frames(plan, fps, width, height), plan.kept_frames)
    frames = iter(generated)
    head = np.stack(list(itertools.islice(frames, plan.condition_frames)))
    tables = matching_tables(colour_stats(head), colour_stats(tail))
    yield from _crossfade(tail, apply_tables(head, tables))
    while batch := list(itertools.islice(frames, chunk)):
        yield from apply_tables(np.stack(batch), tables)
