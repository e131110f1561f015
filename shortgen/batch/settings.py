"""How a batch runs (the same for every runner): what to redo, when to stop, what may be replaced."""

from __future__ import annotations

from dataclasses import dataclass

from shortgen.errors import UsageError

DEFAULT_RETRIES = 2


@dataclass(frozen=True)
class RunSettings:
    source: str  # the job file, stamped into each sidecar
    force: bool = False  # render up-to-date jobs again
    fail_fast: bool = False  # cancel what is left after the first failure
    overwrite: bool = False  # replace files at a job's output paths that shortgen did not write


@dataclass(frozen=True)
class RayOptions:
    address: str | None = None  # None: RAY_ADDRESS if set, else a local Ray on this machine; "auto"; host:port
    workers: int | None = None  # None: one per GPU of the cluster (gpus_per_worker each), or 1 without GPUs
    gpus_per_worker: float | None = None  # None: 1 where the cluster has GPUs, else 0 (CPU workers)
    retries: int = DEFAULT_RETRIES  # times one job is handed to a new worker after its worker died

    def __post_init__(self) -> None:
        if self.workers is not None and self.workers < 1:
            raise UsageError(f"--workers {self.workers}: need at least 1")
        if self.gpus_per_worker is not None and self.gpus_per_worker < 0:
            raise UsageError(f"--gpus-per-worker {self.gpus_per_worker:g}: must not be negative")
        if self.retries < 0:
            raise UsageError(f"--retries {self.retries}: must not be negative")
