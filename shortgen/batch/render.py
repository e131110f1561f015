"""One job in one process: take its lock, check what is on disk, render, stamp the sidecar.

A :class:`JobRenderer` keeps the last model it loaded, so consecutive jobs of one model group share it. The
local runner owns one; every Ray worker owns one of its own.
"""

from __future__ import annotations

import gc
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from shortgen import pipeline
from shortgen.batch import locks
from shortgen.batch.report import BUSY, DONE, FAILED, SKIPPED, JobOutcome, describe_failure
from shortgen.batch.resume import OnDisk, foreign_message, on_disk, stamp_sidecar, stored_key, write_claim
from shortgen.batch.settings import RunSettings
from shortgen.errors import OutputExistsError, ShortgenError
from shortgen.progress import Progress

if TYPE_CHECKING:
    from shortgen.backends import GeneratorBackend
    from shortgen.batch.plan import PlannedJob
    from shortgen.config import MakeOptions, Preset

Loader = Callable[["Preset", "MakeOptions", Progress], "GeneratorBackend"]


def default_loader(preset: Preset, options: MakeOptions, progress: Progress) -> GeneratorBackend:
    # Looked up at call time so tests (and callers) can patch shortgen.pipeline.load_generator.
    return pipeline.load_generator(preset, options, progress)


class JobRenderer:
    """Renders jobs one at a time, loading each model group's model once and keeping it for the next job."""

    def __init__(self, settings: RunSettings, loader: Loader = default_loader, worker: str | None = None) -> None:
        self.settings = settings
        self.loader = loader
        self.worker = worker
        self.models_loaded = 0
        self.load_seconds = 0.0  # time spent loading models, left out of per-job render times (for the ETA)
        self._group: tuple[Any, ...] | None = None
        self._backend: GeneratorBackend | None = None
        self._load_error: str | None = None

    def render(self, job: PlannedJob, progress: Progress, description: str) -> JobOutcome:
        """Render ``job`` unless it is up to date, another process holds its lock, or a file of the user's is in
        the way. Never raises for a failing job (the outcome says ``failed``); Ctrl-C and signals raised as
        exceptions pass through after this job's temp files and claim are removed."""
        started = time.perf_counter()
        with locks.try_lock(locks.output_lock(job.output), locks.LOCK_WAIT_SECONDS) as locked:
            if not locked:
                progress.warn(f"{job.label}: busy: another shortgen process is writing {job.output.name}")
                return self._outcome(job, BUSY, error="another shortgen process is writing this output")
            state = on_disk(job)
            if state is OnDisk.CURRENT and not self.settings.force:  # another process finished it meanwhile
                return self._outcome(job, SKIPPED)
            task = f"job{job.index}"
            progress.start(task, description, None)
            try:
                if state is OnDisk.FOREIGN and not self.settings.overwrite:
                    raise OutputExistsError(foreign_message(job))
                result = self._render(job, progress, state)
            except Exception as err:  # a failing job is recorded and the batch goes on
                progress.fail(task, describe_failure(err))
                return self._outcome(job, FAILED, error=describe_failure(err), seconds=time.perf_counter() - started)
            progress.finish(task)
        return self._outcome(job, DONE, seconds=time.perf_counter() - started, result=result)

    def _outcome(self, job: PlannedJob, status: str, **extra: Any) -> JobOutcome:
        return JobOutcome.of(job, status, worker=self.worker, **extra)

    def _render(self, job: PlannedJob, progress: Progress, state: OnDisk) -> dict[str, Any]:
        """A new output (or the user's, with overwrite) is marked ours first; if rendering fails or is
        interrupted, the mark goes again, with the clip when the output was new (nothing half-done stays)."""
        backend = self._backend_for(job, progress)
        job.output.parent.mkdir(parents=True, exist_ok=True)
        locks.clean_partials_of(job.output)  # left by a worker that died rendering this job
        claimed = write_claim(job, self.settings.source) if state is not OnDisk.OURS else None
        try:
            result = pipeline.make_clip(job.options, overwrite=True, progress=progress, backend=backend,
                                        write_sidecar=True)
            if result.sidecar is not None:
                stamp_sidecar(result.sidecar, job, self.settings.source)
        except BaseException:
            if claimed is not None and stored_key(job.output) is None:
                if state is OnDisk.ABSENT:
                    job.output.unlink(missing_ok=True)
                claimed.unlink(missing_ok=True)
            raise
        return result.to_dict()

    def _backend_for(self, job: PlannedJob, progress: Progress) -> GeneratorBackend:
        if job.model_group != self._group:
            self.release_model()
            self._group = job.model_group
        if self._load_error is not None:
            raise ShortgenError(f"the model did not load: {self._load_error}")
        if self._backend is None:
            started = time.perf_counter()
            try:
                self._backend = self.loader(job.plan.preset, job.options, progress)
            except Exception as err:
                self._load_error = describe_failure(err)  # not retried for the rest of this model's jobs
                raise
            finally:
                self.load_seconds += time.perf_counter() - started
            self.models_loaded += 1
        return self._backend

    def release_model(self) -> None:
        if self._backend is not None:
            self._backend = None
            gc.collect()  # let the weights go before the next model loads
        self._group, self._load_error = None, None
