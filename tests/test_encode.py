"""Decode what the encoder writes and check what the platforms check."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

from shortgen.config import EncoderSpec
from shortgen.encode import encode_clip
from shortgen.errors import MediaError, OutputExistsError
from shortgen.frames import AudioSpec, Clip
from shortgen.overlay import to_rgb
from shortgen.stages.upscale import UpscaleStage, cover_crop_box
from tests.helpers import decode_frames, moving_square_frames, probe, synthetic_clip, top_level_boxes, write_test_video

FAST = EncoderSpec(preset="veryfast", crf=12)


def test_encoded_file_is_platform_shaped(tmp_path: Path) -> None:
    out = tmp_path / "clip.mp4"
    result = encode_clip(synthetic_clip(25, 96, 160, fps=25), out, FAST)
    info = probe(out)
    assert (info["codec"], info["profile"], info["pix_fmt"]) == ("h264", "High", "yuv420p")
    assert (info["width"], info["height"], info["fps"], info["frames"]) == (96, 160, 25, 25)
    assert info["audio"] == [("aac", 48000, 2)]
    assert info["colorspace"] == 1 and info["color_primaries"] == 1  # BT.709
    boxes = top_level_boxes(out)
    assert boxes.index("moov") < boxes.index("mdat")  # faststart
    assert b"elst" not in out.read_bytes()  # no edit list (Reels)
    assert result.frames == 25 and result.duration == 1.0


def test_pixels_survive_encoding(tmp_path: Path) -> None:
    out = tmp_path / "clip.mp4"
    encode_clip(synthetic_clip(10, 96, 160), out, FAST)
    decoded = decode_frames(out)
    originals = list(moving_square_frames(10, 96, 160))
    for got, want in zip(decoded, originals, strict=True):
        assert np.abs(got.astype(int) - want.astype(int)).mean() < 4


def test_failed_stream_leaves_no_file(tmp_path: Path) -> None:
    def broken():
        yield from moving_square_frames(3, 96, 160)
        raise RuntimeError("generator crashed")

    out = tmp_path / "clip.mp4"
    with pytest.raises(RuntimeError):
        encode_clip(Clip(96, 160, Fraction(10), 10, broken()), out, FAST)
    assert list(tmp_path.iterdir()) == []


def test_short_stream_is_an_error_and_leaves_no_file(tmp_path: Path) -> None:
    out = tmp_path / "clip.mp4"
    with pytest.raises(MediaError, match="ended after 3 of 10"):
        encode_clip(Clip(96, 160, Fraction(10), 10, moving_square_frames(3, 96, 160)), out, FAST)
    assert list(tmp_path.iterdir()) == []


def test_existing_output_is_kept_without_overwrite(tmp_path: Path) -> None:
    out = tmp_path / "clip.mp4"
    out.write_bytes(b"precious")
    with pytest.raises(OutputExistsError, match="--overwrite"):
        encode_clip(synthetic_clip(5), out, FAST)
    assert out.read_bytes() == b"precious"
    encode_clip(synthetic_clip(5), out, FAST, overwrite=True)
    assert probe(out)["frames"] == 5


def test_audio_file_is_muxed_and_trimmed(tmp_path: Path) -> None:
    source = write_test_video(tmp_path / "src.mp4", n=40, audio=True)
    out = tmp_path / "clip.mp4"
    encode_clip(Clip(96, 160, Fraction(10), 20, moving_square_frames(20, 96, 160), audio=AudioSpec(source)), out,
                FAST)
    import av

    with av.open(str(out)) as container:
        samples = [f.to_ndarray() for f in container.decode(audio=0)]
    audio = np.concatenate(samples, axis=1)
    assert abs(audio.shape[1] / 48000 - 2.0) < 0.05
    assert np.abs(audio[:, 4800:90000]).max() > 0.1  # the tone, not silence


@pytest.mark.parametrize(("src", "dst"), [((544, 960), (1080, 1920)), ((1920, 1080), (1080, 1920)), ((100, 100),
                                                                                                     (90, 160))])
def test_cover_crop_keeps_destination_aspect(src: tuple[int, int], dst: tuple[int, int]) -> None:
    x, y, w, h = cover_crop_box(*src, *dst)
    assert x >= 0 and y >= 0 and x + w <= src[0] and y + h <= src[1]
    assert abs(w / h - dst[0] / dst[1]) < 0.02


def test_upscale_stage_streams_to_output_size() -> None:
    clip = UpscaleStage(180, 320, pixel_format="rgb24").apply(synthetic_clip(4, 96, 160))
    frames = list(clip.frames)
    assert (clip.width, clip.height) == (180, 320)
    assert all(f.shape == (320, 180, 3) and f.dtype == np.uint8 for f in frames)


def test_fused_yuv_upscale_matches_rgb_upscale() -> None:
    rgb = next(iter(UpscaleStage(180, 320, pixel_format="rgb24").apply(synthetic_clip(1, 96, 160)).frames))
    yuv = next(iter(UpscaleStage(180, 320).apply(synthetic_clip(1, 96, 160)).frames))
    assert (yuv.format.name, yuv.width, yuv.height) == ("yuv420p", 180, 320)
    assert np.abs(to_rgb(yuv).astype(int) - rgb.astype(int)).mean() < 3


def test_yuv_frames_encode_like_rgb_frames(tmp_path: Path) -> None:
    clip = UpscaleStage(96, 160).apply(synthetic_clip(10, 96, 160))
    out = tmp_path / "clip.mp4"
    encode_clip(clip, out, FAST)
    decoded = decode_frames(out)
    for got, want in zip(decoded, moving_square_frames(10, 96, 160), strict=True):
        assert np.abs(got.astype(int) - want.astype(int)).mean() < 4
