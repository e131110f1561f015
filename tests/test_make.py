"""``make`` end to end on the tiny random-weight LTX pipeline, loaded through the real loading code."""

from __future__ import annotations

import json
import os
import subprocess
import sys
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
from tests.helpers import decode_frames, probe, small_preset, top_level_boxes


def test_make_subprocess_produces_a_platform_ready_clip(tiny_model_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "smoke.mp4"
    cmd = [sys.executable, "-m", "shortgen", "make", "a red fox | fresh snow", "--model", str(tiny_model_dir),
           "--gen-size", "96x160", "--duration", "12", "--seed", "5", "--preset", "tiktok", "-o", str(out), "--json"]
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=600, env={**os.environ, "NO_COLOR": "1"})
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary["frames"] == 360 and summary["seed"] == 5 and summary["output"] == str(out)
    info = probe(out)
    assert (info["codec"], info["profile"], info["pix_fmt"]) == ("h264", "High", "yuv420p")
    assert (info["width"], info["height"], info["fps"], info["frames"]) == (1080, 1920, 30, 360)
    assert info["audio"] == [("aac", 48000, 2)]
    boxes = top_level_boxes(out)
    assert boxes.index("moov") < boxes.index("mdat")
    sidecar = json.loads(out.with_suffix(".json").read_text(encoding="utf-8"))
    assert len(sidecar["plan"]["segments"]) >= 2
    assert sidecar["prompts"] == ["a red fox", "fresh snow"] and sidecar["seed"] == 5
    assert sidecar["model"]["model"] == str(tiny_model_dir) or str(tiny_model_dir) in json.dumps(sidecar["model"])
    assert sidecar["preset"]["generation"]["width"] == 96
    assert {"model", "encode", "upscale"} <= set(sidecar["result"]["timings"])
    assert sidecar["versions"]["diffusers"] and sidecar["versions"]["torch"]
    assert sidecar["result"]["check"]["ok"] is True, sidecar["result"]["check"]  # the tiktok platform rules
    assert sidecar["result"]["credentials"] == {"signed": False}
    assert "\x1b[" not in result.stderr  # no colour codes in a non-terminal log


@pytest.fixture(scope="module")
def tiny_backend(tiny_model_dir: Path) -> Any:
    return load_backend("ltx", LoadOptions(model=str(tiny_model_dir)))


def small_options(tmp_path: Path, model: Path, **extra: Any) -> MakeOptions:
    preset = small_preset(tmp_path)
    return MakeOptions(prompt="test", preset=str(preset), model=str(model), duration=2, **extra)


def test_same_seed_same_frames_other_seed_other_frames(tiny_model_dir: Path, tiny_backend: Any,
                                                       tmp_path: Path) -> None:
    clips = {}
    for name, seed in (("a", 1), ("b", 1), ("c", 2)):
        out = tmp_path / f"{name}.mp4"
        make_clip(small_options(tmp_path, tiny_model_dir, seed=seed, output=str(out)), backend=tiny_backend)
        clips[name] = np.stack(decode_frames(out))
    assert clips["a"].shape == (20, 320, 180, 3)
    assert np.array_equal(clips["a"], clips["b"])
    assert not np.array_equal(clips["a"], clips["c"])


class Spy:
    """Wraps a backend; records requests; can fail on a chosen call."""

    def __init__(self, backend: Any, fail_on: int | None = None, error: BaseException | None = None) -> None:
        self.backend, self.fail_on, self.error = backend, fail_on, error
        self.requests: list[SegmentRequest] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self.backend, name)

    def generate(self, request: SegmentRequest, on_step: Any = None) -> np.ndarray:
        self.requests.append(request)
        if self.fail_on is not None and len(self.requests) > self.fail_on:
            raise self.error or RuntimeError("boom")
        return self.backend.generate(request, on_step)


def test_segments_after_the_first_are_conditioned_on_the_previous_tail(tiny_model_dir: Path, tiny_backend: Any,
                                                                       tmp_path: Path) -> None:
    spy = Spy(tiny_backend)
    make_clip(small_options(tmp_path, tiny_model_dir, output=str(tmp_path / "c.mp4")), backend=spy)
    assert len(spy.requests) >= 2
    assert spy.requests[0].conditions == ()
    for request in spy.requests[1:]:
        (cond,) = request.conditions
        assert cond.frame_index == 0 and cond.frames.shape == (9, 160, 96, 3)


def test_image_becomes_the_first_condition(tiny_model_dir: Path, tiny_backend: Any, tmp_path: Path) -> None:
    from PIL import Image

    image = tmp_path / "still.png"
    Image.new("RGB", (300, 200), (200, 30, 30)).save(image)
    spy = Spy(tiny_backend)
    make_clip(small_options(tmp_path, tiny_model_dir, image=str(image), output=str(tmp_path / "i.mp4")), backend=spy)
    first = spy.requests[0].conditions[0]
    assert first.frame_index == 0 and first.frames.shape == (1, 160, 96, 3)
    assert (first.frames[0, 80, 48] == (200, 30, 30)).all()  # cover-cropped, not letterboxed


@pytest.mark.parametrize("error", [KeyboardInterrupt(), RuntimeError("CUDA out of memory")])
def test_interrupted_or_failed_run_leaves_no_file(tiny_model_dir: Path, tiny_backend: Any, tmp_path: Path,
                                                  error: BaseException) -> None:
    out = tmp_path / "out" / "clip.mp4"
    out.parent.mkdir()
    with pytest.raises(type(error)):
        make_clip(small_options(tmp_path, tiny_model_dir, output=str(out)), backend=Spy(tiny_backend, 1, error))
    assert list(out.parent.iterdir()) == []


def test_ctrl_c_exits_130_without_output(tiny_model_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import shortgen.pipeline.make as make  # where make_clip looks load_generator up

    def interrupted(*args: Any, **kwargs: Any) -> Any:
        raise KeyboardInterrupt

    monkeypatch.setattr(make, "load_generator", interrupted)
    out = tmp_path / "clip.mp4"
    result = CliRunner().invoke(app, ["make", "x", "--model", str(tiny_model_dir), "-o", str(out)])
    assert result.exit_code == 130 and "interrupted" in result.stderr
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(("model", "message"), [
    ("acme/not-cached-model", "not in the local Hugging Face cache"),
    ("{tmp}", "not a diffusers pipeline"),
])
def test_model_errors_are_one_line(tmp_path: Path, model: str, message: str) -> None:
    out = tmp_path / "clip.mp4"
    result = CliRunner().invoke(app, ["make", "x", "--model", model.format(tmp=tmp_path), "-o", str(out)])
    assert result.exit_code in (1, 2)
    lines = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(lines) == 1 and message in lines[0], result.stderr
    assert not out.exists()


def test_overlapped_generation_gives_the_same_frames(tiny_model_dir: Path, tiny_backend: Any, tmp_path: Path) -> None:
    decoded = {}
    for overlap in (True, False):
        out = tmp_path / f"overlap-{overlap}.mp4"
        make_clip(small_options(tmp_path, tiny_model_dir, seed=3, output=str(out)), backend=tiny_backend,
                  overlap=overlap)
        decoded[overlap] = np.stack(decode_frames(out))
    assert np.array_equal(decoded[True], decoded[False])
