"""Batch jobs: many clips from one job file; resumable, shardable, safe to run twice at once.

The flow is :func:`load_job_file` → :func:`plan_batch` (validates every job; no torch) → :func:`run_batch`
→ :class:`BatchReport`. Nothing here prints: progress and warnings go through a :class:`Progress`.

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

import contextlib
import difflib
import gc
import hashlib
import json
import os
import re
import string
import sys
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timezone
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO, TypeVar

import filelock
from msgspec import ValidationError

from shortgen import pipeline
from shortgen.atomic import PARTIAL_MARK, write_text_atomic
from shortgen.config import (
    MakeOptions,
    as_dict,
    describe_validation_error,
    field_names,
    layered_options,
    validate_model,
)
from shortgen.config import replace as replace_fields
from shortgen.errors import ConfigError, ShortgenError, UsageError
from shortgen.metadata import read_sidecar, sidecar_path
from shortgen.paths import check_input_file, read_text_file
from shortgen.pipeline import MakePlan, default_output, plan_for_stages
from shortgen.presets import read_yaml
from shortgen.progress import Progress

if TYPE_CHECKING:
    from shortgen.backends import GeneratorBackend
    from shortgen.config import Preset

JOB_KEY_VERSION = 1
DEFAULT_OUTPUT_TEMPLATE = "{index:03d}-{name}.mp4"  # name: the job's name, else the slug
NAME_FIELDS = ("index", "name", "slug", "seed", "date", "preset")
# Option fields that name input files: resolved against the job file's folder and hashed by content.
INPUT_FILE_FIELDS = ("image", "captions", "audio", "font", "extend")  # extend: issue 12
LOCK_DIR = ".shortgen-locks"
# A job waits this long for its lock: long enough to ride out another process's brief stale-file sweep.
LOCK_WAIT_SECONDS = 2.0
JSONL_SUFFIXES = (".jsonl", ".ndjson")
PROMPT_LIST_SUFFIXES = (".txt",)
PARTIAL_NAME = re.compile(rf"^\.(?P<stem>.+){re.escape(PARTIAL_MARK)}[0-9a-f]{{8}}\.[A-Za-z0-9]+$")

T = TypeVar("T")
Loader = Callable[["Preset", MakeOptions, Progress], "GeneratorBackend"]


# ------------------------------------------------------------------------------------------- job files


@dataclass(frozen=True)
class JobSpec:
    """One job as written in the file (its own keys only), before defaults and flags are layered on."""

    index: int  # 1-based position in the file
    name: str | None
    options: MakeOptions


@dataclass(frozen=True)
class JobFile:
    source: str  # the path as given, or "<stdin>"
    base_dir: Path  # relative input paths in the file resolve against this folder
    defaults: MakeOptions
    jobs: tuple[JobSpec, ...]


def load_job_file(ref: str | Path, *, stdin: TextIO | None = None) -> JobFile:
    """Read and validate a job file (``-`` reads prompt lines from ``stdin``). Raises :class:`ConfigError`."""
    if str(ref) == "-":
        return parse_prompt_lines((stdin or sys.stdin).read(), "<stdin>", Path.cwd())
    path = Path(ref)
    check_input_file(path, "job file")
    base = path.resolve().parent
    suffix = path.suffix.lower()
    if suffix in JSONL_SUFFIXES:
        return parse_jsonl(_read_text(path), str(path), base)
    if suffix in PROMPT_LIST_SUFFIXES:
        return parse_prompt_lines(_read_text(path), str(path), base)
    return parse_job_mapping(read_yaml(path), str(path), base)


def _read_text(path: Path) -> str:
    return read_text_file(path, "job file")


def parse_job_mapping(data: Any, source: str, base_dir: Path) -> JobFile:
    """A YAML document (already ``safe_load``-ed): ``{defaults: {...}, jobs: [...]}``."""
    if not isinstance(data, Mapping):
        raise ConfigError(f"{source}: expected a mapping with 'jobs:' (and optionally 'defaults:') at the top level")
    unknown = sorted(set(data) - {"defaults", "jobs"}, key=str)
    if unknown:
        raise ConfigError(f"{source}: unknown top-level key '{unknown[0]}'; allowed: defaults, jobs")
    entries = data.get("jobs")
    if not isinstance(entries, list) or not entries:
        raise ConfigError(f"{source}: 'jobs' must be a non-empty list of jobs")
    defaults = parse_defaults(data.get("defaults"), f"{source}: defaults")
    jobs = gather(partial(parse_job, entry, i, source) for i, entry in enumerate(entries, start=1))
    return JobFile(source, base_dir, defaults, tuple(jobs))


def parse_jsonl(text: str, source: str, base_dir: Path) -> JobFile:
    """One JSON object per line; the first line may be ``{"defaults": {...}}``."""
    raw_defaults: Any = None
    entries: list[tuple[int, Any]] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            value = json.loads(line)
        except json.JSONDecodeError as err:
            raise ConfigError(f"{source} line {number}: invalid JSON ({err.msg})") from None
        if not entries and raw_defaults is None and isinstance(value, dict) and set(value) == {"defaults"}:
            raw_defaults = value["defaults"]
            continue
        entries.append((number, value))
    if not entries:
        raise ConfigError(f"{source}: no jobs", "write one JSON object per line")
    defaults = parse_defaults(raw_defaults, f"{source}: defaults")
    jobs = gather(partial(parse_job, entry, i, f"{source} line {number}")
                  for i, (number, entry) in enumerate(entries, start=1))
    return JobFile(source, base_dir, defaults, tuple(jobs))


def parse_prompt_lines(text: str, source: str, base_dir: Path) -> JobFile:
    """One prompt per line; blank lines and ``#`` comments are ignored."""
    prompts = [line.strip() for line in text.splitlines()]
    prompts = [p for p in prompts if p and not p.startswith("#")]
    if not prompts:
        raise ConfigError(f"{source}: no prompts", "give one prompt per line")
    jobs = tuple(JobSpec(i, None, MakeOptions(prompt=p)) for i, p in enumerate(prompts, start=1))
    return JobFile(source, base_dir, MakeOptions(), jobs)


def parse_defaults(data: Any, where: str) -> MakeOptions:
    if data is None:
        return MakeOptions()
    return validate_options(data, where, allowed=set(field_names(MakeOptions)))


def parse_job(entry: Any, index: int, source: str) -> JobSpec:
    if isinstance(entry, str):
        entry = {"prompt": entry}
    if not isinstance(entry, Mapping):
        raise ConfigError(f"{source}: job {index}: expected a mapping of keys to values or a prompt string, "
                          f"got {type(entry).__name__}")
    raw = dict(entry)
    name = raw.pop("name", None)
    if name is not None and not isinstance(name, (str, int)):
        raise ConfigError(f"{source}: job {index}: 'name' must be text, got {type(name).__name__}")
    name = str(name) if name is not None else None
    where = f"{source}: {job_label(index, name or _prompt_slug(raw.get('prompt')))}"
    options = validate_options(raw, where, allowed={*field_names(MakeOptions), "name"})
    return JobSpec(index, name, options)


def validate_options(data: Any, where: str, *, allowed: set[str]) -> MakeOptions:
    """Validate one layer of options; an unknown key is named with a suggestion and the allowed keys."""
    if isinstance(data, Mapping):
        unknown = sorted(str(k) for k in data if k not in allowed)
        if unknown:
            raise ConfigError(f"{where}: unknown key '{unknown[0]}'{_suggestion(unknown[0], allowed)}; "
                              f"allowed: {', '.join(sorted(allowed))}")
    return validate_model(MakeOptions, data, where)


def _suggestion(key: str, allowed: Iterable[str]) -> str:
    close = difflib.get_close_matches(key, list(allowed), n=1)
    return f" (did you mean '{close[0]}'?)" if close else ""


def job_label(index: int, name: str | None) -> str:
    return f"job {index} ({name})" if name else f"job {index}"


def _prompt_slug(prompt: Any) -> str | None:
    first = prompt[0] if isinstance(prompt, list) and prompt else prompt
    if not isinstance(first, str) or not first.strip():
        return None
    return slugify(first)


def slugify(text: str) -> str:
    return default_output([text]).stem


# -------------------------------------------------------------------------------------------- planning


@dataclass(frozen=True)
class PlannedJob:
    """A job with every layer merged, its paths resolved, its output named and its key computed."""

    index: int
    name: str
    options: MakeOptions  # fully resolved; ``output`` is the absolute output path
    plan: MakePlan
    key: str

    @property
    def output(self) -> Path:
        return self.plan.output

    @property
    def label(self) -> str:
        return job_label(self.index, self.name)

    @property
    def model_group(self) -> tuple[Any, ...]:
        """Jobs with equal groups share one loaded model."""
        gen = self.plan.preset.generation
        upsampler = (self.options.upsampler or "auto") if self.options.upscale == "latent" else None  # issue 12
        return (gen.backend, gen.model, self.options.revision, gen.device, gen.dtype, gen.low_memory, gen.compile,
                gen.attention_backend, gen.fp8, gen.vae_tiling, upsampler)

    def to_dict(self) -> dict[str, Any]:
        plan = self.plan.to_dict()
        return {"index": self.index, "name": self.name, "key": self.key, "output": str(self.output),
                **{k: plan[k] for k in ("prompts", "preset", "duration", "fps", "frames", "seed", "model",
                                        "backend", "generation_size", "output_size", "steps")},
                "segments": len(plan["segments"])}


@dataclass(frozen=True)
class BatchPlan:
    source: str
    out_dir: Path
    jobs: tuple[PlannedJob, ...]

    def selected(self, shard: Shard | None) -> list[PlannedJob]:
        return [job for job in self.jobs if shard is None or shard.contains(job.index)]


def plan_batch(job_file: JobFile, *, out_dir: Path, cli: MakeOptions | None = None, allow_outside: bool = False,
               today: date | None = None) -> BatchPlan:
    """Merge, validate and plan every job (not only one shard's); raises :class:`ConfigError` naming the job."""
    out_dir = Path(os.path.abspath(out_dir))
    today = today or date.today()
    cli = _absolute_inputs(cli, Path.cwd()) if cli else None
    defaults = _absolute_inputs(job_file.defaults, job_file.base_dir)
    planned = gather(partial(plan_job, spec, job_file, defaults, cli, out_dir, allow_outside, today)
                     for spec in job_file.jobs)
    raise_first(_duplicate_outputs(planned, job_file.source))
    return BatchPlan(job_file.source, out_dir, tuple(planned))


def gather(calls: Iterable[Callable[[], T]]) -> list[T]:
    """Run every call, so one error line can say how many other jobs are wrong too."""
    results: list[T] = []
    errors: list[str] = []
    for call in calls:
        try:
            results.append(call())
        except ShortgenError as err:
            errors.append(str(err))
    raise_first(errors)
    return results


def raise_first(errors: list[str]) -> None:
    if errors:
        more = f" (and {len(errors) - 1} more problem(s); fix this one and check with --dry-run)" if errors[1:] else ""
        raise ConfigError(errors[0] + more)


def plan_job(spec: JobSpec, job_file: JobFile, defaults: MakeOptions, cli: MakeOptions | None, out_dir: Path,
             allow_outside: bool, today: date) -> PlannedJob:
    job = _absolute_inputs(spec.options, job_file.base_dir)
    label = job_label(spec.index, spec.name or _prompt_slug(job.prompt))
    where = f"{job_file.source}: {label}"
    try:
        merged = layered_options(defaults, job, cli)
        plan = plan_for_stages(merged)
    except ValidationError as err:
        raise ConfigError(describe_validation_error(err, where, MakeOptions, None)) from None
    except ShortgenError as err:
        raise ConfigError(f"{where}: {err}") from None
    slug = slugify(plan.prompts[0])
    fields = {"index": spec.index, "name": spec.name or slug, "slug": slug, "seed": plan.seed,
              "date": today.isoformat(), "preset": plan.preset.name}
    relative = render_output_name(merged.output or DEFAULT_OUTPUT_TEMPLATE, fields, where)
    output = resolve_output(relative, out_dir, allow_outside, where)
    options = replace_fields(merged, output=str(output))
    plan = replace(plan, options=options, output=output)
    return PlannedJob(spec.index, spec.name or slug, options, plan, job_key(options, plan))


def render_output_name(template: str, fields: Mapping[str, Any], where: str) -> str:
    """Fill ``{index}``, ``{slug}``... into ``template``; only the documented fields, no attribute access."""
    try:
        names = [name for _, name, _, _ in string.Formatter().parse(template) if name is not None]
    except ValueError as err:
        raise ConfigError(f"{where}: output {template!r}: {err}") from None
    for name in names:
        if name not in NAME_FIELDS:
            raise ConfigError(f"{where}: output {template!r} uses '{{{name}}}'; "
                              f"allowed fields: {', '.join('{' + f + '}' for f in NAME_FIELDS)}")
    try:
        text = template.format(**fields)
    except (ValueError, TypeError) as err:
        raise ConfigError(f"{where}: output {template!r}: {err}") from None
    suffix = Path(text).suffix.lower()
    if not suffix:
        return text + ".mp4"
    if suffix != ".mp4":
        raise ConfigError(f"{where}: output {text!r} must end in .mp4")
    return text


def resolve_output(relative: str, out_dir: Path, allow_outside: bool, where: str) -> Path:
    """The absolute output path; outside ``out_dir`` only with ``allow_outside``."""
    path = Path(relative)
    full = Path(os.path.abspath(out_dir / path))
    escapes = path.is_absolute() or ".." in path.parts or not _is_inside(full, out_dir)
    if escapes and not allow_outside:
        raise ConfigError(f"{where}: output '{relative}' is outside the output folder {out_dir}",
                          "use a relative name without '..', or pass --allow-outside")
    if not full.name or full.name.startswith("."):
        raise ConfigError(f"{where}: output '{relative}' needs a file name that does not start with '.'")
    return full


def _is_inside(path: Path, folder: Path) -> bool:
    # resolve() follows symlinks, so a linked subfolder pointing elsewhere counts as outside.
    try:
        path.resolve().relative_to(folder.resolve())
    except ValueError:
        return False
    return True


def _duplicate_outputs(jobs: Iterable[PlannedJob], source: str) -> list[str]:
    seen: dict[Path, PlannedJob] = {}
    errors = []
    for job in jobs:
        if job.output in seen:
            errors.append(f"{source}: {job.label} writes {job.output}, like {seen[job.output].label}; "
                          "give each job its own output name (e.g. with {index} or {seed})")
        seen.setdefault(job.output, job)
    return errors


def _absolute_inputs(options: MakeOptions, base: Path) -> MakeOptions:
    """Input paths made absolute against ``base`` (a font name that is not a file stays a name)."""
    update: dict[str, str] = {}
    for name in INPUT_FILE_FIELDS:
        value = getattr(options, name)
        if value and not Path(value).expanduser().is_absolute():
            candidate = base / Path(value).expanduser()
            if name != "font" or candidate.is_file():
                update[name] = str(candidate)
    preset = options.preset
    if preset and preset.endswith((".yaml", ".yml")) and not Path(preset).expanduser().is_absolute():
        update["preset"] = str(base / Path(preset).expanduser())
    return replace_fields(options, **update) if update else options


def job_key(options: MakeOptions, plan: MakePlan) -> str:
    """Hash of everything that decides the clip's content (not where it is written, nor the preset's name)."""
    payload = {
        "version": JOB_KEY_VERSION,
        "options": as_dict(options, exclude_none=True, exclude={"output", "preset", "prompt", *INPUT_FILE_FIELDS}),
        "preset": as_dict(plan.preset, exclude={"name", "description"}),
        "prompts": plan.prompts,
        "duration": plan.duration,
        "seed": plan.seed,
        "inputs": {name: file_digest(getattr(options, name)) for name in INPUT_FILE_FIELDS
                   if getattr(options, name)},
    }
    return hashlib.sha256(json.dumps(payload, sort_keys=True, separators=(",", ":")).encode()).hexdigest()[:16]


def file_digest(value: str) -> str:
    """``sha256:...`` of a file's contents; a missing file (or a font name) is keyed by the text itself."""
    path = Path(value)
    digest = hashlib.sha256()
    try:
        with path.open("rb") as handle:
            for chunk in iter(lambda: handle.read(1 << 20), b""):
                digest.update(chunk)
    except OSError:
        return f"absent:{value}"
    return f"sha256:{digest.hexdigest()}"


# --------------------------------------------------------------------------------------------- shards


@dataclass(frozen=True)
class Shard:
    """Part ``index`` of ``count``: jobs ``index, index + count, ...`` by position in the file.

    Round-robin by position keeps shards balanced, and appending jobs never moves existing ones.
    """

    index: int
    count: int

    @classmethod
    def parse(cls, text: str) -> Shard:
        match = re.fullmatch(r"\s*(\d+)\s*/\s*(\d+)\s*", text)
        if not match or not 1 <= int(match[1]) <= int(match[2]):
            raise UsageError(f"--shard {text!r} is not I/N with 1 <= I <= N", "e.g. --shard 2/4")
        return cls(int(match[1]), int(match[2]))

    def contains(self, job_index: int) -> bool:
        return (job_index - 1) % self.count == self.index - 1

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"


# --------------------------------------------------------------------------------- locks and resume


def output_lock(output: Path) -> filelock.BaseFileLock:
    """The lock guarding ``output`` and its sidecar; kept in a hidden folder beside them."""
    return stem_lock(output.parent, output.stem)


def stem_lock(folder: Path, stem: str) -> filelock.BaseFileLock:
    locks = folder / LOCK_DIR
    locks.mkdir(parents=True, exist_ok=True)
    return filelock.FileLock(str(locks / f"{stem}.lock"), is_singleton=False)


@contextlib.contextmanager
def try_lock(lock: filelock.BaseFileLock, timeout: float) -> Iterator[bool]:
    """Yield whether the lock was acquired within ``timeout`` seconds; release it afterwards."""
    try:
        lock.acquire(timeout=timeout)
    except filelock.Timeout:
        yield False
        return
    try:
        yield True
    finally:
        lock.release()


def clean_stale_partials(folders: Iterable[Path]) -> list[Path]:
    """Delete temp files a killed process left in ``folders``, unless a live process holds their lock."""
    removed: list[Path] = []
    for folder in sorted(set(folders)):
        if not folder.is_dir():
            continue
        for entry in sorted(folder.iterdir()):
            match = PARTIAL_NAME.match(entry.name)
            if not match or not entry.is_file():
                continue
            with try_lock(stem_lock(folder, match["stem"]), timeout=0) as free:
                if free:
                    entry.unlink(missing_ok=True)
                    removed.append(entry)
    return removed


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


# ------------------------------------------------------------------------------------------------ run

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

    def to_dict(self) -> dict[str, Any]:
        result = self.result or {}
        return {"index": self.index, "name": self.name, "key": self.key, "status": self.status,
                "output": str(self.output), "sidecar": result.get("sidecar"), "error": self.error,
                "seconds": round(self.seconds, 3), "timings": result.get("timings"),
                "duration": result.get("duration"), "frames": result.get("frames"),
                "size_bytes": result.get("size_bytes")}


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

    def count(self, status: str) -> int:
        return sum(1 for job in self.jobs if job.status == status)

    @property
    def ok(self) -> bool:
        return self.error is None and not any(job.status in (FAILED, CANCELLED) for job in self.jobs)

    @property
    def exit_code(self) -> int:
        return 0 if self.ok else 1

    def to_dict(self) -> dict[str, Any]:
        counts = {"total": len(self.jobs), **{status: self.count(status) for status in STATUSES}}
        return {"source": self.source, "out_dir": str(self.out_dir),
                "shard": str(self.shard) if self.shard else None, "started": self.started,
                "seconds": round(self.seconds, 3), "models_loaded": self.models_loaded, "ok": self.ok,
                "error": self.error, "counts": counts,
                "jobs": [job.to_dict() for job in sorted(self.jobs, key=lambda j: j.index)]}


def default_loader(preset: Preset, options: MakeOptions, progress: Progress) -> GeneratorBackend:
    # Looked up at call time so tests (and callers) can patch shortgen.pipeline.load_generator.
    return pipeline.load_generator(preset, options, progress)


def run_batch(plan: BatchPlan, *, shard: Shard | None = None, force: bool = False, fail_fast: bool = False,
              progress: Progress | None = None, loader: Loader = default_loader) -> BatchReport:
    """Render this shard's jobs; failures are recorded, not raised. Each model is loaded once."""
    started = time.perf_counter()
    report = BatchReport(plan.source, plan.out_dir, shard, _now())
    jobs = plan.selected(shard)
    plan.out_dir.mkdir(parents=True, exist_ok=True)
    clean_stale_partials([plan.out_dir, *(job.output.parent for job in plan.jobs)])
    runner = _Runner(plan.source, progress or Progress(), force, fail_fast, loader, total=len(jobs))
    try:
        report.jobs = runner.run(jobs)
    finally:
        report.models_loaded = runner.models_loaded
        report.seconds = time.perf_counter() - started
    return report


def group_by_model(jobs: Iterable[PlannedJob]) -> list[list[PlannedJob]]:
    """Jobs grouped by the model they need, groups in order of first appearance, jobs in file order."""
    groups: dict[tuple[Any, ...], list[PlannedJob]] = {}
    for job in jobs:
        groups.setdefault(job.model_group, []).append(job)
    return list(groups.values())


class _Runner:
    """One batch run's state: the loaded model, timings for the ETA, and whether to stop."""

    def __init__(self, source: str, progress: Progress, force: bool, fail_fast: bool, loader: Loader,
                 total: int) -> None:
        self.source = source
        self.progress = progress
        self.force = force
        self.fail_fast = fail_fast
        self.loader = loader
        self.total = total
        self.models_loaded = 0
        self.finished = 0
        self.render_seconds: list[float] = []  # per rendered job, model loading left out (for the ETA)
        self._load_seconds = 0.0
        self.stop = False
        self._group: tuple[Any, ...] | None = None
        self._backend: GeneratorBackend | None = None
        self._load_error: str | None = None

    def run(self, jobs: list[PlannedJob]) -> list[JobOutcome]:
        self.progress.start("batch", f"Batch: {self.total} job(s)", self.total)
        outcomes = [self._outcome(job, SKIPPED) for job in jobs if not self.force and is_up_to_date(job)]
        for _ in outcomes:
            self._advance()
        pending = [job for job in jobs if job.index not in {o.index for o in outcomes}]
        try:
            for group in group_by_model(pending):
                for job in group:
                    outcomes.append(self._outcome(job, CANCELLED) if self.stop else self._run_job(job))
                    self._advance()
                self._release_model()
        finally:
            self._release_model()
            self.progress.finish("batch")
        return sorted(outcomes, key=lambda o: o.index)

    def _advance(self) -> None:
        self.finished += 1
        self.progress.advance("batch")

    def _outcome(self, job: PlannedJob, status: str, **extra: Any) -> JobOutcome:
        return JobOutcome(job.index, job.name, job.key, job.output, status, **extra)

    def _run_job(self, job: PlannedJob) -> JobOutcome:
        task = f"job{job.index}"
        self.progress.start(task, self._job_description(job), None)
        started, loading_before = time.perf_counter(), self._load_seconds
        try:
            with try_lock(output_lock(job.output), LOCK_WAIT_SECONDS) as locked:
                if not locked:
                    return self._outcome(job, BUSY, error="another shortgen process is writing this output")
                if not self.force and is_up_to_date(job):  # another process finished it meanwhile
                    return self._outcome(job, SKIPPED)
                result = self._render(job)
            seconds = time.perf_counter() - started
            self.render_seconds.append(seconds - (self._load_seconds - loading_before))
            return self._outcome(job, DONE, seconds=seconds, result=result)
        except Exception as err:  # a failing job is recorded and the batch goes on
            self.stop = self.stop or self.fail_fast
            message = f"{job.label}: {describe_failure(err)}"
            self.progress.warn(message)
            return self._outcome(job, FAILED, error=describe_failure(err), seconds=time.perf_counter() - started)
        finally:
            self.progress.finish(task)

    def _render(self, job: PlannedJob) -> dict[str, Any]:
        backend = self._backend_for(job)
        job.output.parent.mkdir(parents=True, exist_ok=True)
        result = pipeline.make_clip(job.options, overwrite=True, progress=self.progress, backend=backend,
                                    write_sidecar=True)
        if result.sidecar is not None:
            stamp_sidecar(result.sidecar, job, self.source)
        return result.to_dict()

    def _backend_for(self, job: PlannedJob) -> GeneratorBackend:
        if job.model_group != self._group:
            self._release_model()
            self._group = job.model_group
        if self._load_error is not None:
            raise ShortgenError(f"the model did not load: {self._load_error}")
        if self._backend is None:
            started = time.perf_counter()
            try:
                self._backend = self.loader(job.plan.preset, job.options, self.progress)
            except Exception as err:
                self._load_error = describe_failure(err)  # not retried for the rest of this model's jobs
                raise
            finally:
                self._load_seconds += time.perf_counter() - started
            self.models_loaded += 1
        return self._backend

    def _release_model(self) -> None:
        if self._backend is not None:
            self._backend = None
            gc.collect()  # let the weights go before the next model loads
        self._group, self._load_error = None, None

    def _job_description(self, job: PlannedJob) -> str:
        text = f"[{self.finished + 1}/{self.total}] {job.label}"
        if self.render_seconds:
            average = sum(self.render_seconds) / len(self.render_seconds)
            text += f" (batch ETA {format_seconds(average * (self.total - self.finished))})"
        return text


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
    write_report(BatchReport(source, Path(os.path.abspath(out_dir)), shard, _now(), error=error), path)


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


__all__ = [
    "DEFAULT_OUTPUT_TEMPLATE", "BatchPlan", "BatchReport", "JobFile", "JobOutcome", "JobSpec", "PlannedJob",
    "Shard", "clean_stale_partials", "group_by_model", "is_up_to_date", "job_key", "load_job_file",
    "output_lock", "plan_batch", "plan_status", "run_batch", "write_error_report", "write_report",
]
