"""Stage timing attribution, on a fake clock (tests never measure real time)."""

from __future__ import annotations

from collections.abc import Iterator

from shortgen.timing import Timings


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def working(items: Iterator[int], clock: FakeClock, cost: float) -> Iterator[int]:
    for item in items:
        clock.now += cost
        yield item


def test_each_stage_gets_its_own_share_even_when_built_lazily() -> None:
    clock = FakeClock()
    timings = Timings(clock)
    source = timings.timed("generate", working(iter(range(5)), clock, 2.0))
    stage = timings.timed("upscale", working(source, clock, 0.5))
    assert list(stage) == list(range(5))
    assert timings.exclusive() == {"generate": 10.0, "upscale": 2.5}
