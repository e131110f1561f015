"""The local runner: every job in this process, one model group after another, each model loaded once."""

from __future__ import annotations

import socket
from typing import TYPE_CHECKING

from shortgen.batch.plan import group_by_model
from shortgen.batch.render import JobRenderer, Loader, default_loader
from shortgen.batch.report import CANCELLED, DONE, FAILED, SKIPPED, BatchReport, JobOutcome, format_seconds
from shortgen.batch.resume import is_up_to_date
from shortgen.errors import check_stop

if TYPE_CHECKING:
    from shortgen.batch.plan import PlannedJob
    from shortgen.batch.settings import RunSettings
    from shortgen.progress import Progress

WORKER = "local"


class LocalRunner:
    name = "local"

    def __init__(self, loader: Loader = default_loader) -> None:
        self.loader = loader

    def run(self, jobs: list[PlannedJob], settings: RunSettings, progress: Progress, report: BatchReport) -> None:
        renderer = JobRenderer(settings, self.loader, worker=WORKER)
        eta = Eta(len(jobs))
        progress.start("batch", f"Batch: {len(jobs)} job(s)", len(jobs))
        try:
            for job in jobs:
                if not settings.force and is_up_to_date(job):
                    report.add(JobOutcome.of(job, SKIPPED))
                    eta.skip()
                    progress.advance("batch")
            stop = False
            for group in group_by_model(job for job in jobs if job.index not in {o.index for o in report.jobs}):
                for job in group:
                    check_stop()  # a signal whose exception was lost on its way up still stops the batch
                    if stop:
                        outcome = JobOutcome.of(job, CANCELLED)
                    else:
                        loading_before = renderer.load_seconds
                        outcome = renderer.render(job, progress, eta.describe(job))
                        eta.rendered(outcome, renderer.load_seconds - loading_before)
                    report.add(outcome)
                    report.models_loaded = renderer.models_loaded
                    progress.advance("batch")
                    stop = stop or (settings.fail_fast and outcome.status == FAILED)
                renderer.release_model()
            progress.finish("batch")  # not when an error or a signal stops it: its one error line says what happened
        finally:
            renderer.release_model()
            report.models_loaded = renderer.models_loaded
            report.workers = [{"name": WORKER, "host": socket.gethostname(), "jobs": report.count(DONE),
                               "models_loaded": renderer.models_loaded, "restarts": 0}]


class Eta:
    """``[n/N] job i (name) (batch ETA m:ss)``: the average render time so far, model loading left out."""

    def __init__(self, total: int) -> None:
        self.total = total
        self.finished = 0
        self.render_seconds: list[float] = []

    def skip(self) -> None:
        self.finished += 1

    def rendered(self, outcome: JobOutcome, load_seconds: float) -> None:
        self.finished += 1
        if outcome.status == "done":
            self.render_seconds.append(outcome.seconds - load_seconds)

    def describe(self, job: PlannedJob, where: str = "") -> str:
        text = f"[{self.finished + 1}/{self.total}] {job.label}{where}"
        if self.render_seconds:
            average = sum(self.render_seconds) / len(self.render_seconds)
            text += f" (batch ETA {format_seconds(average * (self.total - self.finished))})"
        return text
