"""Per-stage timings for lazily chained iterators.

Each stage's iterator is wrapped in :func:`timed`; the time spent inside ``next()`` includes the
stages upstream, so :meth:`Timings.exclusive` subtracts them to give each stage its own share.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any


class Timings:
    def __init__(self, clock: Callable[[], float] = time.perf_counter) -> None:
        self.clock = clock
        self.inclusive: dict[str, float] = {}
        self.order: list[str] = []
        self.fixed: dict[str, float] = {}

    def add(self, name: str, seconds: float) -> None:
        """A stage that is not a stream (model load, sidecar writing)."""
        self.fixed[name] = self.fixed.get(name, 0.0) + seconds

    def timed(self, name: str, frames: Iterable[Any]) -> Iterator[Any]:
        """Wrap ``frames``; register now (not on first ``next``) so the chain order is the build order."""
        self.order.append(name)
        self.inclusive.setdefault(name, 0.0)
        return self._timed(name, iter(frames))

    def _timed(self, name: str, iterator: Iterator[Any]) -> Iterator[Any]:
        while True:
            start = self.clock()
            try:
                item = next(iterator)
            except StopIteration:
                self.inclusive[name] += self.clock() - start
                return
            self.inclusive[name] += self.clock() - start
            yield item

    def exclusive(self) -> dict[str, float]:
        result = dict(self.fixed)
        upstream = 0.0
        for name in self.order:
            result[name] = round(max(0.0, self.inclusive[name] - upstream), 4)
            upstream = self.inclusive[name]
        return {k: round(v, 4) for k, v in result.items()}
