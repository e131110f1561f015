"""Where LTX weights come from: a local diffusers folder, a single ``.safetensors`` file (local, a Hub file or a
Hub URL) or a Hub id, and the offline checks and one-line Hub errors around them.

Shared by every loader that reads diffusers models from the Hub (the latent upsampler here; other backends may
import these too): see :func:`resolve_source`, :func:`_require_cached`, :func:`_hub_error`.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from huggingface_hub import constants as hf_constants
from huggingface_hub import hf_hub_download, try_to_load_from_cache
from huggingface_hub.errors import (
    GatedRepoError,
    LocalEntryNotFoundError,
    RemoteEntryNotFoundError,
    RepositoryNotFoundError,
    RevisionNotFoundError,
)

from shortgen.backends import get_backend_info
from shortgen.errors import ModelError, UsageError

LTX_PIPELINE_CLASSES = frozenset({"LTXConditionPipeline", "LTXPipeline", "LTXImageToVideoPipeline"})
_HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.-]+$")
_HUB_URL = re.compile(r"^https?://huggingface\.co/([^/]+/[^/]+)/(?:blob|resolve)/([^/]+)/(.+)$")


@dataclass(frozen=True)
class ModelSource:
    """Where the weights come from, resolved from ``LoadOptions.model``."""

    kind: Literal["folder", "single_file", "hub"]
    ref: str  # a local path or a Hub id
    hub_file: tuple[str, str, str | None] | None = None  # (repo id, filename, revision) of a file on the Hub


def resolve_source(model: str) -> ModelSource:
    """Decide whether ``model`` is a local folder, a single file (local or on the Hub) or a Hub id."""
    text = model.strip()
    if not text:
        raise UsageError("no model given", f"pass a Hub id such as {get_backend_info('ltx').default_model}")
    url = _HUB_URL.match(text)
    if url:
        return _hub_file_source(url[1], url[3], url[2])
    if text.startswith(("http://", "https://")):
        raise UsageError(f"unsupported model URL {text}", "use https://huggingface.co/<org>/<name>/blob/<rev>/<file>")
    path = Path(text).expanduser()
    if path.is_dir():
        _check_pipeline_folder(path)
        return ModelSource("folder", str(path.resolve()))
    if path.is_file():
        _check_checkpoint_suffix(path)
        return ModelSource("single_file", str(path.resolve()))
    is_hub_file = text.endswith(".safetensors") and text.count("/") >= 2 and not _looks_local(text)
    if is_hub_file:
        owner, name, filename = text.split("/", 2)
        return _hub_file_source(f"{owner}/{name}", filename, None)
    if _looks_local(text) or text.endswith(".safetensors") or not _HUB_ID.match(text):
        raise UsageError(f"model path {text} does not exist", "check the path, or pass a Hub id such as org/name")
    return ModelSource("hub", text)


def _download_hub_file(source: ModelSource, revision: str | None) -> Path:
    assert source.hub_file is not None
    repo_id, filename, url_revision = source.hub_file
    rev = revision or url_revision
    try:
        return Path(hf_hub_download(repo_id, filename, revision=rev, local_files_only=_offline()))
    except RemoteEntryNotFoundError:
        raise ModelError(f"{filename} is not in the Hub repo {repo_id}", "check the file name") from None
    except OSError as err:
        raise _hub_error(err, repo_id, rev, "", filename) from None


def _hub_file_source(repo_id: str, filename: str, revision: str | None) -> ModelSource:
    _check_checkpoint_suffix(Path(filename))
    return ModelSource("single_file", f"{repo_id}/{filename}", hub_file=(repo_id, filename, revision))


def _check_pipeline_folder(path: Path) -> None:
    index = path / "model_index.json"
    if not index.is_file():
        hint = ("for a single-file checkpoint pass the .safetensors file itself"
                if any(path.glob("*.safetensors")) else
                "pass a folder saved by save_pretrained or `hf download <id> --local-dir DIR`, or a Hub id")
        raise ModelError(f"{path} is not a diffusers pipeline folder (no model_index.json)", hint)
    try:
        class_name = json.loads(index.read_text(encoding="utf-8")).get("_class_name")
    except (OSError, ValueError) as err:
        raise ModelError(f"cannot read {index}: {err}", "re-download or re-save the model") from None
    if class_name not in LTX_PIPELINE_CLASSES:
        default = get_backend_info("ltx").default_model
        raise ModelError(f"{path} holds a {class_name}, not an LTX-Video pipeline",
                         f"the ltx backend needs an LTX-Video 0.9.x model, e.g. {default}")


def _check_checkpoint_suffix(path: Path) -> None:
    if path.suffix != ".safetensors":
        raise UsageError(f"{path.name} is not a .safetensors checkpoint",
                         "pass a .safetensors file, a diffusers folder or a Hub id")


def _looks_local(text: str) -> bool:
    return text.startswith(("/", "./", "../", "~", ".\\")) or "\\" in text or (len(text) > 1 and text[1] == ":")


def _offline() -> bool:
    # huggingface_hub reads HF_HUB_OFFLINE once at import; honour it when it is set later too.
    late = os.environ.get("HF_HUB_OFFLINE", "").upper() in {"1", "ON", "YES", "TRUE"}
    return bool(hf_constants.HF_HUB_OFFLINE) or late


def _require_cached(repo_id: str, revision: str | None, context: str) -> None:
    """Offline, fail fast with instructions instead of letting diffusers try the network first."""
    if _offline() and not isinstance(try_to_load_from_cache(repo_id, "model_index.json", revision=revision), str):
        raise _not_cached(repo_id, revision, context)


def _not_cached(repo_id: str, revision: str | None, context: str, filename: str | None = None) -> ModelError:
    rev = f" --revision {revision}" if revision else ""
    what = f"{repo_id} {filename}" if filename else repo_id
    lead = f"{context}; " if context else ""
    return ModelError(
        f"{lead}'{what}' is not in the local Hugging Face cache ({hf_constants.HF_HUB_CACHE}) "
        "and cannot be downloaded now (offline or no network)",
        f"run `hf download {what}{rev}` on a machine with network and copy the cache here, "
        "set HF_HOME to a cache that has it, or pass a local model folder",
    )


def _hub_error(
    err: OSError, repo_id: str, revision: str | None, context: str, filename: str | None = None
) -> ModelError:
    """Turn what huggingface_hub / diffusers raised (often wrapped in a plain OSError) into one line."""
    first_line = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
    if Path(repo_id).exists():
        return ModelError(f"cannot load the model folder {repo_id}: {first_line}",
                          "the folder is incomplete; save or download it again")
    for cause in _causes(err):
        if isinstance(cause, GatedRepoError):
            return ModelError(f"'{repo_id}' is gated on the Hub",
                              "accept its licence on huggingface.co and run `hf auth login`")
        if isinstance(cause, RepositoryNotFoundError):
            return ModelError(f"Hub repo '{repo_id}' not found (or private)",
                              "check the id; for a private repo run `hf auth login`")
        if isinstance(cause, RevisionNotFoundError):
            return ModelError(f"revision '{revision}' not found in '{repo_id}'", "check --revision")
    cached = try_to_load_from_cache(repo_id, filename or "model_index.json", revision=revision)
    if not isinstance(cached, str) or any(isinstance(c, LocalEntryNotFoundError) for c in _causes(err)):
        return _not_cached(repo_id, revision, context, filename)
    return ModelError(f"cannot load '{repo_id}': {first_line}", "re-download it with `hf download` or check the files")


def _causes(err: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    current: BaseException | None = err
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__
