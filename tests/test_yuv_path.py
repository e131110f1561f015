"""edit's YUV path: every fit resizes the decoder's yuv420p frames without a round trip through RGB.

Judged on the encoded file decoded back: the same picture as the RGB path, the right colours from sources in
other pixel formats and colour matrices (made by FFmpeg's command line, the independent side here).
"""

from __future__ import annotations

import subprocess
from fractions import Fraction
from pathlib import Path

import imageio_ffmpeg
import numpy as np
import pytest

from shortgen import media
from shortgen.config import MakeOptions
from shortgen.frames import Clip
from shortgen.overlay import to_rgb
from shortgen.pipeline import edit_clip
from shortgen.stages.reframe import ReframeStage
from tests.helpers import decode_frames, moving_square_frames, small_preset, write_test_video

FFMPEG = imageio_ffmpeg.get_ffmpeg_exe()
COLOUR = (40, 160, 220)  # saturated enough that a BT.601/BT.709 mix-up moves it by more than 10 levels


@pytest.fixture()
def wide(tmp_path: Path) -> Path:
    small_preset(tmp_path)
    return write_test_video(tmp_path / "wide.mp4", n=6, width=320, height=180,
                            frames=moving_square_frames(6, 320, 180), crf=4)


def options(folder: Path, **fit: object) -> MakeOptions:
    return MakeOptions(preset=str(folder / "tiny.yaml"), **fit)  # type: ignore[arg-type]


@pytest.mark.parametrize("fit", [{}, {"fit": "pad"}, {"fit": "blur"}, {"fit": "crop", "crop_x": 0.0},
                                 {"fit": "track"}])
def test_edit_never_converts_whole_frames_to_rgb(wide: Path, monkeypatch: pytest.MonkeyPatch,
                                                                 fit: dict[str, object]) -> None:
    def refuse(*_: object) -> None:
        raise AssertionError("decoded to RGB")

    monkeypatch.setattr(media, "_upright_rgb", refuse)
    out = wide.parent / "out.mp4"
    result = edit_clip(wide, options(wide.parent, **fit), out, write_sidecar=False)
    assert result.frames == 6 and len(decode_frames(out)) == 6


@pytest.mark.parametrize(("fit", "crop_x"), [("crop", 0.5), ("crop", 1.0), ("pad", 0.5), ("blur", 0.5)])
def test_yuv_frames_give_the_picture_rgb_frames_give(wide: Path, fit: str, crop_x: float) -> None:
    yuv = list(media._decode(wide, yuv=True))
    rgb = list(media._decode(wide, yuv=False))

    def run(frames: list[object]) -> list[np.ndarray]:
        stage = ReframeStage(180, 320, fit=fit, crop_x=crop_x)
        clip = Clip(320, 180, Fraction(10), len(frames), iter(frames))
        return [to_rgb(frame).astype(int) for frame in stage.apply(clip).frames]

    for a, b in zip(run(yuv), run(rgb), strict=True):
        difference = np.abs(a - b)
        # Chroma is resampled once instead of up and down again: sharp coloured edges differ, nothing else.
        assert difference.mean() < 2.5 and np.percentile(difference, 99) < 32


def ffmpeg_source(path: Path, pix_fmt: str, *, matrix: str, tag: bool, size: str = "320x180",
                  codec: tuple[str, ...] = ("-c:v", "libx264", "-preset", "ultrafast", "-qp", "0")) -> Path:
    """Three frames of one colour written by FFmpeg in ``pix_fmt`` with colour matrix ``matrix``, tagged or not."""
    r, g, b = COLOUR
    standard = "bt709" if matrix == "bt709" else "smpte170m"
    tags = ["-colorspace", standard, "-color_primaries", standard, "-color_trc", standard] if tag else []
    full = pix_fmt.startswith("yuvj")
    scale = f"scale=out_color_matrix={matrix}:out_range={'pc' if full else 'tv'},format={pix_fmt}"
    if not tag:  # the scale filter tags the frames it converts: take the tags off again
        scale += ",setparams=colorspace=unknown:color_primaries=unknown:color_trc=unknown"
    subprocess.run([FFMPEG, "-v", "error", "-y", "-f", "lavfi", "-i", f"color=c=0x{r:02x}{g:02x}{b:02x}:s={size}:r=10",
                    "-frames:v", "3", "-vf", scale, *codec, *tags, str(path)], check=True)
    return path


@pytest.mark.parametrize(("name", "pix_fmt", "matrix", "tag", "size", "codec"), [
    ("full range (JPEG) 4:2:0", "yuvj420p", "bt709", True, "320x180", ()),
    ("10-bit 4:2:2", "yuv422p10le", "bt709", True, "320x180", ("-c:v", "ffv1")),
    ("BT.601, tagged", "yuv420p", "bt601", True, "320x180", ()),
    ("BT.709, untagged HD", "yuv420p", "bt709", False, "1280x720", ()),
    ("BT.601, untagged SD", "yuv420p", "bt601", False, "320x180", ()),
])
def test_sources_in_other_formats_and_matrices_keep_their_colour(tmp_path: Path, name: str, pix_fmt: str,
                                                                 matrix: str, tag: bool, size: str,
                                                                 codec: tuple[str, ...]) -> None:
    small_preset(tmp_path)
    suffix = ".mkv" if codec else ".mp4"
    source = ffmpeg_source(tmp_path / f"src{suffix}", pix_fmt, matrix=matrix, tag=tag, size=size,
                           **({"codec": codec} if codec else {}))
    out = tmp_path / "out.mp4"
    edit_clip(source, options(tmp_path, fit="pad", pad_color="#000000"), out, write_sidecar=False)
    frame = decode_frames(out)[1]  # the output is tagged BT.709: PyAV converts it back with that matrix
    centre = frame[160, 90].astype(int)
    assert np.abs(centre - COLOUR).max() <= 4, (name, centre.tolist())


def test_track_follows_a_subject_in_the_decoders_frames(tmp_path: Path) -> None:
    """A 1280x720 source (analysed from a small RGB copy of each yuv420p frame): a white square crossing the
    frame stays inside the moving window in the encoded output."""
    n, side = 40, 120
    xs = [round(60 + (1280 - 2 * 60 - side) * i / (n - 1)) for i in range(n)]
    rng = np.random.default_rng(1)
    frames = []
    for x in xs:
        frame = rng.integers(20, 60, (720, 1280, 3), dtype=np.uint8)
        frame[300:300 + side, x:x + side] = 245
        frames.append(frame)
    source = write_test_video(tmp_path / "walk.mp4", n=n, width=1280, height=720, fps=10, frames=frames, crf=12)
    small_preset(tmp_path)
    out = tmp_path / "out.mp4"
    edit_clip(source, options(tmp_path, fit="track"), out, write_sidecar=False)
    rendered = decode_frames(out)
    full = (side * 320 / 720) ** 2  # the square's area in the 180x320 output
    shown = [int((frame.min(axis=2) > 200).sum()) for frame in rendered]
    assert len(rendered) == n and sum(count > 0.8 * full for count in shown) >= 0.95 * n
