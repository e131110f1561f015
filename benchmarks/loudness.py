"""The sound pass on a 30 s clip: ``inspect``'s loudness measurement against the same command without it, and
the mix's normalisation (linear gain, and true-peak limiting) against its bare decode."""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from benchmarks.harness import machine, measure

RUNS = 5
SECONDS = 30


def sample(folder: Path) -> Path:
    """A 30 s 180x320 clip with a 30 s speech-like track: syllables of a buzzy tone, clicks far above them."""
    from fractions import Fraction

    import av
    import numpy as np

    from shortgen.config import EncoderSpec
    from shortgen.encode import encode_clip
    from shortgen.frames import AudioSpec, Clip

    rate = 48000
    t = np.arange(SECONDS * rate) / rate
    voice = np.clip(np.sin(2 * np.pi * 3 * t), 0, None) ** 2 * 0.05 * np.sign(np.sin(2 * np.pi * 150 * t))
    voice[:: rate // 2] += 0.3
    wav = folder / "speech.flac"
    with av.open(str(wav), "w") as container:
        stream = container.add_stream("flac", rate=rate, layout="stereo")
        for start in range(0, voice.shape[0], 4096):
            chunk = np.ascontiguousarray(np.stack([voice[start:start + 4096]] * 2)).astype(np.float32)
            frame = av.AudioFrame.from_ndarray((chunk.T * 32767).astype(np.int16).reshape(1, -1), format="s16",
                                               layout="stereo")
            frame.sample_rate, frame.pts = rate, start
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    frames = (np.full((320, 180, 3), i % 256, np.uint8) for i in range(SECONDS * 30))
    path = folder / "sample.mp4"
    encode_clip(Clip(180, 320, Fraction(30), SECONDS * 30, frames, audio=AudioSpec(wav)), path,
                EncoderSpec(preset="ultrafast"))
    return path


def timed(fn: Callable[[], object]) -> float:
    times = []
    for _ in range(RUNS):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main() -> None:
    from shortgen.audio.loudness import normalise
    from shortgen.audio.read import read_span

    py = sys.executable
    with tempfile.TemporaryDirectory() as tmp:
        video = sample(Path(tmp))
        base = measure("inspect --no-seam --no-loudness", [py, "-m", "shortgen", "inspect", str(video), "--no-seam",
                                                           "--no-loudness"], RUNS)
        loud = measure("inspect --no-seam", [py, "-m", "shortgen", "inspect", str(video), "--no-seam"], RUNS)
        samples, _, _ = read_span(video, 48000, 0, SECONDS * 48000)
        decode = timed(lambda: read_span(video, 48000, 0, SECONDS * 48000))
        linear = timed(lambda: normalise(samples, 48000, -30.0, -1.0))
        limited = timed(lambda: normalise(samples, 48000, -14.0, -1.0))
    print(f"\n## Sound: {SECONDS} s clip (median of {RUNS})\n{machine()}\n")
    print("| work | wall (s) | vs baseline |")
    print("|---|---|---|")
    print(f"| {base.name} (baseline) | {base.seconds:.3f} | 1.00 |")
    print(f"| {loud.name} (+ loudness) | {loud.seconds:.3f} | {loud.seconds / base.seconds:.2f} "
          f"(+{loud.seconds - base.seconds:.3f} s) |")
    print(f"| decode the track (baseline) | {decode:.3f} | 1.00 |")
    print(f"| normalise, linear gain | {linear:.3f} | {linear / decode:.2f} |")
    print(f"| normalise, true-peak limited | {limited:.3f} | {limited / decode:.2f} |")


if __name__ == "__main__":
    main()
