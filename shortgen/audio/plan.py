"""From options to the clip's :class:`~shortgen.frames.AudioMix`: which files, at what level, checked up front.

``--audio FILE`` replaces the clip's own sound with FILE as it is (in sync from the clip's first frame, looping
with the clip, never faded or ducked); ``--audio none`` drops the clip's own sound. ``--music FILE`` lays a
bed under whatever sound there is (trimmed or looped, faded, ducked), ``--voice FILE`` puts a voice-over on
top, ``--duck`` ducks the music under the clip's own sound too. Every file is checked before any work
starts: missing, not media, or without sound is a one-line usage error naming the flag.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from shortgen.audio.read import check_audio_file
from shortgen.errors import UsageError
from shortgen.frames import AudioBuffer, AudioMix, AudioSpec

if TYPE_CHECKING:
    from shortgen.config import AudioSettings, MakeOptions

NO_AUDIO = "none"


def drops_audio(value: str | None) -> bool:
    """``--audio none``."""
    return value is not None and value.strip().lower() == NO_AUDIO


def clip_audio(options: MakeOptions, settings: AudioSettings, own: AudioSpec | AudioBuffer | None = None,
               bed: AudioBuffer | None = None) -> AudioMix | None:
    """The clip's sound, or ``None`` for a silent track. ``own``: the sound the clip already has (``edit``:
    the input video's). ``bed``: sound generated for the clip (laid under, like music)."""
    check_sound_options(options)
    source = own
    if options.audio and drops_audio(options.audio):
        source = None
    elif options.audio:
        path = check_audio_file(options.audio, "--audio")
        source = AudioSpec(path=path, label=f"--audio {path}")
    elif isinstance(own, AudioSpec):
        source = replace(own, label=own.label or f"the sound of {own.path}")
    music = _file_track(options.music, "--music", settings.music_volume_db)
    voice = _file_track(options.voice, "--voice", 0.0)
    if source is None and music is None and voice is None and bed is None:
        return None
    return AudioMix(source=source, music=music, bed=bed, voice=voice, duck_db=settings.duck_db,
                    duck_source=bool(options.duck), fade_in=settings.fade_in_seconds,
                    fade_out=settings.fade_out_seconds,
                    loudness_lufs=settings.loudness_lufs if settings.normalize else None,
                    true_peak_db=settings.true_peak_db)


def with_bed(audio: AudioMix | AudioSpec | None, bed: AudioBuffer, settings: AudioSettings) -> AudioMix:
    """``audio`` with ``bed`` laid under it: the entry point for sound generated after the mix was planned."""
    if isinstance(audio, AudioMix):
        return replace(audio, bed=bed)
    return AudioMix(source=audio, bed=bed, duck_db=settings.duck_db, fade_in=settings.fade_in_seconds,
                    fade_out=settings.fade_out_seconds,
                    loudness_lufs=settings.loudness_lufs if settings.normalize else None,
                    true_peak_db=settings.true_peak_db)


def check_sound_options(options: MakeOptions) -> None:
    """Flag combinations that cannot mean anything; every named file exists, opens and has sound."""
    if options.duck and not options.music:
        raise UsageError("--duck ducks the music under the clip's own sound", "pass --music FILE with it")
    if options.music_volume is not None and not options.music:
        raise UsageError("--music-volume sets the level of --music", "pass --music FILE with it")
    for flag, value in (("--audio", options.audio), ("--music", options.music), ("--voice", options.voice)):
        if value and not (flag == "--audio" and drops_audio(value)):
            check_audio_file(value, flag)


def _file_track(value: str | None, flag: str, volume_db: float) -> AudioSpec | None:
    if not value:
        return None
    path = check_audio_file(Path(value), flag)
    return AudioSpec(path=path, volume=10 ** (volume_db / 20), label=f"{flag} {path}")


__all__ = ["NO_AUDIO", "check_sound_options", "clip_audio", "drops_audio", "with_bed"]
