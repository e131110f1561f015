"""Per-stage timings for lazily chained iterators.

Each stage's iterator is wrapped in :func:`timed`; the time spent inside ``next()`` includes the
stages upstream, so :meth:`Timings.exclusive` subtracts them to give each stage its own share.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator
from typing import Any


class Timings:
    def __init__(self) -> None:
        self.inclusive: dict[str, float] = {}
        self.order: list[str] = []
        self.fixed: dict[str, float] = {}

    def add(self, name: str, seconds: float) -> None:
        """A stage that is not a stream (model load, sidecar writing)."""
        self.fixed[name] = self.fixed.get(name, 0.0) + seconds

    def timed(self, name: str, frames: Iterable[Any]) -> Iterator[Any]:
        self.order.append(name)
        self.inclusive.setdefault(name, 0.0)
        iterator = iter(frames)
        while True:
            start = time.perf_counter()
            try:
                item = next(iterator)
            except StopIteration:
                self.inclusive[name] += time.perf_counter() - start
                return
            self.inclusive[name] += time.perf_counter() - start
            yield item

    def exclusive(self) -> dict[str, float]:
        result = dict(self.fixed)
        upstream = 0.0
        for name in self.order:
            result[name] = round(max(0.0, self.inclusive[name] - upstream), 4)
            upstream = self.inclusive[name]
        return {k: round(v, 4) for k, v in result.items()}
