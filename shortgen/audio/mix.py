"""Mixing a clip's sound: place each track on the clip's timeline, duck the beds, sum, normalise.

Everything here works on the whole track in memory (planar float32 at the encoder's rate): a 30 s stereo
clip at 48 kHz is about 11 MB per track, and the loudness of a mix can only be known once it is complete.
The video is never held: the encoder streams frames and takes this mix in AAC-sized pieces.

Sample-exact work (placing, looping with crossfaded loop points, fades, sums) is numpy; the side-chain
compressor that ducks the music and the loudness work are FFmpeg's own filters (see :mod:`.graph`).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from shortgen.audio.read import CHANNELS, DecodeReport, read_span
from shortgen.frames import AudioBuffer, AudioMix, AudioSpec

if TYPE_CHECKING:
    import numpy as np

Track = AudioSpec | AudioBuffer
Warn = Callable[[str], None]

MUSIC_JOIN_SECONDS = 1.0  # crossfade where a short music file repeats
VOICE_EDGE_SECONDS = 0.02  # a fade where a voice longer than the clip is cut, so the cut does not click
# Side-chain compressor for ducking. FFmpeg's ratio tops out at 20; the voice's quieter speech is set this
# far above the threshold that it alone gives the configured depth (louder speech ducks deeper).
DUCK_RATIO = 20.0
DUCK_MARGIN_DB = 1.0
DUCK_KEY_LEVEL_DB = -12.0  # the side chain is scaled so that quiet speech sits here
DUCK_WINDOW_SECONDS = 0.05
DUCK_ACTIVE_RANGE_DB = 30.0  # windows this far below the key's loudest count as pauses, not speech


@dataclass
class Mixed:
    samples: np.ndarray  # (2, count) float32
    report: dict[str, Any] = field(default_factory=dict)


def render(audio: AudioSpec | AudioMix, rate: int, count: int, warn: Warn, *, aac_bitrate: int = 128_000) -> Mixed:
    """``count`` samples of the clip's sound at ``rate``. A bare :class:`AudioSpec` is placed as it is; an
    :class:`AudioMix` is mixed and normalised (for an AAC encoder at ``aac_bitrate``). Damaged input is played
    past with one warning per track."""
    if isinstance(audio, AudioSpec):
        samples, entry = _place_synced(audio, rate, count, warn)
        return Mixed(samples, {"inputs": [{"role": "source", **entry}]})
    return _render_mix(audio, rate, count, warn, aac_bitrate)


def _render_mix(mix: AudioMix, rate: int, count: int, warn: Warn, aac_bitrate: int) -> Mixed:
    import numpy as np

    inputs: list[dict[str, Any]] = []
    placed: dict[str, np.ndarray] = {}
    for role, track in mix.tracks().items():
        if role == "source":
            placed[role], entry = _place_synced(track, rate, count, warn)
        elif role == "voice":
            placed[role], entry = _place_voice(track, rate, count, warn)
        else:
            placed[role], entry = _place_bed(track, rate, count, warn, mix.fade_in, mix.fade_out)
        inputs.append({"role": role, **entry})
    report: dict[str, Any] = {"inputs": inputs}
    beds = [placed[role] for role in ("music", "bed") if role in placed]
    keys = [placed[role] for role in ("voice", "source") if role in placed
            and (role == "voice" or mix.duck_source)]
    if beds and keys and mix.duck_db > 0:
        bus, report["ducking"] = duck(sum(beds), sum(keys), rate, mix.duck_db)
        beds = [bus]
    total = sum([*beds, *(placed[role] for role in ("source", "voice") if role in placed)],
                np.zeros((CHANNELS, count), dtype=np.float32))
    if mix.loudness_lufs is not None:
        from shortgen.audio.loudness import normalise

        result = normalise(total, rate, mix.loudness_lufs, mix.true_peak_db, aac_bitrate=aac_bitrate)
        total, report["loudness"] = result.samples, result.to_dict()
        for note in result.notes:
            warn(f"loudness: {note}")
    return Mixed(np.ascontiguousarray(total, dtype=np.float32), report)


def sound_after_picture(audio: AudioSpec | AudioMix | None) -> bool:
    """Whether a track of ``audio`` is an :class:`AudioBuffer` whose samples are a callable: sound that is
    complete only once the video has been generated, so the encoder mixes it after the last frame."""
    tracks = audio.tracks().values() if isinstance(audio, AudioMix) else [audio]
    return any(isinstance(track, AudioBuffer) and callable(track.samples) for track in tracks)


# ------------------------------------------------------------------------------------------------ tracks


def _place_synced(track: Track, rate: int, count: int, warn: Warn) -> tuple[np.ndarray, dict[str, Any]]:
    """The clip's own sound: from ``track.start``, its end crossfaded into what precedes its start when the
    clip loops (silence before the file's start)."""
    cross = min(count, round(track.loop_crossfade * rate))
    window, entry, _ = _window(track, rate, round(track.start * rate) - cross, count + cross, warn, looped=False)
    return _volume(close_loop(window, count, cross), track.volume), entry


def _place_bed(track: Track, rate: int, count: int, warn: Warn, fade_in: float,
               fade_out: float) -> tuple[np.ndarray, dict[str, Any]]:
    """Music or a generated bed: repeated (loop points crossfaded) when shorter than the clip; faded in and
    out, or, when the clip loops, crossfaded at the clip's loop point instead (a fade there would dip)."""
    cross = min(count, round(track.loop_crossfade * rate))
    window, entry, _ = _window(track, rate, round(track.start * rate) - cross, count + cross, warn, looped=True)
    out = close_loop(window, count, cross)
    if not cross:
        apply_fades(out, round(fade_in * rate), round(fade_out * rate))
    return _volume(out, track.volume), entry


def _place_voice(track: Track, rate: int, count: int, warn: Warn) -> tuple[np.ndarray, dict[str, Any]]:
    """A voice-over from the clip's start, played once; cut (with a short fade) if longer than the clip."""
    window, entry, available = _window(track, rate, round(track.start * rate), count + 1, warn, looped=False)
    out = window[:, :count].copy()
    if available > count:
        entry["cut"] = True
        warn(f"{entry['label']} is longer than the {count / rate:.2f} s clip; it is cut at the end")
        apply_fades(out, 0, round(VOICE_EDGE_SECONDS * rate))
    return _volume(out, track.volume), entry


def _window(track: Track, rate: int, begin: int, length: int, warn: Warn,
            looped: bool) -> tuple[np.ndarray, dict[str, Any], int]:
    """Samples ``begin`` to ``begin + length`` of the track's own timeline; with ``looped`` a track that ends
    sooner repeats, else silence follows it. Also the track's entry for the report, and how many of those
    samples the track itself held."""
    entry = _describe(track)
    if looped and begin >= 0:
        whole, available = _read(track, rate, 0, begin + length, warn, entry)
        if 0 < available < begin + length:
            whole = repeat(whole[:, :available], begin + length, round(MUSIC_JOIN_SECONDS * rate))
            entry["repeated"] = True
        entry["seconds_available"] = round(available / rate, 4)
        return whole[:, begin:], entry, available
    window, available = _read(track, rate, begin, length, warn, entry)
    entry["seconds_available"] = round(available / rate, 4)  # of the span asked for (less: the file ended)
    return window, entry, available


def _read(track: Track, rate: int, begin: int, length: int, warn: Warn,
          entry: dict[str, Any]) -> tuple[np.ndarray, int]:
    import numpy as np

    if isinstance(track, AudioBuffer):
        samples = buffer_at_rate(track, rate)
        out = np.zeros((CHANNELS, length), dtype=np.float32)
        lo, hi = max(0, begin), min(samples.shape[1], begin + length)
        if hi > lo:
            out[:, lo - begin:hi - begin] = samples[:, lo:hi]
        return out, max(0, hi - lo)
    samples, report, available = read_span(track.path, rate, begin, length, label=entry["label"])
    _report_damage(report, entry, warn)
    return samples, available


def _report_damage(report: DecodeReport, entry: dict[str, Any], warn: Warn) -> None:
    message = report.warning()
    if message:
        warn(message)
        entry["damage"] = report.to_dict()


def _describe(track: Track) -> dict[str, Any]:
    entry: dict[str, Any] = {"volume_db": _db(track.volume), "start": round(track.start, 4),
                             "loop_crossfade": round(track.loop_crossfade, 4)}
    if isinstance(track, AudioSpec):
        entry.update(path=str(track.path), label=track.label or str(track.path))
    else:
        entry.update(label=track.label, sample_rate=track.sample_rate, info=dict(track.info))
    return entry


def buffer_at_rate(track: AudioBuffer, rate: int) -> np.ndarray:
    """An in-memory track as planar float stereo at ``rate`` (mono is copied to both sides)."""
    import numpy as np

    from shortgen.audio.graph import run_graph

    samples = np.asarray(track.samples() if callable(track.samples) else track.samples, dtype=np.float32)
    samples = samples[None, :] if samples.ndim == 1 else samples
    if samples.shape[0] == 1:
        samples = np.repeat(samples, CHANNELS, axis=0)
    samples = samples[:CHANNELS]
    if track.sample_rate != rate and samples.shape[1]:
        samples = run_graph([samples], track.sample_rate, [("aresample", str(rate))]).samples
    return samples


# ------------------------------------------------------------------------------------------------ shaping


def equal_power(count: int) -> tuple[np.ndarray, np.ndarray]:
    """(fade_out, fade_in) curves over ``count`` samples whose powers sum to one: for uncorrelated sound."""
    import numpy as np

    position = (np.arange(count, dtype=np.float64) + 0.5) / max(1, count)
    return np.cos(position * np.pi / 2).astype(np.float32), np.sin(position * np.pi / 2).astype(np.float32)


def close_loop(window: np.ndarray, count: int, cross: int) -> np.ndarray:
    """``window`` holds ``cross`` samples before the clip's start and then ``count`` more: the clip's part, its
    last ``cross`` samples crossfaded into the ones before its start, so that replaying from the start runs
    on as the source itself would (see :class:`~shortgen.stages.loop.LoopStage`)."""
    out = window[:, cross:cross + count].copy()
    if cross:
        fade_out, fade_in = equal_power(cross)
        out[:, count - cross:] = out[:, count - cross:] * fade_out + window[:, :cross] * fade_in
    return out


def close_loop_ahead(samples: np.ndarray, begin: int, count: int, cross: int) -> tuple[np.ndarray, int]:
    """A copy of ``samples`` whose clip part, ``count`` samples from ``begin``, closes its loop at its start: its
    first ``cross`` samples fade from the ones right after its end into its own. Replayed, the clip's last
    sample runs on into what followed it in the recording, so a loop of sound generated past the clip's end
    (``make --loop seamless`` with LTX-2) needs no shift against the picture. ``cross`` is shortened to the
    samples there are after the end; returns the copy and the crossfade's length."""
    out = samples.copy()
    cross = max(0, min(cross, count, samples.shape[1] - begin - count))
    if cross:
        fade_out, fade_in = equal_power(cross)
        after = samples[:, begin + count:begin + count + cross]
        out[:, begin:begin + cross] = after * fade_out + samples[:, begin:begin + cross] * fade_in
    return out, cross


def repeat(samples: np.ndarray, total: int, join: int) -> np.ndarray:
    """``samples`` repeated to ``total`` samples, each join an equal-power crossfade of ``join`` samples."""
    import numpy as np

    length = samples.shape[1]
    join = min(join, length // 2)
    if join == 0:
        return np.tile(samples, (1, math.ceil(total / length)))[:, :total]
    fade_out, fade_in = equal_power(join)
    parts = [samples[:, :length - join]]
    have = length - join
    while have < total:
        parts.append(samples[:, length - join:] * fade_out + samples[:, :join] * fade_in)
        parts.append(samples[:, join:length - join])
        have += length - join
    return np.concatenate(parts, axis=1)[:, :total]


def apply_fades(samples: np.ndarray, fade_in: int, fade_out: int) -> None:
    """Raised-cosine fades in place, each at most a quarter of the track."""
    import numpy as np

    count = samples.shape[1]
    for length, at_start in ((min(fade_in, count // 4), True), (min(fade_out, count // 4), False)):
        if length <= 0:
            continue
        ramp = (0.5 - 0.5 * np.cos(np.pi * (np.arange(length) + 0.5) / length)).astype(np.float32)
        if at_start:
            samples[:, :length] *= ramp
        else:
            samples[:, count - length:] *= ramp[::-1]


def _volume(samples: np.ndarray, volume: float) -> np.ndarray:
    return samples if volume == 1.0 else (samples * volume).astype("float32", copy=False)


def _db(volume: float) -> float | None:
    return round(20 * math.log10(volume), 2) if volume > 0 else None


# ------------------------------------------------------------------------------------------------ ducking


def duck(bus: np.ndarray, key: np.ndarray, rate: int, depth_db: float) -> tuple[np.ndarray, dict[str, Any]]:
    """``bus`` (music) compressed by FFmpeg's ``sidechaincompress`` keyed by ``key`` (speech): at least
    ``depth_db`` lower wherever the key speaks, back up in its pauses."""
    from shortgen.audio.graph import run_graph

    speech = speech_level_db(key, rate)
    report: dict[str, Any] = {"depth_db": depth_db, "key_level_db": None if speech is None else round(speech, 1)}
    if speech is None:
        return bus, report
    level_sc = min(64.0, max(1 / 64, 10 ** ((DUCK_KEY_LEVEL_DB - speech) / 20)))
    key_level = speech + 20 * math.log10(level_sc)
    threshold_db = key_level - (depth_db + DUCK_MARGIN_DB) / (1 - 1 / DUCK_RATIO)
    threshold = min(1.0, max(0.000976563, 10 ** (threshold_db / 20)))
    args = (f"threshold={threshold:.6f}:ratio={DUCK_RATIO:g}:attack=20:release=250:level_sc={level_sc:.6f}"
            ":detection=rms:link=average:knee=1")
    ducked = run_graph([bus, key], rate, [("sidechaincompress", args)]).samples
    report["threshold_db"] = round(20 * math.log10(threshold), 1)
    return _fit(ducked, bus.shape[1]), report


def speech_level_db(key: np.ndarray, rate: int) -> float | None:
    """The level (dBFS, RMS of the channels' mean magnitude) of the key's quieter speech: the 10th percentile
    of its 50 ms windows that are not pauses. ``None`` for silence."""
    import numpy as np

    window = max(1, round(DUCK_WINDOW_SECONDS * rate))
    mono = np.abs(key).mean(axis=0)
    usable = mono.shape[0] // window * window
    if usable == 0:
        return None
    rms = np.sqrt(np.mean(mono[:usable].reshape(-1, window) ** 2, axis=1))
    levels = 20 * np.log10(np.maximum(rms, 1e-9))
    loudest = float(levels.max())
    if loudest < -80:
        return None
    active = levels[levels > loudest - DUCK_ACTIVE_RANGE_DB]
    return float(np.percentile(active, 10))


def _fit(samples: np.ndarray, count: int) -> np.ndarray:
    import numpy as np

    if samples.shape[1] >= count:
        return samples[:, :count]
    return np.pad(samples, ((0, 0), (0, count - samples.shape[1])))


__all__ = ["Mixed", "apply_fades", "buffer_at_rate", "close_loop", "close_loop_ahead", "duck", "equal_power", "render",
           "repeat", "sound_after_picture", "speech_level_db"]
