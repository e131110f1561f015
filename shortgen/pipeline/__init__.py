"""The product in one function: options → plan → frame stream through stages → encoder → result.

``make_clip`` generates; ``edit_clip`` runs the same post stages on an existing video; ``preview_frame`` writes
one frame of that as an image; ``post_process`` runs them on any clip. All are plain library calls (no terminal
output): progress and warnings go through a :class:`~shortgen.progress.Progress`.

One module per route, one for the plan they share and one for the step they all end in:

* :mod:`~shortgen.pipeline.plan`: preset and options resolved, segments planned, post stages as spec dicts,
  early checks (no torch);
* :mod:`~shortgen.pipeline.make`: the generator loaded and the segments streamed through it (decode-ahead);
* :mod:`~shortgen.pipeline.edit`: an existing video decoded (and optionally restyled);
* :mod:`~shortgen.pipeline.preview`: one frame after the post stages;
* :mod:`~shortgen.pipeline.finish`: stages → encoder → publish check → clip, ``.srt`` and sidecar renamed into
  place together (:class:`ClipResult`).

Nothing here imports torch, diffusers or ray at import time (``--dry-run`` imports this package). A test that
replaces a function must patch the module that calls it, e.g. ``shortgen.pipeline.make.load_generator`` for
``make_clip`` (``shortgen.batch`` looks ``load_generator`` up on this package at call time).
"""

from shortgen.pipeline.edit import edit_clip
from shortgen.pipeline.finish import ClipResult, post_process
from shortgen.pipeline.make import load_generator, make_clip
from shortgen.pipeline.plan import (
    DEFAULT_SEED,
    SPEED_OPTIONS,
    MakePlan,
    build_post_stages,
    check_duration,
    check_outputs,
    default_output,
    plan_for_stages,
    plan_make,
    post_stage_specs,
    requested_frames,
    resolve_preset,
)
from shortgen.pipeline.preview import PREVIEW_SUFFIXES, preview_frame
from shortgen.stages import run_stages

__all__ = [
    "DEFAULT_SEED",
    "PREVIEW_SUFFIXES",
    "SPEED_OPTIONS",
    "ClipResult",
    "MakePlan",
    "build_post_stages",
    "check_duration",
    "check_outputs",
    "default_output",
    "edit_clip",
    "load_generator",
    "make_clip",
    "plan_for_stages",
    "plan_make",
    "post_process",
    "post_stage_specs",
    "preview_frame",
    "requested_frames",
    "resolve_preset",
    "run_stages",
]
