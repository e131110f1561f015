"""The producer thread that overlaps generation with the post path."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from shortgen.frames import prefetch


def test_order_and_count_are_kept() -> None:
    assert list(prefetch(iter(range(100)), maxsize=3)) == list(range(100))


def test_producer_errors_reach_the_consumer_after_the_good_items() -> None:
    def failing() -> Iterator[int]:
        yield 1
        yield 2
        raise ValueError("model crashed")

    got = []
    with pytest.raises(ValueError, match="model crashed"):
        for item in prefetch(failing(), maxsize=1):
            got.append(item)
    assert got == [1, 2]


def test_producer_stays_bounded_and_stops_when_the_consumer_stops() -> None:
    produced = []
    finished = threading.Event()

    def counting() -> Iterator[int]:
        try:
            for i in range(10_000):
                produced.append(i)
                yield i
        finally:
            finished.set()

    stream = prefetch(counting(), maxsize=4)
    assert [next(stream) for _ in range(3)] == [0, 1, 2]
    stream.close()
    assert finished.wait(timeout=10)
    assert len(produced) <= 3 + 4 + 2  # consumed + queue + one in hand, never the whole stream
