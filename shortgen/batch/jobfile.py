"""Job files: YAML, JSON Lines and prompt lists → validated :class:`JobFile` (one layer of options per job)."""

from __future__ import annotations

import difflib
import json
import sys
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any, TextIO, TypeVar

from shortgen.config import MakeOptions, field_names, validate_model
from shortgen.errors import ConfigError, ShortgenError
from shortgen.paths import check_input_file, read_text_file
from shortgen.pipeline import default_output
from shortgen.presets import read_yaml

JSONL_SUFFIXES = (".jsonl", ".ndjson")
PROMPT_LIST_SUFFIXES = (".txt",)

T = TypeVar("T")


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
