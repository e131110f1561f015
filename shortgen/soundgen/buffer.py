"""Generated sound held in memory, and the sample arithmetic used to join pieces of it.

Generated tracks are small (30 s of 48 kHz stereo float32 is 11 MB), so they live in a :class:`GeneratedAudio`
that the producer (a text-to-audio model, or the LTX-2 chain) appends to as pieces become final. numpy only.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

from shortgen.errors import MediaError

if TYPE_CHECKING:
    import numpy as np


def equal_power_crossfade(old: np.ndarray, new: np.ndarray) -> np.ndarray:
    """``old`` fading out into ``new`` (both ``(channels, n)``); sin/cos gains keep the power of unrelated
    sounds constant through the fade, and no sample jumps at either end."""
    import numpy as np

    n = new.shape[1]
    position = (np.arange(n, dtype=np.float64) + 0.5) / max(1, n)
    fade_in = np.sin(position * np.pi / 2).astype(np.float32)
    fade_out = np.cos(position * np.pi / 2).astype(np.float32)
    return old.astype(np.float32) * fade_out + new.astype(np.float32) * fade_in


def fit_length(samples: np.ndarray, length: int) -> np.ndarray:
    """``samples`` (``(channels, n)``) cut or extended to ``length``. A model's audio can be a few hops shorter
    than asked (a causal VAE trims); the gap is filled by mirroring the end, so no step is introduced."""
    import numpy as np

    have = samples.shape[1]
    if have >= length:
        return samples[:, :length]
    if have == 0:
        return np.zeros((samples.shape[0], length), dtype=np.float32)
    parts = [samples]
    while sum(p.shape[1] for p in parts) < length:
        parts.append(parts[-1][:, ::-1])
    return np.concatenate(parts, axis=1)[:, :length]


def as_stereo(samples: np.ndarray) -> np.ndarray:
    """``(n,)``, ``(1, n)`` or ``(2, n)`` float audio → ``(2, n)`` float32."""
    import numpy as np

    samples = np.asarray(samples, dtype=np.float32)
    if samples.ndim == 1:
        samples = samples[None]
    if samples.shape[0] == 1:
        samples = np.repeat(samples, 2, axis=0)
    if samples.shape[0] != 2:
        raise MediaError(f"generated audio has {samples.shape[0]} channels; expected 1 or 2")
    return np.ascontiguousarray(samples)


class GeneratedAudio:
    """A stereo track at ``sample_rate`` that grows while a clip is generated (final samples only); the mixer
    takes :meth:`samples` after the last frame."""

    def __init__(self, sample_rate: int, description: str = "generated sound") -> None:
        self.sample_rate = int(sample_rate)
        self.description = description
        self._chunks: list[np.ndarray] = []
        self._length = 0
        self._finished = False
        self._producer: int | None = None
        self._changed = threading.Condition()

    @property
    def length(self) -> int:
        return self._length

    def append(self, samples: np.ndarray) -> None:
        with self._changed:
            self._producer = threading.get_ident()
            if samples.shape[1]:
                self._chunks.append(as_stereo(samples))
                self._length += samples.shape[1]
            self._changed.notify_all()

    def finish(self) -> None:
        with self._changed:
            self._finished = True
            self._changed.notify_all()

    def samples(self, start: int = 0, stop: int | None = None) -> np.ndarray:
        """A copy of native samples ``start:stop`` that are there now (only the chunks they span are touched)."""
        import numpy as np

        with self._changed:
            stop = self._length if stop is None else min(stop, self._length)
            parts, offset = [], 0
            for chunk in self._chunks:
                end = offset + chunk.shape[1]
                if end > start and offset < stop:
                    parts.append(chunk[:, max(0, start - offset):stop - offset])
                offset = end
        return np.concatenate(parts, axis=1) if parts else np.zeros((2, 0), np.float32)
