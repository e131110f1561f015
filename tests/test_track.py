"""``--fit track``: the window follows a moving subject, without jitter, jumps only at scene cuts, and holds
only a bounded look-ahead of frames."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from shortgen.cli.app import app
from shortgen.errors import UsageError
from shortgen.frames import Clip
from shortgen.stages.reframe import ReframeStage
from shortgen.stages.track import TrackSettings, keyframes
from tests.helpers import decode_frames, moving_square_frames, small_preset, write_test_video

W, H, FPS = 320, 180, 10
OUT_W, OUT_H = 180, 320
SIZE = min(W, H) // 5  # the helper's square
WINDOW = round(H * OUT_W / OUT_H)  # 101 source pixels wide


def square_x(i: int, n: int) -> int:
    return int((W - SIZE) * i / max(1, n - 1))


def run_track(frames: list[np.ndarray], **track: float) -> tuple[list[float], list[np.ndarray], dict]:
    path: list[float] = []
    clip = Clip(W, H, Fraction(FPS), len(frames), iter(frames))
    out = ReframeStage(OUT_W, OUT_H, fit="track", pixel_format="rgb24", path=path, track=track).apply(clip)
    rendered = list(out.frames)
    return path, rendered, clip.facts["reframe_track"]


def max_accel_px(**track: float) -> float:
    settings = TrackSettings(fps=FPS, **track)
    return settings.max_accel * W / FPS ** 2


@pytest.mark.parametrize("reverse", [False, True])
def test_the_window_keeps_a_moving_subject_in_frame_without_jitter(reverse: bool) -> None:
    n = 60
    frames = list(moving_square_frames(n, W, H))
    xs = [square_x(i, n) for i in range(n)]
    if reverse:
        frames, xs = frames[::-1], xs[::-1]
    path, rendered, facts = run_track(frames)
    assert len(path) == len(rendered) == n
    inside = [round(p) <= x and x + SIZE <= round(p) + WINDOW for p, x in zip(path, xs, strict=True)]
    assert sum(inside) >= 0.95 * n
    # Independently of the path: the yellow square shows, whole, in the rendered frames.
    yellow = [((f[..., 0] > 200) & (f[..., 1] > 180) & (f[..., 2] < 110)).sum() for f in rendered]
    full = (SIZE * OUT_H / H) ** 2
    assert sum(count > 0.8 * full for count in yellow) >= 0.95 * n
    assert np.abs(np.diff(path, 2)).max() <= max_accel_px() + 1e-6  # bounded acceleration: no jitter
    assert facts["cuts"] == [] and facts["detections"]


def test_a_still_subject_gets_a_still_window() -> None:
    frame = next(moving_square_frames(1, W, H))
    path, _, _ = run_track([frame.copy() for _ in range(30)])
    assert max(path) - min(path) == 0


def shot(n: int, x: int, colours: tuple[int, int, int]) -> list[np.ndarray]:
    base = np.zeros((H, W, 3), np.uint8)
    base[:] = colours
    base[:, :, 0] = np.linspace(colours[0], 255 - colours[0], W, dtype=np.uint8)
    base[80:80 + SIZE, x:x + SIZE] = (255, 220, 40)
    return [base.copy() for _ in range(n)]


def test_a_hard_cut_makes_one_jump_and_only_there() -> None:
    frames = shot(20, 20, (30, 40, 50)) + shot(20, W - SIZE - 20, (200, 170, 140))
    path, _, facts = run_track(frames)
    assert facts["cuts"] == [20]
    steps = np.abs(np.diff(path))
    speed = TrackSettings(fps=FPS).max_speed * W / FPS
    assert [i + 1 for i in np.flatnonzero(steps > speed + 1e-6)] == [20]
    assert path[19] <= 20 and path[20] + WINDOW >= W - 20  # each shot's square is in its window
    for part in (path[:20], path[20:]):
        assert np.abs(np.diff(part, 2)).max() <= max_accel_px()


def test_only_a_bounded_look_ahead_is_held() -> None:
    pulled = 0
    lookahead = TrackSettings(fps=FPS).lookahead

    def source() -> Iterator[np.ndarray]:
        nonlocal pulled
        for frame in moving_square_frames(80, W, H):
            pulled += 1
            yield frame

    clip = Clip(W, H, Fraction(FPS), 80, source())
    stage = ReframeStage(OUT_W, OUT_H, fit="track", pixel_format="rgb24")
    for emitted, _ in enumerate(stage.apply(clip).frames, start=1):
        assert pulled - emitted <= lookahead  # frames held: the look-ahead, whatever the clip's length


def test_keyframes_give_the_path_back() -> None:
    path = [0.0] * 5 + [float(i * i) for i in range(10)] + [81.0] * 5 + [10.0] * 5
    kept = keyframes(path, [20])
    frames, values = zip(*kept, strict=True)
    assert 19 in frames and 20 in frames
    rebuilt = np.interp(np.arange(len(path)), frames, values)
    assert np.abs(rebuilt[:20] - path[:20]).max() <= 1.05 and np.abs(rebuilt[20:] - path[20:]).max() <= 1.05
    assert len(kept) < len(path) / 2


def test_track_needs_frames_and_opencv(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(UsageError, match="needs frames"):
        ReframeStage(OUT_W, OUT_H, fit="track").apply(Clip(W, H, Fraction(FPS), 0, iter([])))
    monkeypatch.setitem(sys.modules, "cv2", None)
    with pytest.raises(UsageError, match=r"shortgen\[track\]"):
        ReframeStage(OUT_W, OUT_H, fit="track")


def test_edit_fit_track_records_the_path_in_the_sidecar(tmp_path: Path) -> None:
    write_test_video(tmp_path / "walk.mp4", n=30, width=W, height=H, fps=FPS)
    small_preset(tmp_path)
    out = tmp_path / "walk-vertical.mp4"
    result = CliRunner().invoke(app, ["edit", str(tmp_path / "walk.mp4"), "--preset", str(tmp_path / "tiny.yaml"),
                                      "--fit", "track", "-o", str(out)])
    assert result.exit_code == 0, result.stderr
    assert len(decode_frames(out)) == 30
    info = json.loads(out.with_suffix(".json").read_text(encoding="utf-8"))["result"]["info"]
    assert info["reframe"]["fit"] == "track"
    track = info["reframe_track"]
    assert track["axis"] == "x" and track["window"] == [WINDOW, H]
    assert track["keyframes"][0][0] == 0 and track["keyframes"][-1][0] == 29
    assert 2 <= len(track["keyframes"]) < 30


def test_an_image_still_with_track_keeps_its_subject(tmp_path: Path) -> None:
    from PIL import Image

    from shortgen.config import ReframeSpec
    from shortgen.media import load_image

    wide = tmp_path / "wide.png"
    Image.fromarray(list(moving_square_frames(10, W, H))[9]).save(wide)  # the square at the right edge

    def yellow(rgb: np.ndarray) -> int:
        return int(((rgb[..., 0] > 200) & (rgb[..., 1] > 180) & (rgb[..., 2] < 110)).sum())

    assert yellow(load_image(wide, 96, 160)) == 0  # the centre crop misses it
    assert yellow(load_image(wide, 96, 160, fit=ReframeSpec(fit="track"))) > 0.8 * (SIZE * 160 / H) ** 2


def drawn_face(size: int) -> np.ndarray:
    """A schematic face (hair, eyes, brows, nose, mouth) that OpenCV's frontal-face cascade finds at 50-120 px."""
    from PIL import Image, ImageDraw, ImageFilter

    w, h = size, int(size * 1.25)
    image = Image.new("L", (w, h), 90)
    draw = ImageDraw.Draw(image)
    draw.ellipse((int(w * 0.05), int(h * 0.05), int(w * 0.95), int(h * 0.98)), fill=200)
    draw.chord((int(w * 0.05), 0, int(w * 0.95), int(h * 0.5)), 180, 360, fill=50)
    eyes = int(h * 0.45)
    for cx in (int(w * 0.32), int(w * 0.68)):
        draw.ellipse((cx - int(w * 0.11), eyes - int(h * 0.04), cx + int(w * 0.11), eyes + int(h * 0.04)), fill=40)
        draw.rectangle((cx - int(w * 0.14), eyes - int(h * 0.11), cx + int(w * 0.14), eyes - int(h * 0.08)), fill=70)
    draw.polygon([(w // 2, eyes), (w // 2 - int(w * 0.08), int(h * 0.66)), (w // 2 + int(w * 0.08), int(h * 0.66))],
                 fill=170)
    draw.ellipse((w // 2 - int(w * 0.18), int(h * 0.75), w // 2 + int(w * 0.18), int(h * 0.82)), fill=60)
    grey = np.asarray(image.filter(ImageFilter.GaussianBlur(2)))
    return np.repeat(grey[..., None], 3, axis=2)


def test_a_face_wins_over_a_moving_distraction() -> None:
    """Faces first: a still face on the right holds the window although a bright square moves on the left."""
    face = drawn_face(80)
    frames = []
    for frame in moving_square_frames(40, W // 2, H):  # the square sweeps the left half only
        wide = np.full((H, W, 3), 120, np.uint8)
        wide[:, : W // 2] = frame
        wide[40:40 + face.shape[0], 220:220 + face.shape[1]] = face
        frames.append(wide)
    path, _, facts = run_track(frames)
    assert facts["detections"].get("faces", 0) >= 10
    centre = 220 + 40
    assert all(p <= centre - 40 and centre + 40 <= p + WINDOW for p in path)  # the face stays in the window
    assert max(path) - min(path) < 1  # and the window holds still
