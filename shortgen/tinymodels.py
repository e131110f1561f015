"""Saving tiny random-weight pipelines (LTX-2, text-to-audio): refuse to clobber a user's folder, build beside
the target and swap it in, so a failed build never leaves half a model behind."""

from __future__ import annotations

import json
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from shortgen.errors import UsageError

MARKER_FILE = "shortgen_tiny.json"  # the same marker file the tiny LTX-Video builder writes


def check_target(folder: Path, overwrite: bool) -> None:
    """A non-empty ``folder`` that is not a tiny model already is refused unless ``overwrite``."""
    if folder.exists() and not folder.is_dir():
        raise UsageError(f"{folder} exists and is not a folder", "choose another path for the tiny model")
    if overwrite or not folder.exists() or (folder / MARKER_FILE).is_file() or not any(folder.iterdir()):
        return
    raise UsageError(f"{folder} is not empty and does not hold a tiny model",
                     "choose an empty folder or pass overwrite=True (--overwrite) to replace its contents")


def save_atomically(pipe: Any, folder: Path, marker: dict[str, Any], readme: str) -> Path:
    """``pipe.save_pretrained`` into ``folder`` with the marker and a README; returns ``folder``."""
    from shortgen.backends.ltx import quiet_hf_libraries

    folder.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{folder.name}-", dir=folder.parent))
    staging.chmod(0o755)  # mkdtemp makes it private; a model folder is an ordinary folder
    try:
        with quiet_hf_libraries():
            pipe.save_pretrained(staging, safe_serialization=True)
        (staging / MARKER_FILE).write_text(json.dumps(marker, indent=2) + "\n", encoding="utf-8")
        (staging / "README.txt").write_text(readme, encoding="utf-8")
        if folder.exists():
            shutil.rmtree(folder)
        staging.rename(folder)
    finally:
        if staging.exists():
            shutil.rmtree(staging)
    return folder


def read_marker(folder: Path) -> dict[str, Any] | None:
    path = Path(folder) / MARKER_FILE
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def marker(kind: str, seed: int, note: str, **extra: Any) -> dict[str, Any]:
    import diffusers

    return {"kind": kind, "seed": seed, "random_weights": True, "note": note, "diffusers": diffusers.__version__,
            **extra}


Builder = Callable[[Path, int, bool], Path]
