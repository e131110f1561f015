"""Reframe: 16:9 footage (1920x1080, 30 fps) → 1080x1920 with each fit.

1. Per frame, in this process: each fit's frame builder against the plain centre crop, median over the same
   frames; frames go in as ``edit`` hands them over (the decoder's yuv420p frames; RGB arrays for track, which
   analyses RGB), yuv420p frames come out.
2. Whole runs, each in its own process (wall time, peak memory of the tree), over the same H.264 source,
   round-robin (one run of each, then again), so load changes on a shared machine hit every row alike:
   ``shortgen edit --fit blur|pad|crop|track`` beside the ffmpeg command line doing the same work with the
   same encoder settings (the tiktok preset's: x264 veryfast, CRF 20, its VBV cap, 2 s closed GOPs, and the
   reproducible encoder's one thread without mb-tree, passed as the same ``x264-params``): for blur ``split``,
   ``scale``, ``crop``, ``boxblur``, darken, ``overlay``, both as usually written (blur at full size) and
   with shortgen's trick (blur at 1/12 size, then scale up); for pad ``scale`` + ``pad``.

``python -m benchmarks reframe`` (set REFRAME_SECONDS / REFRAME_RUNS to change the 10 s / 3 runs).
"""

from __future__ import annotations

import itertools
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from fractions import Fraction
from pathlib import Path
from typing import Any

from benchmarks.harness import Measurement, machine, measure_once, print_table

SRC_W, SRC_H, FPS = 1920, 1080, 30
OUT_W, OUT_H = 1080, 1920
SECONDS = float(os.environ.get("REFRAME_SECONDS", "10"))  # the shortest clip the presets take
RUNS = int(os.environ.get("REFRAME_RUNS", "3"))


def encode_args() -> list[str]:
    """The ffmpeg flags for exactly what shortgen's encoder does with the tiktok preset at CRF 20."""
    from shortgen.encode import x264_params
    from shortgen.presets import load_preset

    spec = load_preset("tiktok").encoder
    return ["-c:v", "libx264", "-preset", spec.preset, "-crf", "20", "-profile:v", spec.profile,
            "-pix_fmt", spec.pix_fmt, "-x264-params", x264_params(spec, Fraction(FPS)),
            "-c:a", "aac", "-b:a", f"{spec.audio_bitrate_kbps}k", "-movflags", "+faststart"]


def ffmpeg() -> str:
    import imageio_ffmpeg

    return imageio_ffmpeg.get_ffmpeg_exe()


def write_source(path: Path) -> None:
    """FFmpeg's moving test pattern: detail everywhere, motion, like real footage for the encoder."""
    subprocess.run([ffmpeg(), "-v", "error", "-y", "-f", "lavfi", "-i",
                    f"testsrc2=size={SRC_W}x{SRC_H}:rate={FPS}:duration={SECONDS}", "-vf",
                    "scale=out_color_matrix=bt709:out_range=tv", "-c:v", "libx264", "-preset", "ultrafast",
                    "-crf", "16", "-pix_fmt", "yuv420p", "-colorspace", "bt709", "-color_primaries", "bt709",
                    "-color_trc", "bt709", str(path)], check=True)


def ffmpeg_cmd(src: Path, out: Path, graph: str) -> list[str]:
    """ffmpeg with the filter graph ``graph``, plus a silent AAC track: shortgen always writes one."""
    silence = ["-f", "lavfi", "-t", str(SECONDS), "-i", "anullsrc=r=48000:cl=stereo"]
    return [ffmpeg(), "-v", "error", "-y", "-i", str(src), *silence, "-filter_complex", graph, "-map", "1:a",
            *encode_args(), str(out)]


DARKEN = "colorchannelmixer=rr=0.6:gg=0.6:bb=0.6"
FG = f"scale={OUT_W}:-2:flags=lanczos"
BLUR_FULL = (f"[0:v]split[a][b];[a]scale={OUT_W}:{OUT_H}:force_original_aspect_ratio=increase:flags=lanczos,"
             f"crop={OUT_W}:{OUT_H},boxblur=20:3,{DARKEN}[bg];[b]{FG}[fg];[bg][fg]overlay=(W-w)/2:(H-h)/2")
BLUR_SMALL = (f"[0:v]split[a][b];[a]scale={OUT_W // 12}:{OUT_H // 12}:force_original_aspect_ratio=increase:"
              f"flags=area,crop={OUT_W // 12}:{OUT_H // 12},boxblur=4:3,{DARKEN},scale={OUT_W}:{OUT_H}:"
              f"flags=bilinear[bg];[b]{FG}[fg];[bg][fg]overlay=(W-w)/2:(H-h)/2")
PAD = f"[0:v]{FG},pad={OUT_W}:{OUT_H}:(ow-iw)/2:(oh-ih)/2:color=0x101010"
CROP = f"[0:v]crop=ih*{OUT_W}/{OUT_H}:ih,scale={OUT_W}:{OUT_H}:flags=lanczos"


def shortgen_cmd(src: Path, out: Path, *fit: str) -> list[str]:
    return [sys.executable, "-m", "shortgen", "edit", str(src), "--preset", "tiktok", "--crf", "20", *fit,
            "-o", str(out), "--overwrite", "--no-sidecar", "--quiet"]


# ------------------------------------------------------------------------------------------ per frame


def per_frame(frames: list[Any]) -> list[tuple[str, float]]:
    """Median milliseconds per frame of each fit's builder."""
    from shortgen.frames import Clip
    from shortgen.overlay import to_rgb
    from shortgen.stages.reframe import ReframeStage

    rgb = [to_rgb(frame) for frame in frames]

    def cost(**stage: object) -> float:
        times: list[float] = []
        given = rgb if stage.get("fit") == "track" else frames
        clip = Clip(SRC_W, SRC_H, Fraction(FPS), len(given), iter(given))
        stream = iter(ReframeStage(OUT_W, OUT_H, **stage).apply(clip).frames)  # type: ignore[arg-type]
        while True:
            started = time.perf_counter()
            try:
                next(stream)
            except StopIteration:
                break
            times.append(time.perf_counter() - started)
        # track emits its first frame after a second of look-ahead: spread that over the frames
        return 1000 * (sum(times) / len(times) if stage.get("fit") == "track" else statistics.median(times))

    rows: list[tuple[str, Callable[[], float]]] = [
        ("crop (centre)", lambda: cost(fit="crop")),
        ("crop --crop-x 0.2", lambda: cost(fit="crop", crop_x=0.2)),
        ("pad", lambda: cost(fit="pad")),
        ("blur", lambda: cost(fit="blur")),
        ("track", lambda: cost(fit="track")),
    ]
    rounds: dict[str, list[float]] = {name: [] for name, _ in rows}
    for _ in range(3):  # round-robin, like the whole runs
        for name, run in rows:
            rounds[name].append(run())
    return [(name, statistics.median(values)) for name, values in rounds.items()]


def source_frames(src: Path, count: int) -> list[Any]:
    """The first ``count`` frames as ``edit`` decodes them for crop, pad and blur (yuv420p)."""
    from shortgen.media import open_video

    return list(itertools.islice(open_video(src, yuv=True).frames, count))


def interleaved(commands: dict[str, list[str]], runs: int) -> list[Measurement]:
    """Each command ``runs`` times, round-robin, so a change in the machine's load hits every row alike;
    median wall time and the largest peak memory per command."""
    results: dict[str, list[tuple[float, float]]] = {name: [] for name in commands}
    for _ in range(runs):
        for name, cmd in commands.items():
            results[name].append(measure_once(cmd))
    return [Measurement(name, statistics.median(r[0] for r in got), max(r[1] for r in got), runs)
            for name, got in results.items()]


SHOTS = ["testsrc2", "mandelbrot", "cellauto", "life=mold=10:ratio=0.3:death_color=#C83232:life_color=#00ff00",
         "smptehdbars", "rgbtestsrc", "testsrc", "gradients=speed=0.05"]


def scene_cuts(folder: Path, seconds_per_shot: float = 2.0) -> tuple[int, list[int], float]:
    """Shots from FFmpeg's generators (several move) back to back: (true cuts, cuts found, ms per frame)."""
    import av

    from shortgen.stages.track import Analyzer, TrackSettings

    clips = []
    for i, source in enumerate(SHOTS):
        path = folder / f"shot{i}.mp4"
        size = "640x360"
        spec = f"{source}:size={size}:rate={FPS}" if "=" in source else f"{source}=size={size}:rate={FPS}"
        subprocess.run([ffmpeg(), "-v", "error", "-y", "-f", "lavfi", "-i", spec, "-t", str(seconds_per_shot),
                        "-pix_fmt", "yuv420p", "-c:v", "libx264", "-preset", "ultrafast", str(path)], check=True)
        clips.append(path)
    analyzer = Analyzer(True, TrackSettings(fps=FPS, detections_per_second=1e-9))  # cuts only, no detection
    found, index, spent = [], 0, 0.0
    for path in clips:
        with av.open(str(path)) as container:
            for frame in container.decode(video=0):
                rgb = frame.to_ndarray(format="rgb24")
                started = time.perf_counter()
                _, cut = analyzer.analyse(rgb)
                spent += time.perf_counter() - started
                if cut:
                    found.append(index)
                index += 1
    return len(clips) - 1, found, 1000 * spent / max(1, index)


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        src = folder / "wide.mp4"
        write_source(src)
        costs = per_frame(source_frames(src, 60))
        crop = costs[0][1]
        print(f"\n## Reframe, per frame: {SRC_W}x{SRC_H} → {OUT_W}x{OUT_H} yuv420p (60 frames, 3 rounds)\n"
              f"{machine()}\n\n| fit | ms per frame | ratio to crop |\n|---|---|---|")
        for name, ms in costs:
            print(f"| {name} | {ms:.1f} | {ms / crop:.2f} |")
        true_cuts, found, ms = scene_cuts(folder)
        shot = round(2.0 * FPS)
        hits = sum(1 for f in found if f % shot == 0)
        print(f"\n## Scene cuts (histogram test): {len(SHOTS)} generated shots of 2 s back to back\n\n"
              f"| true cuts | found | false | missed | ms per frame |\n|---|---|---|---|---|\n"
              f"| {true_cuts} | {hits} | {len(found) - hits} | {true_cuts - hits} | {ms:.2f} |")
        commands = {
            "ffmpeg blur (boxblur at full size)": ffmpeg_cmd(src, folder / "f1.mp4", BLUR_FULL),
            "ffmpeg blur (boxblur at 1/12 size)": ffmpeg_cmd(src, folder / "f2.mp4", BLUR_SMALL),
            "shortgen edit --fit blur": shortgen_cmd(src, folder / "s1.mp4", "--fit", "blur"),
            "ffmpeg pad": ffmpeg_cmd(src, folder / "f3.mp4", PAD),
            "shortgen edit --fit pad": shortgen_cmd(src, folder / "s2.mp4", "--fit", "pad", "--pad-color", "#101010"),
            "ffmpeg crop": ffmpeg_cmd(src, folder / "f4.mp4", CROP),
            "shortgen edit (crop)": shortgen_cmd(src, folder / "s3.mp4"),
            "shortgen edit --fit track": shortgen_cmd(src, folder / "s4.mp4", "--fit", "track"),
        }
        rows = interleaved(commands, RUNS)
    title = f"Reframe, whole edit: {SECONDS:g} s of {SRC_W}x{SRC_H} @ {FPS} fps → {OUT_W}x{OUT_H} H.264 veryfast CRF 20"
    print_table(title, rows, baseline="ffmpeg blur (boxblur at 1/12 size)")
    by_name = {r.name: r.seconds for r in rows}
    print("\n| comparison | ratio |\n|---|---|")
    for mine, theirs in (("shortgen edit --fit blur", "ffmpeg blur (boxblur at full size)"),
                         ("shortgen edit --fit blur", "ffmpeg blur (boxblur at 1/12 size)"),
                         ("shortgen edit --fit pad", "ffmpeg pad"),
                         ("shortgen edit (crop)", "ffmpeg crop"),
                         ("shortgen edit --fit track", "shortgen edit (crop)")):
        print(f"| {mine} / {theirs} | {by_name[mine] / by_name[theirs]:.2f} |")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
