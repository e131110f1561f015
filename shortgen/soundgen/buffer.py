"""Generated sound held in memory, and the sample arithmetic used to join pieces of it.

Generated tracks are small (30 s of 48 kHz stereo float32 is 11 MB), so they live in a :class:`GeneratedAudio`
that the producer (a text-to-audio model, or the LTX-2 chain) appends to as pieces become final, and the encoder
reads from at its own rate. numpy only (PyAV for resampling when read).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from fractions import Fraction
from typing import TYPE_CHECKING, Any

from shortgen.errors import MediaError

if TYPE_CHECKING:
    import numpy as np

READ_CHUNK = 8192  # native samples resampled per step when the encoder reads


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
    """A stereo track at ``sample_rate`` that grows while a clip is generated; readers get final samples only.

    A reader that needs samples the producer has not appended yet waits for them when the producer runs on
    another thread (``make`` generates ahead of the encoder); on the producer's own thread that would never
    end, so it is an error instead.
    """

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

    def read(self, start_seconds: float, sample_rate: int, max_samples: int,
             volume: float = 1.0) -> Iterator[np.ndarray]:
        """Planar stereo float32 chunks at ``sample_rate`` from ``start_seconds``; at most ``max_samples`` of them
        (the encoder pads with silence past the end)."""
        import av

        resampler = av.AudioResampler(format="fltp", layout="stereo", rate=sample_rate)
        position = round(start_seconds * self.sample_rate)
        produced = 0
        while produced < max_samples:
            piece = self._wait_for(position, READ_CHUNK)
            if piece is None:
                break
            position += piece.shape[1]
            for out in resampler.resample(self._frame(piece, position)):
                yield from self._emit(out, volume)
                produced += out.samples
        for out in resampler.resample(None):
            yield from self._emit(out, volume)

    def _wait_for(self, position: int, count: int) -> np.ndarray | None:
        with self._changed:
            while self._length < position + count and not self._finished:
                if self._producer in (None, threading.get_ident()):
                    if self._length > position:
                        break  # the producer is this thread: read what is final now
                    raise MediaError(f"{self.description} is behind the picture at sample {position}",
                                     "report this: the encoder asked for sound the model has not made yet")
                self._changed.wait(timeout=1.0)
        if position >= self._length:
            return None
        return self.samples(position, position + count)

    def _frame(self, piece: np.ndarray, end: int) -> Any:
        import av

        frame = av.AudioFrame.from_ndarray(piece, format="fltp", layout="stereo")
        frame.sample_rate = self.sample_rate
        frame.pts, frame.time_base = end - piece.shape[1], Fraction(1, self.sample_rate)
        return frame

    @staticmethod
    def _emit(frame: Any, volume: float) -> Iterator[np.ndarray]:
        import numpy as np

        samples = frame.to_ndarray().reshape(2, -1).astype(np.float32)
        if samples.shape[1]:
            yield samples * volume if volume != 1.0 else samples
