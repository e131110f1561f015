"""Job keys: a hash of everything that decides a clip's content, stamped into its sidecar for resume."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import TYPE_CHECKING

from shortgen.config import MakeOptions, as_dict

if TYPE_CHECKING:
    from shortgen.pipeline import MakePlan

JOB_KEY_VERSION = 1
# Option fields that name input files: resolved against the job file's folder and hashed by content.
INPUT_FILE_FIELDS = ("image", "captions", "audio", "font", "music", "voice",
                     "sign_cert", "sign_key",  # publish
                     "extend")  # issue 12


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
