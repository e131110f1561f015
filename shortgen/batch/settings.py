"""How a batch runs (the same for every runner): what to redo, when to stop, what may be replaced."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class RunSettings:
    source: str  # the job file, stamped into each sidecar
    force: bool = False  # render up-to-date jobs again
    fail_fast: bool = False  # cancel what is left after the first failure
    overwrite: bool = False  # replace files at a job's output paths that shortgen did not write
