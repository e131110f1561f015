"""Loop seam score: how visible the jump from a clip's last frame back to its first frame is.

``score = mean|last - first| / median(mean|frame[i+1] - frame[i]|)`` over the clip's own steps.
A perfect loop scores about 1 (its seam is one ordinary step); at 1.5 or below a loop looks seamless.
The meter streams: it keeps the first frame, the previous frame and one float per step, never the clip.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np
    from PIL import Image

SEAMLESS_THRESHOLD = 1.5
# A still clip's steps are ~0; measure its seam against half a grey level instead, so encoder noise
# on a frozen picture does not turn a clean seam into a huge score.
MIN_STEP = 0.5


def frame_difference(a: np.ndarray, b: np.ndarray) -> float:
    """Mean absolute difference of two uint8 frames, in grey levels (0-255)."""
    import numpy as np

    return float(np.abs(a.astype(np.int16) - b.astype(np.int16)).mean())


def image_difference(a: Image.Image, b: Image.Image) -> float:
    """:func:`frame_difference` for two RGB Pillow images, without importing numpy (``inspect`` starts faster)."""
    from PIL import ImageChops, ImageStat

    means = ImageStat.Stat(ImageChops.difference(a, b)).mean
    return sum(means) / len(means)


def seam_ratio(seam: float, steps: list[float]) -> float | None:
    """The seam difference over the median step; ``None`` when the clip has fewer than two frames."""
    if not steps:
        return None
    return seam / max(statistics.median(steps), MIN_STEP)


class SeamMeter:
    """Feed frames in order with :meth:`add`; :meth:`score` gives the seam score of what was fed.

    Frames are numpy arrays, or Pillow images with ``difference=image_difference``.
    """

    def __init__(self, difference: Callable[[Any, Any], float] = frame_difference) -> None:
        self.difference = difference
        self.first: Any = None
        self.previous: Any = None
        self.steps: list[float] = []

    @property
    def frames(self) -> int:
        return 0 if self.first is None else len(self.steps) + 1

    def add(self, frame: Any) -> None:
        if self.first is None:
            self.first = frame.copy()
        else:
            self.steps.append(self.difference(self.previous, frame))
        self.previous = frame

    def seam_difference(self) -> float | None:
        if self.first is None or not self.steps:
            return None
        return self.difference(self.previous, self.first)

    def score(self) -> float | None:
        seam = self.seam_difference()
        return None if seam is None else seam_ratio(seam, self.steps)

    def median_step(self) -> float | None:
        return statistics.median(self.steps) if self.steps else None


def measured(frames: Iterable[np.ndarray], meter: SeamMeter) -> Iterator[np.ndarray]:
    """Pass ``frames`` through unchanged while ``meter`` watches them."""
    for frame in frames:
        meter.add(frame)
        yield frame


def seam_score(frames: Iterable[np.ndarray]) -> float | None:
    """The seam score of a whole frame stream (``None`` for fewer than two frames)."""
    meter = SeamMeter()
    for frame in frames:
        meter.add(frame)
    return meter.score()


__all__ = ["MIN_STEP", "SEAMLESS_THRESHOLD", "SeamMeter", "frame_difference", "image_difference", "measured",
           "seam_ratio", "seam_score"]
