"""The clip's sound: read past damage, mix and duck, measure and normalise loudness.

- :mod:`.read` decodes a file's first audio stream the way ffmpeg plays it (damaged packets → silence, one
  warning) and checks user-given sound files up front.
- :mod:`.mix` places each track of an :class:`~shortgen.frames.AudioMix` on the clip's timeline (trim, loop
  with crossfaded loop points, fades, the clip's own loop point), ducks the beds under speech and sums.
- :mod:`.loudness` measures integrated loudness and true peak and normalises to a target.
- :mod:`.feed` hands the mix to the encoder in AAC-sized frames.

Sound generated for a clip (a text-to-audio bed, a backend's own audio) enters as an
:class:`~shortgen.frames.AudioBuffer` in ``AudioMix.bed`` (laid under, like music) or ``AudioMix.source``
(in sync with the picture). FFmpeg's filters run through PyAV (see :mod:`.graph`); no torch here.
"""

from __future__ import annotations

from shortgen.frames import AudioBuffer, AudioMix, AudioSpec

__all__ = ["AudioBuffer", "AudioMix", "AudioSpec"]
