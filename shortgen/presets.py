"""Find and load presets: built-in < user directory < explicit path.

A preset name is looked up in the user directory (``$SHORTGEN_PRESETS_DIR`` or
``~/.config/shortgen/presets``) first, then among the built-ins; anything that looks like a path
(``.yaml`` suffix or a path separator) is loaded from that path.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from shortgen.config import Preset, validate_model
from shortgen.errors import ConfigError, UsageError
from shortgen.paths import check_input_file, read_text_file

DEFAULT_PRESET = "tiktok"


@dataclass(frozen=True)
class PresetSource:
    name: str
    origin: str  # "built-in", "user" or "file"
    path: Path


def user_presets_dir() -> Path:
    env = os.environ.get("SHORTGEN_PRESETS_DIR")
    if env:
        return Path(env).expanduser()
    base = os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config"
    return Path(base) / "shortgen" / "presets"


def builtin_presets_dir() -> Path:
    return Path(str(resources.files("shortgen.builtin_presets")))


def _yaml_files(folder: Path) -> list[Path]:
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir() if p.suffix in {".yaml", ".yml"} and p.is_file())


def available_presets() -> list[PresetSource]:
    """Every preset by name; a user preset shadows a built-in of the same name."""
    found: dict[str, PresetSource] = {}
    for origin, folder in (("built-in", builtin_presets_dir()), ("user", user_presets_dir())):
        for path in _yaml_files(folder):
            found[path.stem] = PresetSource(path.stem, origin, path)
    return sorted(found.values(), key=lambda s: s.name)


def _looks_like_path(ref: str) -> bool:
    return ref.endswith((".yaml", ".yml")) or os.sep in ref or "/" in ref


def find_preset(ref: str) -> PresetSource:
    if _looks_like_path(ref):
        path = Path(ref).expanduser()
        check_input_file(path, "preset file")
        return PresetSource(path.stem, "file", path)
    for source in available_presets():
        if source.name == ref:
            return source
    names = ", ".join(s.name for s in available_presets())
    raise UsageError(f"unknown preset '{ref}'; available: {names}",
                     "or pass a path to a .yaml file; see 'shortgen presets list'")


def read_yaml(path: Path) -> Any:
    """``yaml.safe_load`` a file, turning read and syntax errors into one-line config errors. Aliases are
    expanded within :data:`MAX_YAML_NODES` (a "billion laughs" file is refused at once, not after it has
    filled the memory)."""
    text = read_text_file(path, "")
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        _check_expansion(node, path)
        return loader.construct_document(node)
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark else ""
        problem = getattr(err, "problem", None) or "invalid YAML"
        raise ConfigError(f"{path}{where}: {problem}") from None
    finally:
        loader.dispose()


MAX_YAML_NODES = 100_000  # a preset has ~60 values, a job file with thousands of jobs well under this


def _check_expansion(root: yaml.Node, path: Path) -> None:
    """Count the nodes of the document as it would be once every alias is expanded, without expanding it:
    each node's count is computed once (aliases share nodes), so this takes time in the file's size."""
    sizes: dict[int, int] = {}
    pending: set[int] = set()

    def size(node: yaml.Node) -> int:
        key = id(node)
        if key in sizes:
            return sizes[key]
        if key in pending:
            raise ConfigError(f"{path}: an alias refers to a node that contains it", "remove the recursive alias")
        pending.add(key)
        total = 1
        if isinstance(node, yaml.SequenceNode):
            total += sum(size(child) for child in node.value)
        elif isinstance(node, yaml.MappingNode):
            total += sum(size(k) + size(v) for k, v in node.value)
        pending.discard(key)
        sizes[key] = min(total, MAX_YAML_NODES + 1)
        return sizes[key]

    try:
        count = size(root)
    except RecursionError:
        raise ConfigError(f"{path}: nested too deeply", "flatten the file") from None
    if count > MAX_YAML_NODES:
        raise ConfigError(f"{path}: its aliases expand to more than {MAX_YAML_NODES:,} values",
                          "write the values out, without nested aliases")


def load_preset(ref: str = DEFAULT_PRESET, overrides: dict[str, Any] | None = None) -> Preset:
    """Load a preset by name or path, optionally deep-merging ``overrides`` on top before validation."""
    from shortgen.config import merge_layers

    source = find_preset(ref)
    data = read_yaml(source.path)
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(f"{source.path}: expected a mapping at the top level")
    data.setdefault("name", source.name)
    preset = validate_model(Preset, data, str(source.path))
    if not overrides:
        return preset
    return validate_model(Preset, merge_layers(data, overrides), f"{source.path} with the given options")
