"""``python -m benchmarks [name ...]``: run benchmarks and print their tables."""

from __future__ import annotations

import importlib
import sys

ALL = ["startup", "post", "memory", "overhead", "loudness", "reframe", "upscale"]
OPTIONAL = ["gpu", "batch_ray"]  # need a GPU / shortgen[ray]; run by name


def main(argv: list[str]) -> None:
    names = argv or ALL
    for name in names:
        if name not in [*ALL, *OPTIONAL]:
            raise SystemExit(f"unknown benchmark {name!r}; choose from {', '.join([*ALL, *OPTIONAL])}")
        importlib.import_module(f"benchmarks.{name}").main()


if __name__ == "__main__":
    main(sys.argv[1:])
