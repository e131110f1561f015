"""Planning: every job's layers merged, paths resolved, output named, key computed; shards; model groups.

No torch here: a plan is what ``--dry-run`` prints and what every runner executes.
"""

from __future__ import annotations

import os
import re
import string
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import date
from functools import partial
from pathlib import Path
from typing import Any

from msgspec import ValidationError

from shortgen.batch.jobfile import JobFile, JobSpec, _prompt_slug, gather, job_label, raise_first, slugify
from shortgen.batch.keys import INPUT_FILE_FIELDS, job_key
from shortgen.config import MakeOptions, describe_validation_error, layered_options
from shortgen.config import replace as replace_fields
from shortgen.errors import ConfigError, ShortgenError, UsageError
from shortgen.pipeline import MakePlan, plan_for_stages

DEFAULT_OUTPUT_TEMPLATE = "{index:03d}-{name}.mp4"  # name: the job's name, else the slug
NAME_FIELDS = ("index", "name", "slug", "seed", "date", "preset")


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


def plan_job(spec: JobSpec, job_file: JobFile, defaults: MakeOptions, cli: MakeOptions | None, out_dir: Path,
             allow_outside: bool, today: date) -> PlannedJob:
    job = _absolute_inputs(spec.options, job_file.base_dir)
    label = job_label(spec.index, spec.name or _prompt_slug(job.prompt))
    where = f"{job_file.source}: {label}"
    try:
        merged = layered_options(defaults, job, cli)
        plan = plan_for_stages(merged)
        check_local_model(plan.preset.generation.model)
        if merged.sign:  # publish: a bad certificate or key fails the plan, before any model loads
            from shortgen.publish.finish import publish_settings

            publish_settings(merged)
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
    _check_name_length(full, where)
    return full


# Room for what shortgen writes beside a clip: ``.NAME.shortgen-lock`` and ``.NAME.partial-XXXXXXXX.mp4``.
SIDE_FILE_EXTRA = len(".") + len(".partial-12345678") + len(".shortgen-lock")
NAME_MAX = 255  # bytes in one file name on Linux, macOS and Windows file systems


def _check_name_length(path: Path, where: str) -> None:
    for part in path.parts:
        size = len(part.encode("utf-8"))
        if size + SIDE_FILE_EXTRA > NAME_MAX:
            raise ConfigError(f"{where}: output name '{part[:24]}...' is {size} bytes; file names may have at most "
                              f"{NAME_MAX - SIDE_FILE_EXTRA}", "use a shorter name or output template")


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
        if value and "-----BEGIN" in value:  # publish: PEM text given in place of a certificate or key path
            continue
        if value and not Path(value).expanduser().is_absolute() and not (name == "audio" and value == "none"):
            candidate = base / Path(value).expanduser()
            if name != "font" or candidate.is_file():
                update[name] = str(candidate)
    preset = options.preset
    if preset and preset.endswith((".yaml", ".yml")) and not Path(preset).expanduser().is_absolute():
        update["preset"] = str(base / Path(preset).expanduser())
    if options.model and (model := local_model_path(options.model, base)) is not None:
        update["model"] = model
    return replace_fields(options, **update) if update else options


def looks_local(model: str) -> bool:
    """A model reference that can only be a local path (not a Hub id ``org/name``, a Hub file
    ``org/name/file.safetensors`` or a URL); the same reading as the LTX backend's, without importing it."""
    text = model.strip()
    if text.startswith(("http://", "https://")):
        return False
    if text.startswith(("/", "./", "../", "~", ".\\")) or "\\" in text or (len(text) > 1 and text[1] == ":"):
        return True
    return text.endswith(".safetensors") and text.count("/") < 2


def local_model_path(model: str, base: Path) -> str | None:
    """``model`` made absolute against ``base`` when it is a relative local path: one that exists under ``base``,
    or that can only be a path. None for Hub ids, URLs and absolute paths."""
    text = model.strip()
    if text.startswith(("http://", "https://")):
        return None
    path = Path(text).expanduser()
    if path.is_absolute():
        return None
    candidate = base / path
    return str(candidate) if candidate.exists() or looks_local(text) else None


def check_local_model(model: str) -> None:
    """A local model path that does not exist fails at planning time (``--dry-run`` too), not at load time."""
    path = Path(model.strip()).expanduser()
    if (path.is_absolute() or looks_local(model)) and not path.exists():
        raise UsageError(f"model path {model} does not exist", "check the path, or give a Hub id such as org/name")


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


def group_by_model(jobs: Iterable[PlannedJob]) -> list[list[PlannedJob]]:
    """Jobs grouped by the model they need, groups in order of first appearance, jobs in file order."""
    groups: dict[tuple[Any, ...], list[PlannedJob]] = {}
    for job in jobs:
        groups.setdefault(job.model_group, []).append(job)
    return list(groups.values())
