"""Variable-frame-rate input (as phones record) is resampled to a constant rate by timestamp."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import numpy as np
from typer.testing import CliRunner

from shortgen.cli.app import app
from shortgen.media import is_variable_rate, open_video
from tests.helpers import decode_frames, probe, small_preset

STEPS_MS = [20, 33, 50, 66, 33, 20, 50, 33]


def write_vfr(path: Path, n: int = 40) -> list[float]:
    """Frame i is grey level 6*i, shown at irregular times; returns the presentation times in seconds."""
    times, t = [], 0
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=30)
        stream.width, stream.height, stream.pix_fmt = 96, 160, "yuv420p"
        stream.codec_context.time_base = Fraction(1, 1000)
        stream.options = {"crf": "5", "preset": "ultrafast", "bframes": "0"}
        for i in range(n):
            frame = av.VideoFrame.from_ndarray(np.full((160, 96, 3), 6 * i, np.uint8), format="rgb24")
            frame.pts, frame.time_base = t, Fraction(1, 1000)
            times.append(t / 1000)
            container.mux(stream.encode(frame))
            t += STEPS_MS[i % len(STEPS_MS)]
        container.mux(stream.encode(None))
    return times


def test_variable_rate_is_detected_and_constant_rate_is_not() -> None:
    assert is_variable_rate([0, 0.02, 0.053, 0.103, 0.169])
    assert not is_variable_rate([i / 30 for i in range(30)])
    assert not is_variable_rate([round(i / 29.97, 3) for i in range(60)])  # millisecond rounding is not VFR


def test_each_tick_shows_the_nearest_frame(tmp_path: Path) -> None:
    times = write_vfr(tmp_path / "vfr.mp4")
    clip = open_video(tmp_path / "vfr.mp4", constant_fps=Fraction(30))
    assert clip.fps == 30 and clip.info["variable_frame_rate"] is True
    span = times[-1] - times[0] + 0.033
    assert clip.num_frames == round(span * 30)
    levels = [round(int(f[80, 48, 0]) / 6) for f in clip.frames]
    assert len(levels) == clip.num_frames
    for tick, level in enumerate(levels):
        nearest = min(range(len(times)), key=lambda i: abs(times[i] - tick / 30))
        assert abs(level - nearest) <= 1  # ties and codec rounding aside, the nearest frame in time
    assert levels == sorted(levels)


def test_edit_writes_constant_rate_with_the_source_duration(tmp_path: Path) -> None:
    times = write_vfr(tmp_path / "vfr.mp4")
    out = tmp_path / "out.mp4"
    preset = small_preset(tmp_path, output={"width": 96, "height": 160, "fps": 30})
    result = CliRunner().invoke(app, ["edit", str(tmp_path / "vfr.mp4"), "--preset", str(preset), "-o", str(out)])
    assert result.exit_code == 0, result.stderr
    info = probe(out)
    assert info["fps"] == 30
    assert abs(info["frames"] / 30 - (times[-1] - times[0] + 0.033)) < 0.05
    assert len(decode_frames(out)) == info["frames"]
