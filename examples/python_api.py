"""shortgen from Python: the same calls the CLI makes, with no terminal output.

    python examples/python_api.py OUT_DIR [MODEL]

MODEL defaults to a tiny random-weight LTX model built in OUT_DIR (offline, a few seconds); pass a Hub id or a
local diffusers folder to use a real one. Writes OUT_DIR/fox.mp4 (generated), OUT_DIR/fox-captioned.mp4
(the post stages on an existing clip) and OUT_DIR/gradient.mp4 (your own frames through the post path).
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path

import numpy as np

from shortgen import Clip, MakeOptions, build_tiny_ltx, edit_clip, make_clip, post_process


def gradient_frames(width: int, height: int, count: int) -> Iterator[np.ndarray]:
    """Frames are produced one at a time; nothing holds the whole clip."""
    ramp = np.linspace(0, 255, width, dtype=np.float32)
    for i in range(count):
        row = (ramp + i * 4) % 256
        yield np.broadcast_to(row[None, :, None], (height, width, 3)).astype(np.uint8)


def main(out_dir: Path, model: str | None) -> None:
    out_dir.mkdir(parents=True, exist_ok=True)
    if model is None:
        model = str(build_tiny_ltx(out_dir / "tiny-ltx"))  # returns the folder it saved
    # Generate: options are validated when the call starts (a bad value raises shortgen.errors.ConfigError).
    options = MakeOptions(prompt="a red fox running through snow", preset="tiktok", duration=10, seed=7,
                          model=model, gen_size="288x512", output=str(out_dir / "fox.mp4"))
    made = make_clip(options, overwrite=True)
    print(f"made {made.output}: {made.width}x{made.height}, {made.duration:.2f} s, seed {made.seed}, "
          f"sidecar {made.sidecar}")
    # The post stages on an existing clip: a caption and a crossfade loop.
    captioned = edit_clip(made.output, MakeOptions(caption="Day 1 in the snow", loop="crossfade"),
                          out_dir / "fox-captioned.mp4", overwrite=True)
    print(f"edited {captioned.output}: {captioned.duration:.2f} s, {captioned.info['captions']['cues']} cue(s)")
    # Your own frames (any iterator of uint8 RGB arrays) through the post path and the encoder.
    fps, seconds = 30, 10
    clip = Clip(540, 960, Fraction(fps), fps * seconds, gradient_frames(540, 960, fps * seconds))
    posted = post_process(clip, MakeOptions(caption="made with numpy"), out_dir / "gradient.mp4", overwrite=True)
    print(f"encoded {posted.output}: {posted.width}x{posted.height}, {posted.frames} frames")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path("out"), sys.argv[2] if len(sys.argv) > 2 else None)
