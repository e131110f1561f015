"""Batch jobs: many clips from one job file; resumable, shardable, safe to run twice at once.

The flow is :func:`load_job_file` → :func:`plan_batch` (validates every job; no torch) → :func:`run_batch`
with a runner (:class:`LocalRunner`, or ``shortgen.batch.ray.RayRunner`` across a Ray cluster) →
:class:`BatchReport`. Nothing here prints: progress and warnings go through a :class:`Progress`.

Where things are: ``jobfile`` (reading job files), ``plan`` (merging layers, output names, shards, model
groups), ``keys`` (job keys), ``resume`` (what is on disk), ``locks`` (per-output locks, stale temp files),
``render`` (one job in one process), ``runner`` (the runner interface and :func:`run_batch`), ``local`` and
``ray`` (the two runners), ``report`` (outcomes and the JSON summary).

Job files
---------
* YAML (``.yaml``/``.yml``): a mapping with ``jobs:`` (a list) and optional ``defaults:``. A job is what
  ``make`` takes (the keys of :class:`~shortgen.config.MakeOptions`) plus an optional ``name``; a plain
  string is short for ``{prompt: ...}``.
* JSON Lines (``.jsonl``/``.ndjson``): one job object per line. The *first* line may instead be
  ``{"defaults": {...}}``. Blank lines are ignored.
* Prompt lists (``.txt``, or ``-`` for stdin): one prompt per line; blank lines and ``#`` comments ignored.

Relative paths in a job file (``image``, ``captions``, ``audio``, ``font``, a ``preset`` .yaml) are relative
to the job file's folder; on stdin and in CLI flags, to the current directory.

Precedence: CLI flag > job > ``defaults:`` > preset > built-in default.

Outputs and resume
------------------
``output`` is a name template relative to the output folder, with the fields ``{index}`` (1-based position
in the file), ``{name}``, ``{slug}`` (from the first prompt), ``{seed}``, ``{date}`` (YYYY-MM-DD, when the
batch started) and ``{preset}``; the default is :data:`DEFAULT_OUTPUT_TEMPLATE`. Each job has a key: a hash
of its resolved parameters (options, the whole resolved preset, prompts, seed, duration and the *contents*
of its input files). The key is stamped into the clip's sidecar; a job whose clip and sidecar exist with the
same key is skipped, a job whose key changed is rendered again (replacing the old clip).

Concurrency
-----------
Each output has a lock file in ``.shortgen-locks/`` beside it (OS file locks, released by the kernel when a
process dies, so kill -9 leaves no stale lock). A job whose lock another process holds is reported ``busy``.
Temp files (``.NAME.partial-XXXXXXXX.mp4``) left by a killed process are deleted at the next start, but only
when no live process holds their output's lock.
"""

from __future__ import annotations

from shortgen.batch.jobfile import JobFile, JobSpec, load_job_file, parse_jsonl, parse_prompt_lines
from shortgen.batch.keys import job_key
from shortgen.batch.local import LocalRunner
from shortgen.batch.locks import clean_stale_partials, output_lock
from shortgen.batch.plan import DEFAULT_OUTPUT_TEMPLATE, BatchPlan, PlannedJob, Shard, group_by_model, plan_batch
from shortgen.batch.render import JobRenderer
from shortgen.batch.report import BatchReport, JobOutcome, write_error_report, write_report
from shortgen.batch.resume import is_up_to_date, plan_status
from shortgen.batch.runner import BatchRunner, run_batch
from shortgen.batch.settings import RunSettings

__all__ = [
    "DEFAULT_OUTPUT_TEMPLATE", "BatchPlan", "BatchReport", "BatchRunner", "JobFile",
    "JobOutcome", "JobRenderer", "JobSpec", "LocalRunner", "PlannedJob", "RunSettings", "Shard",
    "clean_stale_partials", "group_by_model", "is_up_to_date", "job_key", "load_job_file", "output_lock",
    "parse_jsonl", "parse_prompt_lines", "plan_batch", "plan_status", "run_batch", "write_error_report",
    "write_report",
]
