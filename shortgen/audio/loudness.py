"""Loudness: measure integrated loudness (LUFS) and true peak (dBTP), and bring a mix to a target.

Measurement is FFmpeg's own ``ebur128`` filter (EBU R128 / ITU-R BS.1770, true peak by 4x oversampling),
run through PyAV's filter graph on samples in memory or on a file's decoded audio. Normalising is a linear
gain when the peaks allow it (the sound is unchanged but for its level); when they do not, FFmpeg's
``alimiter`` runs on the 4x-oversampled signal (so it limits true peaks, not only sample peaks) and the gain
is corrected until the loudness lands on the target. A last pass through the AAC encoder checks what the
file will hold: AAC lowers loudness a little and can raise peaks, and the result is corrected for both.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from shortgen.audio.graph import run_graph

if TYPE_CHECKING:
    import numpy as np

SILENT_LUFS = -70.0  # EBU R128's absolute gate: below it there is nothing to measure
TOLERANCE_LU = 0.2  # how close to the target the normaliser aims
OVERSAMPLE = 4
ROUNDS = 4
# AAC lets true peaks rise (0.5-0.7 dB measured on peaky speech at 128 kb/s): limit this far below the
# ceiling from the start, so the check through the encoder usually passes at the first try.
AAC_HEADROOM_DB = 0.7


@dataclass(frozen=True)
class Loudness:
    integrated_lufs: float | None  # None: silent (nothing above the absolute gate)
    true_peak_db: float | None  # None: digital silence

    def to_dict(self) -> dict[str, float | None]:
        return {"integrated_lufs": _round(self.integrated_lufs), "true_peak_db": _round(self.true_peak_db)}


@dataclass
class Normalised:
    samples: np.ndarray
    before: Loudness
    after: Loudness
    target_lufs: float
    ceiling_db: float
    method: str  # "linear", "limited", or "silent" (left as it was)
    gain_db: float = 0.0
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"target_lufs": self.target_lufs, "true_peak_ceiling_db": self.ceiling_db, "method": self.method,
                "gain_db": round(self.gain_db, 2), "input": self.before.to_dict(), "output": self.after.to_dict()}


def measure(samples: np.ndarray, rate: int, *, true_peak: bool = True) -> Loudness:
    """Integrated loudness and true peak of planar float samples (the peak, 4x oversampled, is most of the
    cost: ``true_peak=False`` skips it)."""
    if samples.shape[1] == 0:
        return Loudness(None, None)
    args = "peak=true:metadata=1" if true_peak else "metadata=1"
    metadata = run_graph([samples], rate, [("ebur128", args)]).metadata
    return _from_metadata(metadata)


def measure_file(path: Path) -> tuple[Loudness, str | None]:
    """Loudness of the first audio stream of a media file, and a warning if it had damaged packets (skipped).

    The decoded frames go straight into the ``ebur128`` graph at their own rate and layout: no resampling
    and no numpy, so ``inspect`` pays only for decoding (see the README's figures)."""
    import av

    from shortgen.audio.read import DecodeReport, tolerant_frames
    from shortgen.media import quiet_libav

    quiet_libav()
    report = DecodeReport(str(path))

    def lost(packet: Any) -> None:
        if packet.duration and packet.time_base:
            report.damaged_seconds += float(packet.duration * packet.time_base)

    metadata: dict[str, str] = {}
    with av.open(str(path)) as container:
        stream = container.streams.audio[0]
        graph = None
        for frame in tolerant_frames(container, stream, report, lost):
            if graph is None:
                graph = _meter(frame)
            graph.push(frame)
            metadata = _pull_metadata(graph, metadata)
        if graph is not None:
            graph.push(None)
            metadata = _pull_metadata(graph, metadata)
    return _from_metadata(metadata), report.warning()


def _meter(first: Any) -> Any:
    import av

    graph = av.filter.Graph()
    source = graph.add_abuffer(sample_rate=first.sample_rate, format=first.format.name, layout=first.layout.name,
                               time_base=first.time_base)
    graph.link_nodes(source, graph.add("ebur128", "peak=true:metadata=1"), graph.add("abuffersink")).configure()
    return graph


def _pull_metadata(graph: Any, metadata: dict[str, str]) -> dict[str, str]:
    import av

    while True:
        try:
            metadata = dict(graph.pull().metadata) or metadata
        except (av.BlockingIOError, av.EOFError):
            return metadata


def normalise(samples: np.ndarray, rate: int, target_lufs: float, ceiling_db: float, *,
              aac_bitrate: int = 128_000) -> Normalised:
    """``samples`` at ``target_lufs`` integrated loudness with true peaks at or below ``ceiling_db`` — as the
    AAC encoder will deliver them (one round trip through it checks, and corrects, what it changes)."""
    before = measure(samples, rate)
    if before.integrated_lufs is None:
        return Normalised(samples, before, before, target_lufs, ceiling_db, "silent")
    aim, limit = target_lufs, ceiling_db - AAC_HEADROOM_DB
    out, gain, method = _level(samples, rate, before, aim, limit)
    after = encoded_loudness(out, rate, aac_bitrate)
    if after.integrated_lufs is not None and after.true_peak_db is not None:
        missing = target_lufs - after.integrated_lufs
        over = after.true_peak_db - ceiling_db
        if abs(missing) > TOLERANCE_LU or over > 0:  # aim where the encoder will land it on target
            aim, limit = aim + missing, limit - max(0.0, over + 0.1)
            out, gain, method = _level(samples, rate, before, aim, limit, gain + missing)
            after = encoded_loudness(out, rate, aac_bitrate)
    result = Normalised(out, before, after, target_lufs, ceiling_db, method, gain)
    if after.true_peak_db is not None and after.true_peak_db > ceiling_db:
        result.samples = _gain(out, ceiling_db - after.true_peak_db - 0.05)
        result.after = encoded_loudness(result.samples, rate, aac_bitrate)
        result.notes.append("true peak held under the ceiling at some cost in loudness")
    return result


def _level(samples: np.ndarray, rate: int, before: Loudness, aim: float, limit: float,
           guess: float | None = None) -> tuple[np.ndarray, float, str]:
    """``samples`` raised to ``aim`` LUFS, true peaks limited to ``limit`` dBTP where they would pass it.
    Limiting lowers the loudness, so then the gain is raised (a few rounds) until it is back on ``aim``.
    ``guess``: a gain found before, to start the rounds from. Returns the samples, the gain applied before
    limiting and how (linear or limited)."""
    assert before.integrated_lufs is not None
    gain = aim - before.integrated_lufs
    if (before.true_peak_db or -math.inf) + gain <= limit:
        return _gain(samples, gain), gain, "linear"
    gain = max(gain, guess) if guess is not None else gain
    out = samples
    for _ in range(ROUNDS):
        out = true_peak_limit(_gain(samples, gain), rate, limit)
        now = measure(out, rate, true_peak=False).integrated_lufs
        if now is None or abs(aim - now) <= TOLERANCE_LU / 2:
            break
        gain += aim - now
    return out, gain, "limited"


def true_peak_limit(samples: np.ndarray, rate: int, ceiling_db: float) -> np.ndarray:
    """Hold true peaks to ``ceiling_db``: FFmpeg's look-ahead ``alimiter`` on the signal oversampled 4x. Its
    look-ahead delays the sound by the attack (5 ms) unless ``latency`` compensates: without it the track would
    open on 5 ms of silence (a click where a loop replays) and lag the picture by as much."""
    high = rate * OVERSAMPLE
    limit = 10 ** (ceiling_db / 20)
    chain = [("aresample", str(high)),
             ("alimiter", f"limit={limit:.6f}:level=false:attack=5:release=80:asc=false:latency=true"),
             ("aresample", str(rate))]
    out = run_graph([samples], rate, chain).samples
    return _fit_length(out, samples.shape[1])


def encoded_loudness(samples: np.ndarray, rate: int, bitrate: int = 128_000) -> Loudness:
    """Loudness of ``samples`` after an AAC round trip (the encoder the MP4 gets)."""
    return measure(aac_round_trip(samples, rate, bitrate), rate)


def aac_round_trip(samples: np.ndarray, rate: int, bitrate: int = 128_000) -> np.ndarray:
    """Encode to AAC in memory and decode again."""
    import io

    import av
    import numpy as np

    from shortgen.audio.graph import layout_of

    buffer = io.BytesIO()
    layout = layout_of(samples.shape[0])
    with av.open(buffer, "w", format="adts") as container:
        stream = container.add_stream("aac", rate=rate, layout=layout)
        stream.bit_rate = bitrate
        for start in range(0, samples.shape[1], 1024):
            frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(samples[:, start:start + 1024]),
                                               format="fltp", layout=layout)
            frame.sample_rate, frame.pts = rate, start
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    buffer.seek(0)
    with av.open(buffer, "r", format="adts") as container:
        decoded = [frame.to_ndarray() for frame in container.decode(audio=0)]
    return np.concatenate(decoded, axis=1) if decoded else np.zeros_like(samples)


def _gain(samples: np.ndarray, db: float) -> np.ndarray:
    return (samples * 10 ** (db / 20)).astype("float32", copy=False)


def _fit_length(samples: np.ndarray, count: int) -> np.ndarray:
    import numpy as np

    if samples.shape[1] >= count:
        return samples[:, :count]
    return np.pad(samples, ((0, 0), (0, count - samples.shape[1])))


def _from_metadata(metadata: dict[str, str]) -> Loudness:
    integrated = float(metadata.get("lavfi.r128.I", "-inf"))
    peak = float(metadata.get("lavfi.r128.true_peak", "0"))
    return Loudness(integrated if integrated > SILENT_LUFS else None,
                    20 * math.log10(peak) if peak > 0 else None)


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 2)


__all__ = ["Loudness", "Normalised", "aac_round_trip", "encoded_loudness", "measure", "measure_file", "normalise",
           "true_peak_limit"]
