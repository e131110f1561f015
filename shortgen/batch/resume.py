"""What is already on disk for a job: the key stamped in its sidecar, and whether it is up to date."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

from shortgen.atomic import write_text_atomic
from shortgen.metadata import read_sidecar, sidecar_path

if TYPE_CHECKING:
    from shortgen.batch.plan import PlannedJob


def stored_key(output: Path) -> str | None:
    """The job key stamped in ``output``'s sidecar, or None when the clip or its sidecar is missing."""
    sidecar = sidecar_path(output)
    if not output.is_file() or not sidecar.is_file():
        return None
    try:
        data = read_sidecar(sidecar)
    except (OSError, ValueError):
        return None
    batch = data.get("batch") if isinstance(data, dict) else None
    return batch.get("job_key") if isinstance(batch, dict) else None


def is_up_to_date(job: PlannedJob) -> bool:
    return stored_key(job.output) == job.key


def stamp_sidecar(path: Path, job: PlannedJob, source: str) -> None:
    """Add the job's key (what resume compares) to the sidecar ``make_clip`` wrote.

    A kill between the two sidecar writes leaves a clip without a key: the next run renders it again.
    """
    data = read_sidecar(path)
    data["batch"] = {"job_key": job.key, "job_index": job.index, "job_name": job.name, "job_file": source}
    write_text_atomic(path, json.dumps(data, indent=2, default=str) + "\n")


def plan_status(job: PlannedJob, force: bool) -> str:
    """What a run would do: ``render`` (new), ``redo`` (changed or forced) or ``skip`` (up to date)."""
    key = stored_key(job.output)
    if key is None and not job.output.exists():
        return "render"
    return "skip" if key == job.key and not force else "redo"
