"""Hands the clip's mixed sound to the encoder in AAC-sized frames, in step with the video it streams."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from fractions import Fraction
from typing import TYPE_CHECKING, Any

from shortgen.audio.read import CHANNELS, LAYOUT

if TYPE_CHECKING:
    import av
    import numpy as np

    from shortgen.frames import AudioMix, AudioSpec

AAC_FRAME = 1024


class AudioFeed:
    """AAC-sized chunks of the clip's sound (its mix, see :func:`shortgen.audio.mix.render`, or silence).

    The mix is rendered whole when the feed is made (a 30 s stereo track is ~11 MB); the video is not
    touched. ``report`` says what went in and how loud it came out (for the sidecar)."""

    def __init__(self, audio: AudioSpec | AudioMix | None, sample_rate: int, total_seconds: float,
                 warn: Callable[[str], None] | None = None, aac_bitrate: int = 128_000) -> None:
        from shortgen.audio.mix import render

        self.rate = sample_rate
        self.total = round(total_seconds * sample_rate)
        self.sent = 0
        mixed = (render(audio, sample_rate, self.total, warn or (lambda message: None), aac_bitrate=aac_bitrate)
                 if audio else None)
        self._samples = None if mixed is None else mixed.samples
        self.report: dict[str, Any] = {} if mixed is None else mixed.report

    def frames_until(self, seconds: float) -> Iterator[av.AudioFrame]:
        target = min(self.total, round(seconds * self.rate))
        while self.sent + AAC_FRAME <= target or (target == self.total and self.sent < self.total):
            count = min(AAC_FRAME, self.total - self.sent)
            yield self._audio_frame(self._slice(count))
            self.sent += count

    def _slice(self, count: int) -> np.ndarray:
        import numpy as np

        if self._samples is None:
            return np.zeros((CHANNELS, count), dtype=np.float32)
        return np.ascontiguousarray(self._samples[:, self.sent:self.sent + count])

    def _audio_frame(self, samples: np.ndarray) -> av.AudioFrame:
        import av

        frame = av.AudioFrame.from_ndarray(samples, format="fltp", layout=LAYOUT)
        frame.sample_rate, frame.pts, frame.time_base = self.rate, self.sent, Fraction(1, self.rate)
        return frame


__all__ = ["AAC_FRAME", "AudioFeed"]
