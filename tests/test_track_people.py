"""``--fit track``, second detector: OpenCV's HOG people detector finds a walker whose face is too small for the
face cascade, and the window follows them rather than a brighter thing moving the other way."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest

import shortgen.stages.track as track
from shortgen.frames import Clip
from shortgen.stages.reframe import ReframeStage

W, H, FPS = 320, 180, 10
OUT_W, OUT_H = 180, 320
WINDOW = round(H * OUT_W / OUT_H)  # 101 source pixels wide
SHIRT = (200, 40, 40)
KITE = 48  # the distraction's side


def drawn_walker(height: int, stride: float) -> tuple[np.ndarray, np.ndarray]:
    """A pedestrian seen from the front (hair, face, shirt with arms, trousers, shoes), ``height`` px from head to
    feet, legs apart by ``stride`` (0-1): (RGB, alpha). Its head is below the face cascade's minimum size."""
    from PIL import Image, ImageDraw, ImageFilter

    u = height / 100  # the walker is 100 units tall
    w = int(height * 0.5)
    cx = w / 2
    image = Image.new("RGBA", (w, height), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    skin, trousers, shoes = (225, 180, 150), (40, 50, 90), (20, 20, 20)
    for side in (-1, 1):
        hip, foot = cx + side * 4 * u, cx + side * (4 + 8 * stride) * u
        draw.polygon([(hip - 4.5 * u, 50 * u), (hip + 4.5 * u, 50 * u), (foot + 3.5 * u, 95 * u),
                      (foot - 3.5 * u, 95 * u)], fill=trousers)
        draw.ellipse((foot - 5 * u, 93 * u, foot + 5 * u, 100 * u), fill=shoes)
    draw.polygon([(cx - 12 * u, 19 * u), (cx + 12 * u, 19 * u), (cx + 10 * u, 54 * u), (cx - 10 * u, 54 * u)],
                 fill=SHIRT)
    for side in (-1, 1):
        hand = (cx + side * 15 * u, 52 * u)
        draw.line([(cx + side * 12 * u, 20 * u), hand], fill=SHIRT, width=max(1, int(6 * u)))
        draw.ellipse((hand[0] - 2.5 * u, hand[1] - 2.5 * u, hand[0] + 2.5 * u, hand[1] + 2.5 * u), fill=skin)
    draw.rectangle((cx - 3 * u, 14 * u, cx + 3 * u, 20 * u), fill=skin)
    draw.ellipse((cx - 6.5 * u, 1 * u, cx + 6.5 * u, 16 * u), fill=skin)
    draw.chord((cx - 6.5 * u, 0, cx + 6.5 * u, 12 * u), 180, 360, fill=(50, 30, 20))
    rgba = np.asarray(image.filter(ImageFilter.GaussianBlur(0.8))).astype(np.float32)
    return rgba[..., :3], rgba[..., 3:] / 255


def landscape(seed: int = 0) -> np.ndarray:
    """Sky over grass, with a little sensor noise."""
    rng = np.random.default_rng(seed)
    frame = np.empty((H, W, 3), np.float32)
    frame[: H * 11 // 20] = (120, 170, 200)
    frame[H * 11 // 20:] = (70, 120, 60)
    return np.clip(frame + rng.normal(0, 6, frame.shape), 0, 255)


def place(frame: np.ndarray, walker: tuple[np.ndarray, np.ndarray], x: int, feet: int) -> np.ndarray:
    rgb, alpha = walker
    h, w = alpha.shape[:2]
    region = frame[feet - h:feet, x:x + w]
    region[:] = region * (1 - alpha) + rgb * alpha
    return frame


def walk_past_a_kite(n: int, height: int) -> tuple[list[np.ndarray], list[tuple[float, float]]]:
    """A walker crossing the frame left to right while a yellow kite (brighter, and moving more) crosses the sky
    right to left: (frames, the walker's body span along x in each)."""
    walkers = [drawn_walker(height, stride) for stride in (0.0, 0.5, 1.0, 0.5)]
    width = walkers[0][1].shape[1]
    frames, spans = [], []
    for i in range(n):
        x = round((W - width) * i / (n - 1))
        frame = place(landscape(), walkers[i % 4], x, round(H * 0.92))
        kite = round((W - KITE) * (1 - i / (n - 1)))
        frame[20:20 + KITE, kite:kite + KITE] = (255, 220, 40)
        frames.append(frame.astype(np.uint8))
        spans.append((x + 0.2 * width, x + 0.8 * width))  # the torso and legs; arms may stick out
    return frames, spans


def run_track(frames: list[np.ndarray]) -> tuple[list[float], list[np.ndarray], dict]:
    path: list[float] = []
    clip = Clip(W, H, Fraction(FPS), len(frames), iter(frames))
    rendered = list(ReframeStage(OUT_W, OUT_H, fit="track", pixel_format="rgb24", path=path).apply(clip).frames)
    return path, rendered, clip.facts["reframe_track"]


def inside(path: list[float], spans: list[tuple[float, float]]) -> int:
    return sum(round(p) <= a and b <= round(p) + WINDOW for p, (a, b) in zip(path, spans, strict=True))


def test_the_window_follows_a_walker_found_by_the_people_detector(monkeypatch: pytest.MonkeyPatch) -> None:
    n = 40
    frames, spans = walk_past_a_kite(n, height=80)  # under half the frame's height
    path, rendered, facts = run_track(frames)
    detections = facts["detections"]
    assert "faces" not in detections  # the face is too small: this is the people detector's work
    assert detections.get("people", 0) >= 0.9 * sum(detections.values())
    assert inside(path, spans) >= 0.95 * n
    # Independently of the path: the walker's shirt shows in the rendered frames.
    shirt = [(np.abs(f.astype(int) - SHIRT).max(axis=2) < 40).sum() for f in rendered]
    assert sum(count > 100 for count in shirt) >= 0.95 * n

    # The control: without the people detector, motion decides and the window goes after the kite too.
    monkeypatch.setattr(track, "_people_detector", lambda cv2: None)
    path, _, facts = run_track(frames)
    assert "people" not in facts["detections"]
    assert inside(path, spans) < 0.6 * n


@pytest.mark.parametrize("height", [64, 150])  # a third of the frame's height, and nine tenths of it
def test_the_people_detector_finds_small_and_tall_people(height: int) -> None:
    walker = drawn_walker(height, 0.5)
    x = 200
    frame = place(landscape(), walker, x, round(H * 0.92)).astype(np.uint8)
    analyzer = track.Analyzer(True, track.TrackSettings(fps=FPS))
    analyzer.faces = None  # the people detector alone
    centre, _ = analyzer.analyse(frame)
    assert analyzer.counts == {"people": 1}
    assert centre is not None and abs(centre * W - (x + walker[1].shape[1] / 2)) < 8
