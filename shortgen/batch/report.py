"""What a batch did: one :class:`JobOutcome` per job, gathered in a :class:`BatchReport` (the ``--json`` summary)."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

from shortgen.atomic import write_text_atomic
from shortgen.errors import ShortgenError

if TYPE_CHECKING:
    from shortgen.batch.plan import PlannedJob, Shard

DONE, SKIPPED, FAILED, BUSY, CANCELLED = "done", "skipped", "failed", "busy", "cancelled"
STATUSES = (DONE, SKIPPED, FAILED, BUSY, CANCELLED)


@dataclass
class JobOutcome:
    index: int
    name: str
    key: str
    output: Path
    status: str
    error: str | None = None
    seconds: float = 0.0
    result: dict[str, Any] | None = None
    worker: str | None = None  # which worker rendered it ("local", or a Ray worker's name)
    retries: int = 0  # times it was handed to a new worker after its worker died

    @classmethod
    def of(cls, job: PlannedJob, status: str, **extra: Any) -> JobOutcome:
        return cls(job.index, job.name, job.key, job.output, status, **extra)

    def to_dict(self) -> dict[str, Any]:
        result = self.result or {}
        return {"index": self.index, "name": self.name, "key": self.key, "status": self.status,
                "output": str(self.output), "sidecar": result.get("sidecar"), "error": self.error,
                "seconds": round(self.seconds, 3), "timings": result.get("timings"),
                "duration": result.get("duration"), "frames": result.get("frames"),
                "size_bytes": result.get("size_bytes"), "worker": self.worker, "retries": self.retries}


@dataclass
class BatchReport:
    source: str
    out_dir: Path
    shard: Shard | None
    started: str
    seconds: float = 0.0
    models_loaded: int = 0
    jobs: list[JobOutcome] = field(default_factory=list)
    error: str | None = None  # why the batch never started (an invalid job file)
    runner: str = "local"
    workers: list[dict[str, Any]] = field(default_factory=list)  # name, host, jobs, models_loaded, restarts
    interrupted: bool = False  # stopped by Ctrl-C or a signal; unfinished jobs are "cancelled"

    def count(self, status: str) -> int:
        return sum(1 for job in self.jobs if job.status == status)

    def add(self, outcome: JobOutcome) -> None:
        self.jobs.append(outcome)

    def cancel_unreported(self, jobs: list[PlannedJob], reason: str | None = None) -> None:
        """Record every job of ``jobs`` that has no outcome yet as cancelled."""
        known = {job.index for job in self.jobs}
        self.jobs += [JobOutcome.of(job, CANCELLED, error=reason) for job in jobs if job.index not in known]

    @property
    def ok(self) -> bool:
        failed = any(job.status in (FAILED, CANCELLED) for job in self.jobs)
        return self.error is None and not self.interrupted and not failed

    @property
    def exit_code(self) -> int:
        return 0 if self.ok else 1

    def to_dict(self) -> dict[str, Any]:
        counts = {"total": len(self.jobs), **{status: self.count(status) for status in STATUSES}}
        return {"source": self.source, "out_dir": str(self.out_dir),
                "shard": str(self.shard) if self.shard else None, "started": self.started,
                "seconds": round(self.seconds, 3), "models_loaded": self.models_loaded, "ok": self.ok,
                "error": self.error, "runner": self.runner, "interrupted": self.interrupted, "counts": counts,
                "workers": self.workers,
                "jobs": [job.to_dict() for job in sorted(self.jobs, key=lambda j: j.index)]}


def describe_failure(err: BaseException) -> str:
    if isinstance(err, ShortgenError):
        return str(err)
    if isinstance(err, MemoryError):
        return "out of memory; try low_memory, a smaller gen_size or a shorter duration"
    lines = str(err).strip().splitlines()
    return f"unexpected {type(err).__name__}: {lines[0] if lines else ''}".rstrip(": ")


def format_seconds(seconds: float) -> str:
    minutes, secs = divmod(round(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def write_report(report: BatchReport, path: Path) -> None:
    write_text_atomic(path, json.dumps(report.to_dict(), indent=2, default=str) + "\n")


def write_error_report(path: Path, source: str, out_dir: Path, shard: Shard | None, error: str) -> None:
    """The report of a batch that never started (an invalid job file), so a CI step reading it sees why."""
    write_report(BatchReport(source, Path(os.path.abspath(out_dir)), shard, now(), error=error), path)


def now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")
