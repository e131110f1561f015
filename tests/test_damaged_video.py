"""Real footage plays on: a video packet that does not decode, or a truncated last frame, is replaced by its
neighbour with one warning; the output keeps the full length. A still image is not a video."""

from __future__ import annotations

import json
from pathlib import Path

import av
import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

from shortgen.cli.app import app
from tests.helpers import moving_square_frames, small_preset

runner = CliRunner()
FRAMES = 30


def write_faststart(path: Path, n: int = FRAMES, audio: bool = False) -> Path:
    """A small H.264 MP4 with ``moov`` first (as phones write them), so a cut-off end leaves it readable."""
    with av.open(str(path), "w", options={"movflags": "+faststart"}) as container:
        stream = container.add_stream("libx264", rate=10)
        stream.width, stream.height, stream.pix_fmt = 96, 160, "yuv420p"
        stream.options = {"crf": "10", "preset": "ultrafast"}
        for i, rgb in enumerate(moving_square_frames(n, 96, 160)):
            frame = av.VideoFrame.from_ndarray(rgb, format="rgb24")
            frame.pts = i
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    return path


def video_packets(path: Path) -> list[tuple[int, int, int]]:
    """(pts, byte offset, size) of each video packet, as the demuxer finds them."""
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        return [(p.pts, p.pos, p.size) for p in container.demux(stream) if p.size]


def corrupt_packet(source: Path, target: Path, index: int) -> Path:
    """Scramble the bytes of the ``index``-th packet (in presentation order) after its first NAL length."""
    _pts, pos, size = sorted(video_packets(source))[index]
    data = bytearray(source.read_bytes())
    for i in range(pos + 4, pos + size):
        data[i] = (data[i] * 7 + 13) & 0xFF
    target.write_bytes(bytes(data))
    return target


def truncate_last_frame(source: Path, target: Path) -> Path:
    """Cut the file in the middle of the last packet stored in it."""
    _pts, pos, size = max(video_packets(source), key=lambda p: p[1])
    target.write_bytes(source.read_bytes()[:pos + size // 2])
    return target


def decoded_count(path: Path) -> int:
    with av.open(str(path)) as container:
        return sum(1 for _ in container.decode(video=0))


def raises_when_decoded(path: Path) -> bool:
    try:
        decoded_count(path)
    except av.FFmpegError:
        return True
    return False


@pytest.fixture(scope="module")
def damaged(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("damaged")
    good = write_faststart(folder / "good.mp4")
    return {"good": good, "packet": corrupt_packet(good, folder / "packet.mp4", 12),
            "truncated": truncate_last_frame(good, folder / "truncated.mp4")}


@pytest.mark.parametrize("kind", ["packet", "truncated"])
def test_the_damaged_files_really_fail_a_plain_decode(damaged: dict[str, Path], kind: str) -> None:
    assert decoded_count(damaged["good"]) == FRAMES
    assert raises_when_decoded(damaged[kind])


@pytest.mark.parametrize("kind", ["packet", "truncated"])
def test_edit_plays_on_past_damage_with_one_warning(damaged: dict[str, Path], kind: str, tmp_path: Path) -> None:
    preset = small_preset(tmp_path, output={"width": 96, "height": 160, "fps": 10})
    out = tmp_path / "out.mp4"
    result = runner.invoke(app, ["edit", str(damaged[kind]), "--preset", str(preset), "-o", str(out)])
    assert result.exit_code == 0, result.stderr
    warnings = [line for line in result.stderr.splitlines() if line.startswith("warning:")]
    assert len(warnings) == 1 and "1 of 30 frames could not be decoded" in warnings[0], result.stderr
    assert decoded_count(out) == FRAMES
    sidecar = json.loads(out.with_suffix(".json").read_text(encoding="utf-8"))
    assert sidecar["result"]["info"]["damaged_frames"] == 1


def test_a_missing_frame_is_its_neighbour(damaged: dict[str, Path]) -> None:
    from shortgen.media import open_video

    good = list(open_video(damaged["good"]).frames)
    clip = open_video(damaged["truncated"])
    frames = list(clip.frames)
    assert len(frames) == clip.num_frames == FRAMES
    assert np.array_equal(frames[-1], frames[-2])  # the last frame, cut off, repeats the one before
    assert np.abs(frames[-2].astype(int) - good[-2]).mean() < 3
    assert clip.facts["damaged_frames"] == 1


def test_inspect_plays_on_and_counts_the_damage(damaged: dict[str, Path]) -> None:
    result = runner.invoke(app, ["inspect", str(damaged["packet"]), "--json"])
    assert result.exit_code == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["damaged_frames"] == 1 and report["frames"] == FRAMES - 1 and report["seam_score"] is not None


def test_a_video_with_no_decodable_frame_is_an_error(damaged: dict[str, Path], tmp_path: Path) -> None:
    data = bytearray(damaged["good"].read_bytes())
    for _, pos, size in video_packets(damaged["good"]):
        data[pos + 4:pos + size] = bytes(size - 4)
    broken = tmp_path / "broken.mp4"
    broken.write_bytes(bytes(data))
    result = runner.invoke(app, ["edit", str(broken), "-o", str(tmp_path / "out.mp4")])
    assert result.exit_code == 1
    assert result.stderr.strip().splitlines() == [
        f"error: {broken} has no decodable video frames (give a video that plays)"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["broken.mp4"]


@pytest.mark.parametrize("suffix", [".png", ".jpg", ".gif"])
def test_a_still_image_is_refused_with_the_way_to_use_it(tmp_path: Path, suffix: str) -> None:
    still = tmp_path / f"still{suffix}"
    Image.new("RGB", (96, 160), "red").save(still)
    result = runner.invoke(app, ["edit", str(still), "-o", str(tmp_path / "out.mp4")])
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "is a still image, not a video" in lines[0] and "--image" in lines[0]
    assert sorted(p.name for p in tmp_path.iterdir()) == [still.name]
