"""Colour drift correction for chained segments.

Each extension of a clip is conditioned on the previous segment's last frames, and small colour shifts add
up: by the last segment a loop's end no longer matches its start (oversaturated or tinted). Matching every
segment's per-channel mean and standard deviation to the first segment's pulls them back. The correction is
one affine map per channel, applied as a 256-entry lookup table per frame with Pillow's ``Image.point`` (4x
faster than numpy fancy indexing here: 0.3 s instead of 1.3 s for a 105-frame 544x960 segment), so it costs
no float copy of the segment.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np

# Statistics are taken on every 4th pixel each way of every 4th frame: plenty for a mean and a spread.
STATS_STRIDE = 4
# A segment's contrast is scaled by at most this factor either way, so a nearly flat segment (a fade to
# black) is not blown up into noise.
MAX_GAIN = 2.0


@dataclass(frozen=True)
class ColourStats:
    mean: tuple[float, float, float]
    std: tuple[float, float, float]


def colour_stats(frames: np.ndarray) -> ColourStats:
    """Per-channel mean and standard deviation of ``(n, h, w, 3)`` uint8 frames."""
    import numpy as np

    sample = frames[::STATS_STRIDE, ::STATS_STRIDE, ::STATS_STRIDE, :].reshape(-1, 3).astype(np.float32)
    mean, std = sample.mean(axis=0), sample.std(axis=0)
    return ColourStats(tuple(float(v) for v in mean), tuple(float(v) for v in std))  # type: ignore[arg-type]


def matching_tables(current: ColourStats, reference: ColourStats) -> np.ndarray:
    """``(3, 256)`` uint8 lookup tables mapping ``current``'s statistics onto ``reference``'s."""
    import numpy as np

    levels = np.arange(256, dtype=np.float32)
    tables = np.empty((3, 256), dtype=np.uint8)
    for channel in range(3):
        spread = current.std[channel]
        gain = reference.std[channel] / spread if spread > 1e-3 else 1.0
        gain = min(MAX_GAIN, max(1.0 / MAX_GAIN, gain))
        mapped = (levels - current.mean[channel]) * gain + reference.mean[channel]
        tables[channel] = np.clip(mapped + 0.5, 0, 255).astype(np.uint8)
    return tables


def match_colours(frames: np.ndarray, reference: ColourStats) -> np.ndarray:
    """``frames`` with each channel's mean and spread matched to ``reference`` (in place when writable)."""
    return apply_tables(frames, matching_tables(colour_stats(frames), reference))


def apply_tables(frames: np.ndarray, tables: np.ndarray) -> np.ndarray:
    """``frames`` through the ``(3, 256)`` lookup tables (in place when writable)."""
    import numpy as np
    from PIL import Image

    if not frames.flags.writeable:
        frames = frames.copy()
    table = tables.reshape(-1).tolist()  # R, G, B tables in a row, as Image.point takes them
    for index, frame in enumerate(frames):
        frames[index] = np.asarray(Image.fromarray(frame).point(table))
    return frames


__all__ = ["ColourStats", "apply_tables", "colour_stats", "match_colours", "matching_tables"]
