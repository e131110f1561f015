"""Building tiny random-weight pipelines (LTX-Video, LTX-2, text-to-audio): refuse to clobber a user's folder,
build beside the target and swap it in, so a failed build never leaves half a model behind; the marker file that
says a folder holds one; the prompt tokenizers they share."""

from __future__ import annotations

import json
import shutil
import string
import tempfile
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from shortgen.errors import UsageError

if TYPE_CHECKING:
    from transformers import T5Tokenizer

MARKER_FILE = "shortgen_tiny.json"
# What the tiny tokenizers spell prompts with, one token per character; anything else becomes <unk>.
PROMPT_CHARS = string.ascii_lowercase + string.ascii_uppercase + string.digits + string.punctuation


def check_target(folder: Path, overwrite: bool) -> None:
    """A non-empty ``folder`` that is not a tiny model already is refused unless ``overwrite``."""
    if folder.exists() and not folder.is_dir():
        raise UsageError(f"{folder} exists and is not a folder", "choose another path for the tiny model")
    if overwrite or not folder.exists() or is_tiny_model(folder) or not any(folder.iterdir()):
        return
    raise UsageError(f"{folder} is not empty and does not hold a tiny model",
                     "choose an empty folder or pass overwrite=True (--overwrite) to replace its contents")


def save_atomically(pipe: Any, folder: Path, marker: dict[str, Any], readme: str,
                    extra: Callable[[Path], None] | None = None) -> Path:
    """``pipe.save_pretrained`` into ``folder`` with the marker, a README and whatever ``extra`` writes into the
    folder being built; returns ``folder``."""
    from shortgen.backends.ltx.tiny import quiet_hf_libraries

    folder.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{folder.name}-", dir=folder.parent))
    staging.chmod(0o755)  # mkdtemp makes it private; a model folder is an ordinary folder
    try:
        with quiet_hf_libraries():
            pipe.save_pretrained(staging, safe_serialization=True)
        (staging / MARKER_FILE).write_text(json.dumps(marker, indent=2) + "\n", encoding="utf-8")
        (staging / "README.txt").write_text(readme, encoding="utf-8")
        if extra is not None:
            extra(staging)
        if folder.exists():
            shutil.rmtree(folder)
        staging.rename(folder)
    finally:
        if staging.exists():
            shutil.rmtree(staging)
    return folder


def is_tiny_model(folder: Path) -> bool:
    return (Path(folder) / MARKER_FILE).is_file()


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


def t5_vocab(words: Iterable[str] = ()) -> list[tuple[str, float]]:
    """T5 layout: <pad>=0, </s>=1, <unk>=2, then Unigram pieces with log-probability-like scores: ``words`` get
    one token each, anything else is spelled out from :data:`PROMPT_CHARS`, so any prompt tokenizes."""
    pieces: list[tuple[str, float]] = [("<pad>", 0.0), ("</s>", 0.0), ("<unk>", 0.0), ("▁", -2.0)]
    pieces += [(f"▁{word}", -6.0) for word in dict.fromkeys(words)]
    pieces += [(char, -10.0) for char in PROMPT_CHARS]
    return pieces


def t5_tokenizer(words: Iterable[str] = ()) -> T5Tokenizer:
    """A T5 tokenizer over :func:`t5_vocab` (``len(t5_vocab(words))`` is the text encoder's vocabulary size)."""
    from transformers import T5Tokenizer

    return T5Tokenizer(vocab=t5_vocab(words), extra_ids=0, model_max_length=128)


Builder = Callable[[Path, int, bool], Path]
