"""``--fit track``: a crop window that follows what matters, moved like a camera operator would.

Analysis runs on a small copy of each frame (about 180 px high). Six times a second (and at every scene
cut) one detector gives the subject's centre, the first that finds something winning:

1. faces: OpenCV's Haar frontal-face cascade (``cv2.data``, shipped inside the opencv-python wheel);
2. people: OpenCV's HOG people detector (its SVM coefficients are compiled into OpenCV), on a 1.5x larger copy
   (:data:`PEOPLE_HEIGHT`) with a border above and below, every third detection; what it found holds until
   the next people pass;
3. motion: where the frame changed since the last analysed frame (frame differencing);
4. saliency: frequency-tuned saliency (Achanta et al. 2009): the colours most distinct from the frame's mean.

Scene cuts: the grey histograms of consecutive frames differ by more than :data:`CUT_DISTANCE` (total
variation). The path then jumps once, to where the new shot's subject is.

The path: at each frame the window aims at the mean subject position over the next ``lookahead_seconds``
(up to the next cut), so it starts moving before the subject leaves. It holds still while that aim is within
a dead zone, moves no faster than ``max_speed`` and changes speed by at most ``max_accel`` per frame (so the
second difference of the path is bounded: no jitter), and brakes to arrive without overshooting. Only the
look-ahead window of frames is held (``lookahead_seconds`` × fps source frames), whatever the clip's length.
"""

from __future__ import annotations

import itertools
import math
from collections import Counter, deque
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from shortgen.errors import UsageError
from shortgen.frames import Clip

INSTALL_HINT = "pip install 'shortgen[track]'"
ANALYSIS_HEIGHT = 180
CUT_DISTANCE = 0.5  # total-variation distance of 32-bin grey histograms that counts as a cut
MOTION_LEVEL = 24  # grey levels of change that count as motion
FACE_CASCADE = "haarcascade_frontalface_default.xml"
ANALYSIS_SOURCE_HEIGHT = 360  # the decoder's frames are analysed from an RGB copy this high (2x the analysis)
# HOG's window is 64x128 around a ~96 px person, so at 180 px it finds only people taller than half the frame.
# At 270 px (1.5x) it finds them from a third of the frame height; the replicated border (1/8 of the height above
# and below) lets the window reach past the frame's edges, for people up to ~9/10 of it (measured on drawn
# walkers 60-160 px high in a 180 px frame: >= 18 of 20 frames found at every height; without the border
# those over ~0.7 of the frame were missed).
PEOPLE_HEIGHT = 270
PEOPLE_BORDER = 0.125


def require_opencv() -> Any:
    try:
        import cv2
    except ImportError:
        raise UsageError("--fit track needs OpenCV, which is not installed", INSTALL_HINT) from None
    return cv2


@dataclass(frozen=True)
class TrackSettings:
    fps: float = 30.0
    lookahead_seconds: float = 1.0
    detections_per_second: float = 6.0  # cuts are analysed on every frame, subjects this often
    max_speed: float = 0.5  # source widths (or heights) per second
    max_accel: float = 1.5  # source widths per second²
    dead_zone: float = 0.1  # fraction of the window: smaller aims leave the camera still
    people_every: int = 3  # run the (slower) people detector on every n-th detection; its find holds between

    @property
    def lookahead(self) -> int:
        return max(1, round(self.lookahead_seconds * self.fps))

    @property
    def detect_every(self) -> int:
        return max(1, round(self.fps / self.detections_per_second))


# ------------------------------------------------------------------------------------------ analysis


class Analyzer:
    """Finds the subject's centre (0-1 along the axis the window slides on) and scene cuts."""

    def __init__(self, horizontal: bool, settings: TrackSettings) -> None:
        cv2 = require_opencv()
        self.cv2 = cv2
        self.horizontal = horizontal
        self.settings = settings
        self.faces = _face_cascade(cv2)
        self.people = _people_detector(cv2)
        self.counts: Counter[str] = Counter()
        self._hist: Any = None
        self._reference: Any = None  # the last analysed grey frame (for motion)
        self._index = 0
        self._person: float | None = None  # the last people pass's find (small-frame pixels), held between passes
        self._person_age = settings.people_every  # detections since the last people pass: due at once

    @property
    def detectors(self) -> list[str]:
        return [name for name, ok in (("faces", self.faces is not None), ("people", self.people is not None),
                                      ("motion", True), ("saliency", True)) if ok]

    def small(self, rgb: np.ndarray) -> np.ndarray:
        step = max(1, rgb.shape[0] // ANALYSIS_HEIGHT)
        return np.ascontiguousarray(rgb[::step, ::step])

    def analyse(self, rgb: np.ndarray) -> tuple[float | None, bool]:
        """(subject centre or None when this frame is not analysed / nothing found, scene cut here?)."""

        small = self.small(rgb)
        grey = self.cv2.cvtColor(small, self.cv2.COLOR_RGB2GRAY)
        hist = self.cv2.calcHist([grey], [0], None, [32], [0, 256]).ravel()
        hist /= max(1.0, float(hist.sum()))
        cut = self._hist is not None and 0.5 * float(np.abs(hist - self._hist).sum()) > CUT_DISTANCE
        self._hist = hist
        due = self._index % self.settings.detect_every == 0
        self._index += 1
        if cut:
            self._reference = None
            self._person, self._person_age = None, self.settings.people_every
        if not (due or cut):
            return None, cut
        centre, kind = self.detect(grey, small, rgb)
        self._reference = grey
        self.counts[kind] += 1
        return centre, cut

    def detect(self, grey: np.ndarray, small: np.ndarray, rgb: np.ndarray) -> tuple[float | None, str]:
        self._person_age += 1
        size = grey.shape[1] if self.horizontal else grey.shape[0]
        for kind, find in (("faces", self._faces), ("people", lambda g: self._people(g, rgb)),
                           ("motion", self._motion), ("saliency", lambda _: _saliency(small, self.horizontal))):
            found = find(grey)
            if found is not None:
                return min(1.0, max(0.0, found / size)), kind
        return None, "none"

    def _along(self, x: float, y: float) -> float:
        return x if self.horizontal else y

    def _largest(self, boxes: Any) -> float | None:
        if boxes is None or len(boxes) == 0:
            return None
        x, y, w, h = max(boxes, key=lambda b: b[2] * b[3])
        return self._along(x + w / 2, y + h / 2)

    def _faces(self, grey: np.ndarray) -> float | None:
        if self.faces is None:
            return None
        side = max(18, min(grey.shape) // 8)  # smaller faces do not decide where a 9:16 window goes
        return self._largest(self.faces.detectMultiScale(grey, scaleFactor=1.2, minNeighbors=5,
                                                         minSize=(side, side)))

    def _people(self, grey: np.ndarray, rgb: np.ndarray) -> float | None:
        if self.people is None:
            return None
        if self._person_age < self.settings.people_every:
            return self._person
        self._person_age = 0
        image = self._people_image(rgb)
        pad = round(image.shape[0] * PEOPLE_BORDER)
        image = self.cv2.copyMakeBorder(image, pad, pad, 0, 0, self.cv2.BORDER_REPLICATE)
        boxes, weights = self.people.detectMultiScale(image, winStride=(8, 8), padding=(8, 8), scale=1.1)
        strong = [(x, y - pad, w, h) for (x, y, w, h), weight in zip(boxes, np.ravel(weights), strict=True)
                  if float(weight) > 0.5]
        found = self._largest(strong)
        along = grey.shape[1] / image.shape[1] if self.horizontal else grey.shape[0] / (image.shape[0] - 2 * pad)
        self._person = None if found is None else found * along  # in the small frame's pixels
        return self._person

    def _people_image(self, rgb: np.ndarray) -> np.ndarray:
        """The frame in grey at :data:`PEOPLE_HEIGHT`: sampled from the frame where it has the pixels, scaled
        (up, for small frames) otherwise."""
        step = max(1, rgb.shape[0] // PEOPLE_HEIGHT)
        grey = self.cv2.cvtColor(np.ascontiguousarray(rgb[::step, ::step]), self.cv2.COLOR_RGB2GRAY)
        if abs(grey.shape[0] - PEOPLE_HEIGHT) <= PEOPLE_HEIGHT // 10:
            return grey
        factor = PEOPLE_HEIGHT / grey.shape[0]
        interpolation = self.cv2.INTER_LINEAR if factor > 1 else self.cv2.INTER_AREA
        return self.cv2.resize(grey, (max(64, round(grey.shape[1] * factor)), PEOPLE_HEIGHT),
                               interpolation=interpolation)

    def _motion(self, grey: np.ndarray) -> float | None:
        if self._reference is None or self._reference.shape != grey.shape:
            return None
        moving = self.cv2.absdiff(grey, self._reference) > MOTION_LEVEL
        return _centre_of_mass(moving, self.horizontal, minimum=max(4, moving.size // 2000))


def _face_cascade(cv2: Any) -> Any:
    folder = getattr(getattr(cv2, "data", None), "haarcascades", None)
    if not folder or not hasattr(cv2, "CascadeClassifier") or not (Path(folder) / FACE_CASCADE).is_file():
        return None
    cascade = cv2.CascadeClassifier(str(Path(folder) / FACE_CASCADE))
    return None if cascade.empty() else cascade


def _people_detector(cv2: Any) -> Any:
    if not hasattr(cv2, "HOGDescriptor"):
        return None
    hog = cv2.HOGDescriptor()
    hog.setSVMDetector(cv2.HOGDescriptor_getDefaultPeopleDetector())
    return hog


def _centre_of_mass(mask: np.ndarray, horizontal: bool, minimum: float) -> float | None:
    profile = mask.sum(axis=0 if horizontal else 1).astype(np.float64)
    total = float(profile.sum())
    if total < minimum:
        return None
    return float((profile * (np.arange(len(profile)) + 0.5)).sum() / total)


def _saliency(small_rgb: np.ndarray, horizontal: bool = True) -> float | None:
    """Frequency-tuned saliency (Achanta et al. 2009): how far each lightly blurred pixel's Lab colour is from
    the frame's mean colour. The centre of the most distinct pixels, or None on a flat frame."""
    import cv2

    step = max(1, min(small_rgb.shape[:2]) // 90)  # ~90 px is plenty for where the subject is
    lab = cv2.cvtColor(cv2.GaussianBlur(small_rgb[::step, ::step], (5, 5), 0), cv2.COLOR_RGB2LAB)
    lab = lab.astype(np.float32)
    distance = np.linalg.norm(lab - lab.reshape(-1, 3).mean(axis=0), axis=2)
    if float(distance.max()) < 8:
        return None
    # The most distinct pixels only: a gradient's far ends are distinct too, but less than a subject is.
    strongest = max(float(np.percentile(distance, 97)), 0.7 * float(distance.max()))
    found = _centre_of_mass(distance >= strongest, horizontal, minimum=1)
    return None if found is None else found * step


# ---------------------------------------------------------------------------------------------- path


class CameraPath:
    """The window's offset (0..span source pixels) frame by frame; see the module notes for the rules."""

    def __init__(self, span: float, window: float, source: float, settings: TrackSettings) -> None:
        self.span, self.window = span, window
        self.max_speed = settings.max_speed * source / settings.fps
        self.max_accel = settings.max_accel * source / settings.fps ** 2
        self.dead_zone = settings.dead_zone * window
        self.position: float | None = None
        self.speed = 0.0
        self.moving = False

    def aim(self, centres: list[float]) -> float | None:
        if not centres:
            return None
        return min(self.span, max(0.0, sum(centres) / len(centres) - self.window / 2))

    def step(self, centres: list[float], cut: bool) -> float:
        """The next offset, given the subject centres (source pixels) seen in the look-ahead window."""
        goal = self.aim(centres)
        if self.position is None or cut:
            self.position = goal if goal is not None else (self.position if self.position is not None
                                                          else self.span / 2)
            self.speed, self.moving = 0.0, False
            return self.position
        error = 0.0 if goal is None else goal - self.position
        if not self.moving and abs(error) > self.dead_zone:
            self.moving = True
        wanted = 0.0
        if self.moving:  # the fastest speed from which braking at max_accel still stops at the goal
            a = self.max_accel
            braking = -a / 2 + math.sqrt(a * a / 4 + 2 * a * abs(error))
            wanted = math.copysign(min(self.max_speed, braking), error)
            if abs(error) < 0.5 and abs(self.speed) <= self.max_accel:
                self.moving, wanted = False, 0.0
        self.speed += min(self.max_accel, max(-self.max_accel, wanted - self.speed))
        self.position += self.speed
        if not 0 <= self.position <= self.span:
            self.position, self.speed = min(self.span, max(0.0, self.position)), 0.0
        return self.position


def keyframes(path: list[float], cuts: list[int], tolerance: float = 1.0) -> list[list[float]]:
    """``[[frame, offset], ...]`` from which linear interpolation gives back ``path`` within ``tolerance``
    pixels (Ramer-Douglas-Peucker per shot); each cut starts a shot, and the frame before it closes one."""
    bounds = sorted({0, *cuts, len(path)})
    kept: set[int] = set()
    for start, end in itertools.pairwise(bounds):
        kept |= {start, end - 1}
        stack = [(start, end - 1)]
        while stack:
            a, b = stack.pop()
            worst, where = 0.0, -1
            for i in range(a + 1, b):
                line = path[a] + (path[b] - path[a]) * (i - a) / (b - a)
                if abs(path[i] - line) > worst:
                    worst, where = abs(path[i] - line), i
            if worst > tolerance:
                kept.add(where)
                stack += [(a, where), (where, b)]
    return [[i, round(path[i], 1)] for i in sorted(kept) if 0 <= i < len(path)]


# -------------------------------------------------------------------------------------------- frames


class AnalysisImage:
    """What the analyser looks at: an RGB frame as it is; from the decoder's yuv420p frame, an RGB copy
    :data:`ANALYSIS_SOURCE_HEIGHT` high made by swscale (area-averaged), so full-size RGB is never made."""

    def __init__(self) -> None:
        from av.video.reformatter import VideoReformatter

        self.reformatter = VideoReformatter()

    def __call__(self, frame: Any) -> np.ndarray:
        from shortgen.overlay import is_yuv_frame

        if not is_yuv_frame(frame):
            return frame
        if frame.height <= ANALYSIS_SOURCE_HEIGHT:
            return frame.to_ndarray(format="rgb24")
        width = max(2, round(frame.width * ANALYSIS_SOURCE_HEIGHT / frame.height))
        return self.reformatter.reformat(frame, width=width, height=ANALYSIS_SOURCE_HEIGHT, format="rgb24",
                                         interpolation="AREA").to_ndarray()


def track_frames(clip: Clip, width: int, height: int, interpolation: str, settings: TrackSettings,
                 path: list[float] | None = None) -> Iterator[Any]:
    """The clip's frames through a moving crop window, resized to ``width``x``height`` (yuv420p). The path
    (keyframes, cuts, what was detected) lands in ``clip.facts["reframe_track"]`` when the stream ends."""
    from av.video.reformatter import VideoReformatter

    from shortgen.stages.reframe import Box, cover_window, window_frame

    base = cover_window(clip.width, clip.height, width, height)
    horizontal = base.w < clip.width
    source, window = (clip.width, base.w) if horizontal else (clip.height, base.h)
    camera = CameraPath(float(source - window), float(window), float(source), settings)
    analyzer = Analyzer(horizontal, settings)
    reformatter, analysis = VideoReformatter(), AnalysisImage()
    ahead: deque[list[Any]] = deque()  # [frame, centre (source px) or None, cut]
    offsets: list[float] = [] if path is None else path
    cuts: list[int] = []
    last_centre: float | None = None

    def emit() -> Any:
        frame, _, cut = ahead[0]
        centres = []
        for i, (_, centre, later_cut) in enumerate(ahead):
            if i and later_cut:
                break
            if centre is not None:
                centres.append(centre)
        if cut and offsets:
            cuts.append(len(offsets))
        offset = camera.step(centres, cut)
        offsets.append(offset)
        ahead.popleft()
        start = round(offset)
        box = Box(start, 0, base.w, base.h) if horizontal else Box(0, start, base.w, base.h)
        return window_frame(frame, box, width, height, interpolation, reformatter)

    for frame in clip.frames:
        found, cut = analyzer.analyse(analysis(frame))
        if cut:
            last_centre = None
        if found is not None:
            last_centre = found * source
        ahead.append([frame, last_centre, cut])
        if len(ahead) > settings.lookahead:
            yield emit()
    while ahead:
        yield emit()
    clip.facts["reframe_track"] = {
        "axis": "x" if horizontal else "y", "window": [base.w, base.h], "cuts": cuts,
        "keyframes": keyframes(offsets, cuts), "detectors": analyzer.detectors, "detections": dict(analyzer.counts),
    }
