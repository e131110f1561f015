"""Same inputs, seed and model give bit-identical decoded frames: in one process, across processes, for
multi-segment clips, with and without the generation/encode overlap and with decode-ahead.

The cause found here was the encoder, not the model: with a VBV cap, x264's frame threads and its
macroblock-tree rate control encoded the same frames differently from run to run (every packet of a 10 s
clip). These tests use incompressible content (the tiny model's noise) so the cap is always active."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import numpy as np
import pytest

from shortgen.backends import LoadOptions, load_backend
from shortgen.config import MakeOptions
from shortgen.encode import encode_clip
from shortgen.frames import Clip
from shortgen.pipeline import make_clip
from shortgen.presets import load_preset
from tests.helpers import small_preset


def frame_digests(path: Path) -> list[str]:
    """One digest per decoded frame: comparing these is comparing every pixel."""
    with av.open(str(path)) as container:
        return [hashlib.sha256(f.to_ndarray(format="rgb24").tobytes()).hexdigest() for f in container.decode(video=0)]


def test_the_encoder_gives_identical_packets_for_identical_noise_frames(tmp_path: Path) -> None:
    frames = np.random.default_rng(0).integers(0, 256, (24, 640, 360, 3), dtype=np.uint8)
    encoder = load_preset("tiktok").encoder
    digests = []
    for run in range(3):
        out = tmp_path / f"noise{run}.mp4"
        encode_clip(Clip(360, 640, Fraction(30), len(frames), iter(frames)), out, encoder)
        with av.open(str(out)) as container:
            digests.append([hashlib.sha256(bytes(p)).hexdigest() for p in container.demux(video=0) if p.size])
    assert digests[0] == digests[1] == digests[2]


def test_reproducible_false_lets_x264_use_its_frame_threads_and_mb_tree() -> None:
    from shortgen.config import replace
    from shortgen.encode import x264_params

    encoder = load_preset("tiktok").encoder
    assert "threads=1" in x264_params(encoder, Fraction(30)) and "mbtree=0" in x264_params(encoder, Fraction(30))
    fast = x264_params(replace(encoder, reproducible=False), Fraction(30))
    assert "threads" not in fast and "mbtree" not in fast


@pytest.fixture(scope="module")
def tiny_backend(tiny_model_dir: Path) -> Any:
    return load_backend("ltx", LoadOptions(model=str(tiny_model_dir)))


def three_segment_options(tiny_model_dir: Path, out: Path, **extra: Any) -> MakeOptions:
    """3 s at 10 fps in 17-frame segments overlapping by 9: three model calls. A low bitrate cap keeps x264's
    VBV busy at this small size, as it is for noise at 1080x1920 (where the differences were first seen)."""
    preset = small_preset(out.parent, encoder={"preset": "veryfast", "max_bitrate_kbps": 300, "bufsize_kbps": 600})
    return MakeOptions(prompt="waves at dusk | the tide turns", preset=str(preset), model=str(tiny_model_dir),
                       duration=3, seed=3, output=str(out), **extra)


def test_make_twice_in_one_process_gives_identical_frames(tiny_model_dir: Path, tiny_backend: Any,
                                                          tmp_path: Path) -> None:
    runs: dict[str, list[str]] = {}
    for name, overlap in (("overlap-a", True), ("overlap-b", True), ("serial", False)):
        out = tmp_path / f"{name}.mp4"
        result = make_clip(three_segment_options(tiny_model_dir, out), backend=tiny_backend, overlap=overlap,
                           write_sidecar=False)
        assert len(result.plan["segments"]) == 3
        runs[name] = frame_digests(out)
    assert len(runs["overlap-a"]) == 30
    assert runs["overlap-a"] == runs["overlap-b"] == runs["serial"]


def test_decode_ahead_twice_gives_identical_frames(tiny_model_dir: Path, tiny_backend: Any, tmp_path: Path) -> None:
    runs = []
    for run in range(2):
        out = tmp_path / f"ahead{run}.mp4"
        make_clip(three_segment_options(tiny_model_dir, out, decode_ahead=True), backend=tiny_backend,
                  write_sidecar=False)
        runs.append(frame_digests(out))
    assert len(runs[0]) == 30 and runs[0] == runs[1]


def make_in_subprocess(tiny_model_dir: Path, out: Path, *extra: str) -> None:
    cmd = [sys.executable, "-m", "shortgen", "make", "waves at dusk | the tide turns", "--model", str(tiny_model_dir),
           "--duration", "10", "--seed", "3", "--steps", "2", "-o", str(out), "--quiet", *extra]
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=900, env={**os.environ, "NO_COLOR": "1"})
    assert result.returncode == 0, result.stderr


@pytest.mark.slow
def test_two_processes_at_the_default_size_give_identical_frames(tiny_model_dir: Path, tmp_path: Path) -> None:
    """Three segments at the default generation size (544x960), two separate processes, then the same with
    --decode-ahead."""
    for extra in ((), ("--decode-ahead",)):
        name = "ahead" if extra else "plain"
        first, second = tmp_path / f"{name}1.mp4", tmp_path / f"{name}2.mp4"
        make_in_subprocess(tiny_model_dir, first, *extra)
        make_in_subprocess(tiny_model_dir, second, *extra)
        digests = frame_digests(first)
        assert len(digests) == 300
        assert digests == frame_digests(second), f"{name}: frames differ between processes"
