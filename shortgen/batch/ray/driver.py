"""The Ray runner: one batch across a Ray cluster's GPUs (or CPUs), with the local batch's semantics.

Workers are Ray actors; each owns a :class:`~shortgen.batch.render.JobRenderer`, so it loads a model once and
renders many jobs with it (prompt embeddings cached inside the model as locally), taking the output's lock,
checking ownership and stamping the sidecar exactly as the local runner does. A small driver loop hands out jobs
one at a time with ``ray.wait``: a free worker takes the next job of the model it holds, else the next job in
model-group order, so a slow job never holds back the rest.

Faults: a worker that dies (killed, node lost, CUDA out of memory) is replaced by a new actor and its job handed
out again, at most ``retries`` times per job; a job that fails by raising is recorded as failed, never retried.
Ctrl-C (or SIGTERM / SIGHUP raised as an exception) cancels the jobs in flight (each worker removes its temp files
and claim), stops the workers, and lets the exception through so the CLI reports what finished.

``ray`` is imported only here, and only when a :class:`RayRunner` connects: ``shortgen --help`` and the local
batch never import it.
"""

from __future__ import annotations

import contextlib
import secrets
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from shortgen.batch.locks import clean_stale_partials
from shortgen.batch.plan import group_by_model
from shortgen.batch.ray.cluster import WorkerShape, connect, first_line, import_ray, worker_shape
from shortgen.batch.ray.worker import PROBE_PREFIX, Rendered, Worker
from shortgen.batch.report import BUSY, CANCELLED, DONE, FAILED, SKIPPED, BatchReport, JobOutcome
from shortgen.batch.resume import drop_claim, is_up_to_date
from shortgen.batch.settings import RayOptions, RunSettings
from shortgen.errors import UsageError
from shortgen.progress import Progress

if TYPE_CHECKING:
    from collections.abc import Callable

    from shortgen.batch.plan import PlannedJob

START_SECONDS = 300.0  # workers must be up (and have written their probe) within this
CANCEL_SECONDS = 30.0  # how long cancelled jobs get to remove their temp files before their workers are killed
WAIT_SECONDS = 1.0


@dataclass
class Slot:
    """One worker position; its actor is replaced when it dies."""

    number: int
    actor: Any = None
    name: str = ""
    generation: int = 0
    group: tuple[Any, ...] | None = None  # the model group its renderer holds
    job: PlannedJob | None = None
    host: str = ""
    loaded_by_current: int = 0  # models its current actor has loaded (the actor counts them)
    # This run's figures (a RayRunner keeps its workers from one run to the next):
    jobs: int = 0
    models_loaded: int = 0
    restarts: int = 0
    pids: list[int] = field(default_factory=list)  # of the actors that worked in this run, in order

    def new_run(self) -> None:
        self.jobs = self.models_loaded = self.restarts = 0
        self.pids = self.pids[-1:]

    def describe(self) -> dict[str, Any]:
        return {"name": f"worker-{self.number}", "host": self.host, "pids": self.pids, "jobs": self.jobs,
                "models_loaded": self.models_loaded, "restarts": self.restarts}


@dataclass
class DriverState:
    pending: deque[PlannedJob]
    in_flight: dict[Any, Slot] = field(default_factory=dict)  # ObjectRef → the slot rendering it
    retries: dict[int, int] = field(default_factory=dict)  # job index → times handed out again
    stop: bool = False


class RayRunner:
    """Renders jobs on Ray actors; see the module docstring. ``on_dispatch(job, actor)`` is called as a job is
    handed to an actor (tests use it to kill that actor mid-job)."""

    name = "ray"

    def __init__(self, options: RayOptions | None = None,
                 on_dispatch: Callable[[PlannedJob, Any], None] | None = None,
                 worker_class: type[Worker] | None = None) -> None:
        self.options = options or RayOptions()
        self.on_dispatch = on_dispatch
        self.worker_class = worker_class or Worker
        self.shape: WorkerShape | None = None
        self._connected_here = False
        self._state: DriverState | None = None
        self._settings = RunSettings("")
        self._slots: list[Slot] = []  # kept warm from one run to the next until close()

    def connect(self, progress: Progress | None = None) -> None:
        """Join the cluster and size the workers; bad input fails here, in one line, before any model loads."""
        ray = import_ray()
        already = ray.is_initialized()
        connect(self.options.address)
        self._connected_here = not already
        self.shape = worker_shape(self.options, progress or Progress())

    def close(self) -> None:
        """Stop the workers, and leave the cluster if :meth:`connect` joined it (a local Ray started here stops
        with it)."""
        self.stop_workers()
        if self._connected_here:
            import_ray().shutdown()
            self._connected_here = False

    def run(self, jobs: list[PlannedJob], settings: RunSettings, progress: Progress, report: BatchReport) -> None:
        ray = import_ray()
        if self.shape is None:
            self.connect(progress)
        assert self.shape is not None
        todo = self._skip_up_to_date(jobs, settings, report, progress)
        slots: list[Slot] = []
        progress.start("batch", f"Batch on Ray: {len(jobs)} job(s)", len(jobs))
        try:
            if todo:
                slots = self._workers(min(self.shape.count, len(todo)), report, progress)
                self._drive(ray, todo, slots, settings, progress, report)
        except BaseException:
            self._cancel(ray, report, jobs)
            raise
        finally:
            report.workers = [slot.describe() for slot in slots]
            report.models_loaded = sum(slot.models_loaded for slot in slots)
            for slot in slots:
                progress.finish(f"worker:{slot.name}")  # its line: how long it worked in this run
            progress.finish("batch")

    # ------------------------------------------------------------------------------------------ stages

    def _skip_up_to_date(self, jobs: list[PlannedJob], settings: RunSettings, report: BatchReport,
                         progress: Progress) -> list[PlannedJob]:
        todo = []
        for job in jobs:
            if not settings.force and is_up_to_date(job):
                report.add(JobOutcome.of(job, SKIPPED))
                progress.advance("batch")
            else:
                todo.append(job)
        return todo

    def stop_workers(self) -> None:
        """Stop the warm workers (the next run starts new ones)."""
        if self._slots:
            self._stop_workers(import_ray(), self._slots)
            self._slots = []

    def _workers(self, count: int, report: BatchReport, progress: Progress) -> list[Slot]:
        """``count`` workers (warm ones first, new actors for the rest), each of which writes a probe into the
        output folder that this process must then see: the folder has to be storage every worker shares."""
        ray = import_ray()
        while len(self._slots) < count:
            slot = Slot(len(self._slots) + 1)
            self._new_actor(ray, slot)
            self._slots.append(slot)
        slots = self._slots[:count]
        for slot in slots:
            slot.new_run()
        probes, token = self._probe(ray, slots, report.out_dir, progress)
        try:
            for slot, probe in zip(slots, probes, strict=True):
                _check_probe(probe, token, report.out_dir)
                if probe["pid"] not in slot.pids:
                    slot.host = probe["host"]
                    slot.pids.append(probe["pid"])
                progress.start(f"worker:{slot.name}", f"{slot.name} on {slot.host} (pid {probe['pid']})")
        finally:
            ray.get([slot.actor.unprobe.remote(p["path"]) for slot, p in zip(slots, probes, strict=True)
                     if "path" in p])
        return slots

    def _probe(self, ray: Any, slots: list[Slot], out_dir: Path,
               progress: Progress) -> tuple[list[dict[str, Any]], str]:
        """Every worker writes a probe file; a warm worker that died since the last run is replaced once."""
        token = secrets.token_hex(8)
        refs = [slot.actor.probe.remote(str(out_dir), token) for slot in slots]
        _, waiting = ray.wait(refs, num_returns=len(refs), timeout=START_SECONDS)
        if waiting:
            raise UsageError(f"{len(waiting)} of {len(slots)} Ray worker(s) did not start within "
                             f"{START_SECONDS:g} s", "check the cluster's free resources (ray status)")
        probes = []
        for slot, ref in zip(slots, refs, strict=True):
            try:
                probes.append(ray.get(ref))
            except ray.exceptions.RayActorError as err:
                self._replace(ray, slot, progress, f"died ({_death_reason(err)})")
                probes.append(ray.get(slot.actor.probe.remote(str(out_dir), token), timeout=START_SECONDS))
        return probes, token

    def _new_actor(self, ray: Any, slot: Slot) -> None:
        assert self.shape is not None
        slot.generation += 1
        slot.name = f"worker-{slot.number}" if slot.generation == 1 else f"worker-{slot.number}.{slot.generation}"
        remote = ray.remote(num_cpus=self.shape.cpus, num_gpus=self.shape.gpus, max_restarts=0,
                            max_task_retries=0)(self.worker_class)
        slot.actor = remote.remote(slot.name)
        slot.group, slot.loaded_by_current = None, 0

    def _drive(self, ray: Any, todo: list[PlannedJob], slots: list[Slot], settings: RunSettings,
               progress: Progress, report: BatchReport) -> None:
        state = self._state = DriverState(deque(job for group in group_by_model(todo) for job in group))
        self._settings = settings
        total = len(report.jobs) + len(todo)
        while state.pending or state.in_flight:
            if state.stop:
                while state.pending:
                    report.add(JobOutcome.of(state.pending.popleft(), CANCELLED))
                    progress.advance("batch")
            for slot in slots:
                if slot.job is None and state.pending and not state.stop:
                    self._dispatch(slot, state, report, total, progress)
            if not state.in_flight:
                continue
            ready, _ = ray.wait(list(state.in_flight), num_returns=1, timeout=WAIT_SECONDS)
            for ref in ready:
                self._collect(ray, ref, state, settings, progress, report)

    def _dispatch(self, slot: Slot, state: DriverState, report: BatchReport, total: int,
                  progress: Progress) -> None:
        job = next((j for j in state.pending if j.model_group == slot.group), state.pending[0])
        state.pending.remove(job)
        slot.job, slot.group = job, job.model_group
        retry = state.retries.get(job.index, 0)
        description = f"[{len(report.jobs) + len(state.in_flight) + 1}/{total}] {job.label} on {slot.name}"
        description += f" (retry {retry})" if retry else ""
        ref = slot.actor.render.remote(job, self._settings, description)
        state.in_flight[ref] = slot
        progress.start(f"job{job.index}", description)
        if self.on_dispatch is not None:
            self.on_dispatch(job, slot.actor)

    def _collect(self, ray: Any, ref: Any, state: DriverState, settings: RunSettings, progress: Progress,
                 report: BatchReport) -> None:
        slot = state.in_flight.pop(ref)
        job, slot.job = slot.job, None
        assert job is not None
        task = f"job{job.index}"
        try:
            rendered: Rendered = ray.get(ref)
        except ray.exceptions.RayActorError as err:  # the worker died: replace it, hand the job out again
            self._replace(ray, slot, progress, f"died ({_death_reason(err)})")
            self._retry_or_fail(job, state, settings, progress, report, f"its worker died: {_death_reason(err)}")
            return
        except ray.exceptions.RayTaskError as err:  # raised outside the renderer's own handling
            error = first_line(err.cause or err)
            rendered = Rendered(JobOutcome.of(job, FAILED, error=error), slot.loaded_by_current, False, 0)
        outcome = rendered.outcome
        slot.models_loaded += rendered.models_loaded - slot.loaded_by_current
        slot.loaded_by_current = rendered.models_loaded
        if rendered.pid and rendered.pid not in slot.pids:
            slot.pids.append(rendered.pid)
        if rendered.broken:
            self._replace(ray, slot, progress, "ran out of GPU memory")
            self._retry_or_fail(job, state, settings, progress, report, outcome.error or "out of memory")
            return
        slot.jobs += outcome.status == DONE
        outcome.retries = state.retries.get(job.index, 0)
        report.add(outcome)
        progress.advance("batch")
        if outcome.status == FAILED:
            progress.fail(task, outcome.error or "failed")
            state.stop = state.stop or settings.fail_fast
        elif outcome.status == BUSY:
            progress.fail(task, f"busy: {outcome.error}")
        else:
            progress.finish(task)

    def _retry_or_fail(self, job: PlannedJob, state: DriverState, settings: RunSettings, progress: Progress,
                       report: BatchReport, why: str) -> None:
        assert settings is not None
        retries = state.retries.get(job.index, 0)
        if retries >= self.options.retries:
            message = f"{why} (gave up after {retries} retr{'y' if retries == 1 else 'ies'})"
            report.add(JobOutcome.of(job, FAILED, error=message, retries=retries))
            progress.fail(f"job{job.index}", message)
            progress.advance("batch")
            state.stop = state.stop or settings.fail_fast
            return
        state.retries[job.index] = retries + 1
        progress.fail(f"job{job.index}", f"{why}; handing it out again ({retries + 1}/{self.options.retries})")
        state.pending.appendleft(job)

    def _replace(self, ray: Any, slot: Slot, progress: Progress, why: str) -> None:
        old = slot.name
        with contextlib.suppress(Exception):
            ray.kill(slot.actor, no_restart=True)
        slot.restarts += 1
        self._new_actor(ray, slot)
        progress.fail(f"worker:{old}", f"{why}; {slot.name} takes its place")
        progress.start(f"worker:{slot.name}", f"{slot.name} (replaces {old})")

    def _cancel(self, ray: Any, report: BatchReport, jobs: list[PlannedJob]) -> None:
        """Ctrl-C: cancel the jobs in flight, give them a moment to remove their temp files and claims, then
        sweep what a worker could not (one killed meanwhile) from the output folders."""
        in_flight = dict(self._state.in_flight) if self._state is not None else {}
        for ref in in_flight:
            with contextlib.suppress(Exception):
                ray.cancel(ref)
        with contextlib.suppress(Exception):
            ray.wait(list(in_flight), num_returns=len(in_flight), timeout=CANCEL_SECONDS)
        running = {ref: (slot.name, slot.job) for ref, slot in in_flight.items()}
        for ref, (worker, job) in running.items():  # a job that finished just before the cancel says so
            with contextlib.suppress(Exception):
                report.add(ray.get(ref, timeout=0).outcome)
                continue
            if job is not None and is_up_to_date(job):  # Ray may call a task cancelled that had just finished
                report.add(JobOutcome.of(job, DONE, worker=worker))
        self.stop_workers()
        time.sleep(0.5)  # let the killed processes' locks go before the sweep
        clean_stale_partials({report.out_dir, *(job.output.parent for job in jobs)})
        reported = {outcome.index for outcome in report.jobs}
        for job in jobs:
            if job.index not in reported:
                drop_claim(job)

    @staticmethod
    def _stop_workers(ray: Any, slots: list[Slot]) -> None:
        for slot in slots:
            if slot.actor is not None:
                with contextlib.suppress(Exception):
                    ray.kill(slot.actor, no_restart=True)
                slot.actor = None


def _check_probe(probe: dict[str, Any], token: str, out_dir: Path) -> None:
    if "error" in probe:
        raise UsageError(f"Ray {probe['name']} on {probe['host']} cannot write to --out-dir {out_dir}: "
                         f"{probe['error']}", "give a folder every worker can write to")
    path = out_dir / f"{PROBE_PREFIX}{token}-{probe['name']}"  # where the worker says it wrote, seen from here
    try:
        seen = path.read_text(encoding="utf-8") == token
    except OSError:
        seen = False
    if not seen:
        raise UsageError(f"--out-dir {out_dir} is not shared with the Ray workers: {probe['name']} on "
                         f"{probe['host']} wrote {path.name} into it, and this machine does not see that file",
                         "use storage every node mounts at the same path (NFS, a shared volume)")


def _death_reason(err: BaseException) -> str:
    text = str(err)
    for line in text.splitlines():
        if line.startswith("The actor is dead because"):
            return line.removeprefix("The actor is dead because").strip().rstrip(".")
    return first_line(err)
