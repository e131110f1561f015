"""Sound for the audio tests: WAV writers, packet damage, and FFmpeg's own loudness meter as the judge."""

from __future__ import annotations

import re
import subprocess
import wave
from pathlib import Path

import av
import numpy as np

RATE = 48000


def write_wav(path: Path, samples: np.ndarray, rate: int = RATE) -> Path:
    """Planar float ``(channels, n)`` (or mono ``(n,)``) as 16-bit PCM."""
    samples = samples[None, :] if samples.ndim == 1 else samples
    pcm = np.round(np.clip(samples, -1, 1) * 32767).astype("<i2")
    with wave.open(str(path), "wb") as handle:
        handle.setnchannels(samples.shape[0])
        handle.setsampwidth(2)
        handle.setframerate(rate)
        handle.writeframes(pcm.T.tobytes())
    return path


def tone(seconds: float, freq: float, amplitude: float, rate: int = RATE) -> np.ndarray:
    t = np.arange(round(seconds * rate)) / rate
    return (amplitude * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def corrupt_packet(path: Path, index: int, out: Path) -> tuple[int, int]:
    """A copy of ``path`` with the payload of its ``index``-th audio packet overwritten; returns that packet's
    (pts, duration) in the stream's time base."""
    with av.open(str(path)) as container:
        stream = container.streams.audio[0]
        packets = [(p.pos, p.size, p.pts, p.duration) for p in container.demux(stream) if p.size]
    pos, size, pts, duration = packets[index]
    data = bytearray(path.read_bytes())
    data[pos:pos + size] = b"\x55" * size
    out.write_bytes(bytes(data))
    return pts, duration


def write_avi_ac3(path: Path, seconds: float = 3.0, fps: int = 10) -> Path:
    """An AVI with MPEG-4 video and an AC-3 tone, the kind of file the damaged-audio report came from."""
    with av.open(str(path), "w") as container:
        video = container.add_stream("mpeg4", rate=fps)
        video.width, video.height, video.pix_fmt = 96, 160, "yuv420p"
        audio = container.add_stream("ac3", rate=RATE, layout="stereo")
        for i in range(round(seconds * fps)):
            frame = av.VideoFrame.from_ndarray(np.full((160, 96, 3), 8 * i % 256, np.uint8), format="rgb24")
            frame.pts = i
            container.mux(video.encode(frame))
        container.mux(video.encode(None))
        sound = tone(seconds, 440, 0.2)
        for start in range(0, sound.shape[0], 1536):
            chunk = np.ascontiguousarray(np.stack([sound[start:start + 1536]] * 2))
            frame = av.AudioFrame.from_ndarray(chunk, format="fltp", layout="stereo")
            frame.sample_rate, frame.pts = RATE, start
            container.mux(audio.encode(frame))
        container.mux(audio.encode(None))
    return path


def decode_audio(path: Path) -> np.ndarray:
    with av.open(str(path)) as container:
        resampler = av.AudioResampler(format="fltp", layout="stereo", rate=RATE)
        chunks = [out.to_ndarray() for frame in container.decode(audio=0) for out in resampler.resample(frame)]
    return np.concatenate(chunks, axis=1)


def ffmpeg_loudness(path: Path) -> tuple[float, float]:
    """(integrated LUFS, true peak dBTP) of a file's audio by the ``ffmpeg`` binary's ``ebur128`` filter: an
    independent judge of what shortgen wrote."""
    import imageio_ffmpeg

    done = subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-hide_banner", "-nostats", "-i", str(path), "-map",
                           "0:a:0", "-af", "ebur128=peak=true", "-f", "null", "-"],
                          capture_output=True, text=True, check=True)
    summary = done.stderr[done.stderr.rindex("Summary:"):]
    integrated = re.search(r"I:\s+(-?[\d.]+|-inf) LUFS", summary)
    peak = re.search(r"True peak:\s+Peak:\s+(-?[\d.]+|-inf) dBFS", summary)
    assert integrated and peak, summary
    return float(integrated[1]), float(peak[1])


def band_level(samples: np.ndarray, rate: int, freq: float) -> float:
    """Amplitude of the ``freq`` component of a mono stretch (a windowed DFT bin)."""
    window = np.hanning(samples.shape[-1])
    spectrum = np.abs(np.fft.rfft(samples * window))
    bin_ = round(freq * samples.shape[-1] / rate)
    return float(spectrum[bin_ - 2:bin_ + 3].max() * 2 / window.sum())
