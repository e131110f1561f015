"""The runner interface: what the local and the Ray runner both implement, and :func:`run_batch`, which
prepares the output folders, hands a shard's jobs to a runner and always returns (or leaves) a complete report."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Protocol

from shortgen.batch.locks import clean_stale_partials
from shortgen.batch.render import Loader, default_loader
from shortgen.batch.report import BatchReport, now
from shortgen.batch.settings import RunSettings
from shortgen.progress import Progress

if TYPE_CHECKING:
    from shortgen.batch.plan import BatchPlan, PlannedJob, Shard


class BatchRunner(Protocol):
    """Renders a list of planned jobs. Implementations: :class:`~shortgen.batch.local.LocalRunner` (this process)
    and :class:`~shortgen.batch.ray.RayRunner` (Ray actors)."""

    name: str

    def run(self, jobs: list[PlannedJob], settings: RunSettings, progress: Progress, report: BatchReport) -> None:
        """Render ``jobs``; add each outcome to ``report`` as soon as it is known (so that a run stopped by Ctrl-C
        still reports what finished) and count loaded models in ``report.models_loaded``. A failing job is an
        outcome, never an exception; Ctrl-C and signals propagate after the runner's cleanup."""
        ...


def run_batch(plan: BatchPlan, *, shard: Shard | None = None, force: bool = False, fail_fast: bool = False,
              overwrite: bool = False, progress: Progress | None = None, loader: Loader = default_loader,
              runner: BatchRunner | None = None, report: BatchReport | None = None) -> BatchReport:
    """Render this shard's jobs with ``runner`` (default: in this process, loading models with ``loader``).

    Failures are recorded, not raised. Pass ``report`` to keep what finished when Ctrl-C (or a signal raised as
    an exception) stops the run: the exception propagates, and ``report`` lists the unfinished jobs as cancelled.
    """
    from shortgen.batch.local import LocalRunner

    runner = runner or LocalRunner(loader)
    started = time.perf_counter()
    report = report or BatchReport(plan.source, plan.out_dir, shard, now())
    report.runner = runner.name
    jobs = plan.selected(shard)
    settings = RunSettings(plan.source, force=force, fail_fast=fail_fast, overwrite=overwrite)
    try:
        prepare_folders(plan)
        runner.run(jobs, settings, progress or Progress(), report)
    except BaseException as err:
        report.interrupted = not isinstance(err, Exception)  # Ctrl-C, or a signal delivered as an exception
        raise
    finally:
        report.cancel_unreported(jobs)
        report.jobs.sort(key=lambda outcome: outcome.index)
        report.seconds = time.perf_counter() - started
    return report


def prepare_folders(plan: BatchPlan) -> None:
    """Create the output folder and remove what killed runs left in the folders this plan writes to."""
    plan.out_dir.mkdir(parents=True, exist_ok=True)
    clean_stale_partials([plan.out_dir, *(job.output.parent for job in plan.jobs)])
