"""Post path: 15 s of 544x960 frames at 30 fps → captioned, upscaled 1080x1920 H.264 (veryfast, CRF 20) + AAC.

Three ways over the same raw frames on disk, each in its own process (wall time, peak memory of the tree):
the ffmpeg command line (crop + lanczos scale + drawtext + libx264), shortgen's post path, and the obvious
moviepy composition (a clip plus a TextClip in a CompositeVideoClip).
"""

from __future__ import annotations

import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from benchmarks.harness import measure, print_table

WIDTH, HEIGHT, FPS, SECONDS = 544, 960, 30, 15
OUT_W, OUT_H = 1080, 1920
CAPTION = "How to pour a rosetta"
CRF, PRESET = 20, "veryfast"


def write_frames(path: Path, frames: int = FPS * SECONDS) -> None:
    """A moving gradient with a sweeping square: compressible like real footage, never static."""
    yy, xx = np.mgrid[0:HEIGHT, 0:WIDTH]
    with path.open("wb") as fh:
        for i in range(frames):
            frame = np.empty((HEIGHT, WIDTH, 3), np.uint8)
            frame[..., 0] = (xx + 3 * i) % 256
            frame[..., 1] = (yy // 4 + i) % 256
            frame[..., 2] = 90
            x = (i * 7) % (WIDTH - 120)
            frame[400:520, x:x + 120] = (250, 230, 40)
            fh.write(frame.tobytes())


def font_path() -> str:
    from shortgen.fonts import default_font_path

    return str(default_font_path())


def shortgen_x264_params() -> str:
    """What shortgen passes x264 for the tiktok preset: its VBV cap, one thread and no mb-tree (reproducible)."""
    from shortgen.encode import x264_params
    from shortgen.presets import load_preset

    return x264_params(load_preset("tiktok").encoder, FPS)


def ffmpeg_cmd(raw: Path, out: Path, x264: str | None = None) -> list[str]:
    """The ffmpeg command line doing the same work; ``x264``: the same x264 settings as shortgen too."""
    import imageio_ffmpeg

    crop_w = round(HEIGHT * OUT_W / OUT_H)
    text = (f"drawtext=fontfile={font_path()}:text='{CAPTION}':fontsize=72:fontcolor=white:borderw=6:"
            f"bordercolor=black:x=(w-text_w)/2:y=h-440-text_h-40")
    vf = f"crop={crop_w}:{HEIGHT},scale={OUT_W}:{OUT_H}:flags=lanczos,{text}"
    return [imageio_ffmpeg.get_ffmpeg_exe(), "-v", "error", "-y", "-f", "rawvideo", "-pix_fmt", "rgb24",
            "-s", f"{WIDTH}x{HEIGHT}", "-r", str(FPS), "-i", str(raw), "-f", "lavfi", "-i",
            "anullsrc=r=48000:cl=stereo", "-shortest", "-vf", vf, "-c:v", "libx264", "-preset", PRESET,
            "-crf", str(CRF), "-pix_fmt", "yuv420p", *(["-x264-params", x264] if x264 else []),
            "-c:a", "aac", "-movflags", "+faststart", str(out)]


def read_frames(raw: Path) -> Iterator[np.ndarray]:
    """Frames read one at a time from the raw file, as ffmpeg reads them (no memory map kept resident)."""
    size = WIDTH * HEIGHT * 3
    with raw.open("rb") as fh:
        while chunk := fh.read(size):
            yield np.frombuffer(chunk, np.uint8).reshape(HEIGHT, WIDTH, 3)


def shortgen_worker(raw: Path, out: Path) -> None:
    from fractions import Fraction

    from shortgen.config import MakeOptions
    from shortgen.frames import Clip
    from shortgen.pipeline import post_process

    count = raw.stat().st_size // (WIDTH * HEIGHT * 3)
    clip = Clip(WIDTH, HEIGHT, Fraction(FPS), count, read_frames(raw))
    options = MakeOptions(preset="tiktok", caption=CAPTION, caption_style="clean", crf=CRF)
    post_process(clip, options, out, overwrite=True)


def moviepy_worker(raw: Path, out: Path, use_bgclip: bool = False) -> None:
    """As moviepy's docs show: a clip plus a TextClip in a CompositeVideoClip (``use_bgclip`` is the faster,
    less obvious form that skips the mask)."""
    from moviepy import CompositeVideoClip, TextClip, VideoClip

    frames = np.memmap(raw, dtype=np.uint8, mode="r").reshape(-1, HEIGHT, WIDTH, 3)  # moviepy needs random access
    base = VideoClip(lambda t: frames[min(len(frames) - 1, round(t * FPS))], duration=SECONDS)
    crop_w = round(HEIGHT * OUT_W / OUT_H)
    base = base.cropped(x_center=WIDTH / 2, width=crop_w).resized((OUT_W, OUT_H))
    text = TextClip(font=font_path(), text=CAPTION, font_size=72, color="white", stroke_color="black",
                    stroke_width=6).with_duration(SECONDS).with_position(("center", OUT_H - 440 - 140))
    CompositeVideoClip([base, text], use_bgclip=use_bgclip).write_videofile(
        str(out), fps=FPS, codec="libx264", audio=False, preset=PRESET, ffmpeg_params=["-crf", str(CRF)],
        logger=None)


def main(runs: int = 3) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        raw = folder / "frames.rgb"
        write_frames(raw)
        py = sys.executable
        rows = [
            measure("ffmpeg CLI", ffmpeg_cmd(raw, folder / "ffmpeg.mp4"), runs),
            measure("ffmpeg CLI, shortgen's x264 settings", ffmpeg_cmd(raw, folder / "ffmpeg-same.mp4",
                                                                      shortgen_x264_params()), runs),
            measure("shortgen", [py, "-m", "benchmarks.post", "shortgen", str(raw), str(folder / "sg.mp4")], runs),
            measure("moviepy (as documented)", [py, "-m", "benchmarks.post", "moviepy", str(raw),
                                                str(folder / "mp.mp4")], 1),
            measure("moviepy (use_bgclip=True)", [py, "-m", "benchmarks.post", "moviepy-bgclip", str(raw),
                                                  str(folder / "mp2.mp4")], 1),
        ]
    print_table(f"Post path: {SECONDS} s of {WIDTH}x{HEIGHT} @ {FPS} fps → {OUT_W}x{OUT_H} H.264 {PRESET} "
                f"CRF {CRF}, caption", rows, baseline="ffmpeg CLI")


if __name__ == "__main__":
    if len(sys.argv) == 4:
        workers = {"shortgen": shortgen_worker, "moviepy": moviepy_worker,
                   "moviepy-bgclip": lambda raw, out: moviepy_worker(raw, out, use_bgclip=True)}
        workers[sys.argv[1]](Path(sys.argv[2]), Path(sys.argv[3]))
    else:
        main()
