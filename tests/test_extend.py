"""``make --extend CLIP``: CLIP comes first, the new part continues from its last frames, the total is exact."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from typer.testing import CliRunner

from shortgen.backends import LoadOptions, load_backend
from shortgen.backends.base import SegmentRequest
from shortgen.cli.app import app
from shortgen.config import MakeOptions
from shortgen.pipeline import make_clip
from tests.helpers import decode_frames, probe, small_preset, write_test_video

runner = CliRunner()
FPS = 10
CLIP_FRAMES = 15
CONDITION = 9  # the small preset's overlap


@pytest.fixture(scope="module")
def tiny_backend(tiny_model_dir: Path) -> Any:
    return load_backend("ltx", LoadOptions(model=str(tiny_model_dir)))


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_test_video(tmp_path_factory.mktemp("extend") / "fox.mp4", n=CLIP_FRAMES, width=96, height=160,
                            fps=FPS, crf=4)


class Recorder:
    def __init__(self, backend: Any) -> None:
        self.backend, self.requests = backend, []

    def __getattr__(self, name: str) -> Any:
        return getattr(self.backend, name)

    def generate(self, request: SegmentRequest, on_step: Any = None) -> np.ndarray:
        self.requests.append(request)
        return self.backend.generate(request, on_step)


def preset(tmp_path: Path) -> Path:
    # Output at the generation size, so CLIP's frames reach the output without a resize (encode loss only).
    return small_preset(tmp_path, output={"width": 96, "height": 160, "fps": FPS})


def test_extend_starts_with_the_clip_and_continues_from_its_end(tiny_backend: Any, clip: Path, tmp_path: Path,
                                                                tiny_model_dir: Path) -> None:
    out = tmp_path / "long.mp4"
    spy = Recorder(tiny_backend)
    options = MakeOptions(prompt="the fox jumps into the river", preset=str(preset(tmp_path)),
                          model=str(tiny_model_dir), extend=str(clip), duration=4, output=str(out))
    result = make_clip(options, backend=spy)
    info = probe(out)
    assert (info["width"], info["height"], info["frames"]) == (96, 160, 40)  # --duration is the total
    source, output = decode_frames(clip), decode_frames(out)
    kept = CLIP_FRAMES - CONDITION
    for got, want in zip(output[:kept], source[:kept], strict=True):
        assert np.abs(got.astype(int) - want.astype(int)).mean() < 3  # CLIP's frames, re-encoded
    first = spy.requests[0]
    assert len(first.conditions) == 1 and first.conditions[0].frame_index == 0
    np.testing.assert_array_equal(first.conditions[0].frames, np.stack(source[-CONDITION:]))
    assert result.plan["extend"]["source_frames"] == CLIP_FRAMES
    generated = sum(s["num_frames"] - s["overlap"] for s in result.plan["segments"])
    assert generated >= 40 - kept


@pytest.mark.parametrize(("make_clip_file", "message"), [
    (lambda d: d / "missing.mp4", "does not exist"),
    (lambda d: (d / "junk.mp4").write_bytes(b"not a video") and d / "junk.mp4", "not a video"),
    (lambda d: write_test_video(d / "short.mp4", n=5, fps=FPS), "at least the 9 frames"),
])
def test_bad_clips_are_one_line_errors_and_write_nothing(tmp_path: Path, make_clip_file: Any,
                                                         message: str) -> None:
    source = make_clip_file(tmp_path)
    out = tmp_path / "out.mp4"
    result = runner.invoke(app, ["make", "x", "--preset", str(preset(tmp_path)), "--extend", str(source),
                                 "--duration", "4", "-o", str(out)])
    assert result.exit_code in (1, 2) and message in result.output, result.output
    assert "Traceback" not in result.output and not out.exists()


def test_duration_must_exceed_the_clip(clip: Path, tmp_path: Path) -> None:
    result = runner.invoke(app, ["make", "x", "--preset", str(preset(tmp_path)), "--extend", str(clip),
                                 "--duration", "1.5", "--dry-run"])
    assert result.exit_code == 2 and "must be longer" in result.output
