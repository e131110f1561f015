"""The Ray actor: a :class:`~shortgen.batch.render.JobRenderer` that outlives its jobs (one model load, many
renders), a probe of the output folder, and cancellation through the same cleanup as Ctrl-C."""

from __future__ import annotations

import contextlib
import os
import socket
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from shortgen.batch.render import JobRenderer
from shortgen.batch.report import FAILED, JobOutcome
from shortgen.batch.settings import RunSettings
from shortgen.progress import Progress

if TYPE_CHECKING:
    from shortgen.batch.plan import PlannedJob

PROBE_PREFIX = ".shortgen-probe-"


class CancellableProgress(Progress):
    """A worker's progress sink: silent, but a cancelled task (``ray.cancel``) stops at the next step, through
    the same cleanup as Ctrl-C."""

    def __init__(self) -> None:
        import ray

        self._context = ray.get_runtime_context()

    def _check(self) -> None:
        if self._context.is_canceled():
            raise KeyboardInterrupt("cancelled by the batch driver")

    def start(self, key: str, description: str, total: int | None = None) -> None:
        self._check()

    def advance(self, key: str, steps: int = 1) -> None:
        self._check()


class Worker:
    """The actor class (wrapped with ``ray.remote`` when workers start): a renderer that outlives its jobs."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.renderer = JobRenderer(RunSettings(""), worker=name)

    def probe(self, folder: str, token: str) -> dict[str, Any]:
        """Write a probe file into the output folder (the driver checks that it can read it) and say where this
        worker runs. An error writing it is returned, not raised: the driver turns it into one line."""
        import ray

        where = {"name": self.name, "host": socket.gethostname(), "pid": os.getpid(),
                 "node": ray.get_runtime_context().get_node_id()}
        path = Path(folder) / f"{PROBE_PREFIX}{token}-{self.name}"
        try:
            Path(folder).mkdir(parents=True, exist_ok=True)
            path.write_text(token, encoding="utf-8")
        except OSError as err:
            return {**where, "error": f"{getattr(err, 'strerror', None) or err} ({path})"}
        return {**where, "path": str(path)}

    def unprobe(self, path: str) -> None:
        with contextlib.suppress(OSError):
            Path(path).unlink()

    def render(self, job: PlannedJob, settings: RunSettings, description: str) -> Rendered:
        self.renderer.settings = settings  # a worker outlives one batch: each run brings its own
        outcome = self.renderer.render(job, CancellableProgress(), description)
        broken = outcome.status == FAILED and "OutOfMemoryError" in (outcome.error or "")
        return Rendered(outcome, self.renderer.models_loaded, broken, os.getpid())


@dataclass(frozen=True)
class Rendered:
    """What a worker hands back for one job."""

    outcome: JobOutcome
    models_loaded: int  # by this worker so far
    broken: bool  # CUDA ran out of memory: replace the worker (a new process starts with a clean device)
    pid: int
