"""How a looping track's end runs into its start: the sound's counterpart of :mod:`shortgen.seam`.

A click is one sample step far outside the signal's own steps. The seam step (last sample → first, the larger
channel) is compared with the track's sample-to-sample steps: ``score`` is it over their median (about 1 is an
ordinary step), ``percentile`` the share of the track's steps it exceeds (100: larger than every step in it).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np


def sound_seam(samples: np.ndarray) -> dict[str, Any]:
    """The seam of ``samples`` (``(channels, n)`` float) played as a loop; empty for fewer than 2 samples."""
    import numpy as np

    samples = np.asarray(samples, dtype=np.float64)
    samples = samples[None] if samples.ndim == 1 else samples
    if samples.shape[1] < 2:
        return {}
    steps = np.abs(np.diff(samples, axis=1))
    seam = float(np.abs(samples[:, 0] - samples[:, -1]).max())
    median = float(np.median(steps))
    return {"step": round(seam, 6), "median_step": round(median, 6), "max_step": round(float(steps.max()), 6),
            "score": round(seam / median, 4) if median > 0 else None,
            "percentile": round(float((steps < seam).mean() * 100), 2)}


__all__ = ["sound_seam"]
