"""Run planar float samples held in memory through an FFmpeg filter graph (PyAV's ``av.filter.Graph``).

The av wheel carries FFmpeg, so its audio filters (``ebur128``, ``alimiter``, ``sidechaincompress`` ...) are
there without another dependency. Samples are ``float32`` arrays of shape ``(channels, n)``.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np

CHUNK = 8192  # samples per frame pushed into a graph


@dataclass
class Filtered:
    samples: np.ndarray
    # The metadata FFmpeg attached to the last frame out (ebur128 puts its running figures there).
    metadata: dict[str, str] = field(default_factory=dict)


def layout_of(channels: int) -> str:
    return {1: "mono", 2: "stereo"}.get(channels, f"{channels}c")


def run_graph(inputs: Sequence[np.ndarray], rate: int, chain: Sequence[tuple[str, str | None]]) -> Filtered:
    """Feed ``inputs`` (all at ``rate``, all of one length) through ``chain``: its first filter takes every
    input (``main``, then e.g. a side chain), the rest follow one after another. The output comes back as
    planar float."""
    import av
    import numpy as np

    graph = av.filter.Graph()
    sources = [graph.add_abuffer(sample_rate=rate, format="fltp", layout=layout_of(x.shape[0]),
                                 time_base=Fraction(1, rate), name=f"in{i}") for i, x in enumerate(inputs)]
    nodes = [graph.add(name, args) for name, args in chain]
    nodes.append(graph.add("aformat", "sample_fmts=fltp"))
    nodes.append(graph.add("abuffersink"))
    for index, source in enumerate(sources):
        source.link_to(nodes[0], 0, index)
    for before, after in itertools.pairwise(nodes):
        before.link_to(after)
    graph.configure()

    out: list[Any] = []
    for start in range(0, inputs[0].shape[1], CHUNK):
        for index, x in enumerate(inputs):
            graph.push(_frame(x[:, start:start + CHUNK], rate, start), at=index)
        _drain(graph, out)
    graph.push(None)
    _drain(graph, out)
    if not out:
        return Filtered(np.zeros((inputs[0].shape[0], 0), dtype=np.float32))
    samples = np.concatenate([frame.to_ndarray() for frame in out], axis=1).astype(np.float32, copy=False)
    metadata: dict[str, str] = {}
    for frame in out:  # the last frame that carries any (a short final frame may carry none)
        metadata = dict(frame.metadata) or metadata
    return Filtered(samples, metadata)


def _frame(samples: np.ndarray, rate: int, pts: int) -> Any:
    import av
    import numpy as np

    frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(samples, dtype=np.float32), format="fltp",
                                       layout=layout_of(samples.shape[0]))
    frame.sample_rate, frame.pts, frame.time_base = rate, pts, Fraction(1, rate)
    return frame


def _drain(graph: Any, out: list[Any]) -> None:
    import av

    while True:
        try:
            out.append(graph.pull())
        except (av.BlockingIOError, av.EOFError):
            return
