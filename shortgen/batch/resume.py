"""What is on disk at a job's output: absent, ours (its sidecar carries a batch stamp), up to date, or the user's.

A clip counts as written by shortgen only when its sidecar (``NAME.json``) carries the ``batch`` stamp with a job
key. Anything else at the clip's or the sidecar's path belongs to the user: a run reports the job failed and leaves
those files alone unless ``overwrite`` is set.

Before a new output is rendered, a *claim* (a sidecar holding only the stamp, ``state: rendering``) is written under
the job's lock, so a process killed between the clip's rename and its sidecar's write leaves files the next run can
still prove are ours; a claim never counts as up to date.
"""

from __future__ import annotations

import json
import os
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Any

from shortgen.atomic import write_text_atomic
from shortgen.metadata import read_sidecar, sidecar_path

if TYPE_CHECKING:
    from shortgen.batch.plan import PlannedJob

RENDERING = "rendering"


class OnDisk(Enum):
    ABSENT = "absent"  # neither the clip nor its sidecar exists
    CURRENT = "current"  # ours, complete, with this job's key: nothing to do
    OURS = "ours"  # written by shortgen batch (another key, a claim, or the clip is gone): may be replaced
    FOREIGN = "foreign"  # something shortgen did not write is at the clip's or the sidecar's path


def stamp_of(output: Path) -> dict[str, Any] | None:
    """The ``batch`` stamp in ``output``'s sidecar, or None when there is no readable shortgen-batch sidecar."""
    try:
        data = read_sidecar(sidecar_path(output))
    except (OSError, ValueError):
        return None
    stamp = data.get("batch") if isinstance(data, dict) else None
    return stamp if isinstance(stamp, dict) and isinstance(stamp.get("job_key"), str) else None


def stored_key(output: Path) -> str | None:
    """The job key of a complete clip at ``output`` (clip and stamped sidecar present), else None."""
    stamp = stamp_of(output)
    if stamp is None or stamp.get("state") == RENDERING or not output.is_file():
        return None
    return stamp["job_key"]


def on_disk(job: PlannedJob) -> OnDisk:
    clip, sidecar = job.output, sidecar_path(job.output)
    if not os.path.lexists(clip) and not os.path.lexists(sidecar):
        return OnDisk.ABSENT
    if stamp_of(clip) is None or (os.path.lexists(clip) and not clip.is_file()):
        return OnDisk.FOREIGN
    return OnDisk.CURRENT if stored_key(clip) == job.key else OnDisk.OURS


def is_up_to_date(job: PlannedJob) -> bool:
    return stored_key(job.output) == job.key


def foreign_message(job: PlannedJob) -> str:
    clip, sidecar = job.output, sidecar_path(job.output)
    which = clip if os.path.lexists(clip) else sidecar
    return (f"{which} already exists and was not written by shortgen batch "
            "(pass --overwrite to replace it, or choose another output name)")


def write_claim(job: PlannedJob, source: str) -> Path:
    """Mark a new output as ours before rendering it (see the module docstring)."""
    path = sidecar_path(job.output)
    data = {"shortgen_sidecar": 1, "batch": {**_stamp(job, source), "state": RENDERING}}
    write_text_atomic(path, json.dumps(data, indent=2) + "\n")
    return path


def drop_claim(job: PlannedJob) -> None:
    """Remove the claim a worker killed mid-job left (no clip was renamed into place), unless a live process
    holds the job's lock."""
    from shortgen.batch.locks import output_lock, try_lock

    stamp = stamp_of(job.output)
    if stamp is None or stamp.get("state") != RENDERING or os.path.lexists(job.output):
        return
    with try_lock(output_lock(job.output), timeout=0) as free:
        if free:
            sidecar_path(job.output).unlink(missing_ok=True)


def stamp_sidecar(path: Path, job: PlannedJob, source: str) -> None:
    """Add the job's key (what resume compares) to the sidecar ``make_clip`` wrote."""
    data = read_sidecar(path)
    data["batch"] = _stamp(job, source)
    write_text_atomic(path, json.dumps(data, indent=2, default=str) + "\n")


def _stamp(job: PlannedJob, source: str) -> dict[str, Any]:
    return {"job_key": job.key, "job_index": job.index, "job_name": job.name, "job_file": source}


def plan_status(job: PlannedJob, force: bool, overwrite: bool = False) -> str:
    """What a run would do: ``render`` (new), ``redo`` (changed or forced), ``skip`` (up to date),
    ``replace`` (a file of the user's, with ``overwrite``) or ``blocked`` (a file of the user's, without)."""
    state = on_disk(job)
    if state is OnDisk.ABSENT:
        return "render"
    if state is OnDisk.FOREIGN:
        return "replace" if overwrite else "blocked"
    return "skip" if state is OnDisk.CURRENT and not force else "redo"
