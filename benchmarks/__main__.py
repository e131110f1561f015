"""``python -m benchmarks [name ...]``: run benchmarks and print their tables."""

from __future__ import annotations

import importlib
import sys

ALL = ["startup", "post", "memory", "overhead", "upscale"]


def main(argv: list[str]) -> None:
    names = argv or ALL
    for name in names:
        if name not in [*ALL, "gpu"]:
            raise SystemExit(f"unknown benchmark {name!r}; choose from {', '.join([*ALL, 'gpu'])}")
        importlib.import_module(f"benchmarks.{name}").main()


if __name__ == "__main__":
    main(sys.argv[1:])
