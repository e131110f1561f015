"""Joining a Ray cluster (or starting a local one) and sizing the workers; ``ray`` is imported only here,
and only when called."""

from __future__ import annotations

import os
import socket
import threading
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlparse

from shortgen.batch.settings import RayOptions
from shortgen.errors import UsageError
from shortgen.progress import Progress

INSTALL_HINT = 'pip install "shortgen[ray]"'
CONNECT_SECONDS = 60.0  # ray.init against an address that does not answer retries for minutes; we do not
REACH_SECONDS = 5.0  # a plain TCP connect first: the usual unreachable address fails in seconds, not a minute

def import_ray() -> Any:
    try:
        import ray
    except ImportError:
        raise UsageError("--ray needs Ray, which is not installed", f"install it with: {INSTALL_HINT}") from None
    return ray


# ------------------------------------------------------------------------------------------------ connect


@dataclass(frozen=True)
class WorkerShape:
    count: int
    gpus: float
    cpus: float


def connect(address: str | None, *, timeout: float = CONNECT_SECONDS) -> None:
    """Join the cluster at ``address`` (or start a local one); an address that does not answer is one line."""
    ray = import_ray()
    if ray.is_initialized():  # the caller (a test, a notebook) connected already
        return
    address = address or os.environ.get("RAY_ADDRESS") or None
    quiet = {"log_to_driver": bool(os.environ.get("SHORTGEN_DEBUG")), "logging_level": "ERROR"}
    if address is None:
        ray.init(include_dashboard=False, **quiet)
        return
    if address != "auto":
        _check_reachable(address)
    outcome: list[BaseException | None] = []

    def init() -> None:
        try:
            ray.init(address=address, **quiet)
            outcome.append(None)
        except BaseException as err:
            outcome.append(err)

    thread = threading.Thread(target=init, name="shortgen-ray-connect", daemon=True)
    thread.start()
    thread.join(timeout)
    if not outcome:
        raise UsageError(f"cannot reach the Ray cluster at {address} within {timeout:g} s",
                         "check the address (ray://HEAD:10001 or HEAD:6379) and that the cluster is up")
    if outcome[0] is not None and address == "auto":
        raise UsageError("--ray auto: no Ray cluster is running on this machine",
                         "start one with `ray start --head`, or give --ray alone for a Ray of this process")
    if outcome[0] is not None:
        raise UsageError(f"cannot connect to the Ray cluster at {address}: {first_line(outcome[0])}",
                         "check the address, or start a cluster with `ray start --head`") from None


def _check_reachable(address: str) -> None:
    parsed = urlparse(address if "://" in address else f"tcp://{address}")
    try:
        host, port = parsed.hostname, parsed.port
    except ValueError:
        host, port = None, None
    if not host or not port:
        raise UsageError(f"--ray {address}: expected auto, HOST:PORT or ray://HOST:PORT")
    try:
        socket.create_connection((host, port), timeout=REACH_SECONDS).close()
    except OSError as err:
        raise UsageError(f"cannot reach the Ray cluster at {address} within {REACH_SECONDS:g} s "
                         f"({getattr(err, 'strerror', None) or err})",
                         "check the address and that the cluster is up") from None


def worker_shape(options: RayOptions, progress: Progress) -> WorkerShape:
    """How many workers of what size, checked against the cluster's nodes before any actor starts."""
    ray = import_ray()
    nodes = [node.get("Resources", {}) for node in ray.nodes() if node.get("Alive")]
    node_gpus = max((float(n.get("GPU", 0)) for n in nodes), default=0.0)
    total_gpus = sum(float(n.get("GPU", 0)) for n in nodes)
    total_cpus = sum(float(n.get("CPU", 0)) for n in nodes)
    gpus = options.gpus_per_worker if options.gpus_per_worker is not None else (1.0 if total_gpus else 0.0)
    if gpus > node_gpus:
        most = f"the most on one node is {node_gpus:g}" if node_gpus else "the cluster has no GPUs"
        raise UsageError(f"--gpus-per-worker {gpus:g} is more than any node has ({most})",
                         "lower --gpus-per-worker, or pass 0 for CPU workers")
    cpus = 1.0
    room = int(sum(float(n.get("GPU", 0)) // gpus for n in nodes)) if gpus else int(total_cpus // cpus)
    if room < 1:
        raise UsageError("the Ray cluster has no room for a worker (no free CPU)", "add a node or free one")
    count = options.workers or (room if gpus else 1)
    if count > room:
        progress.warn(f"--workers {count}: the cluster has room for {room} worker(s) of {gpus:g} GPU(s); "
                      f"starting {room}")
        count = room
    return WorkerShape(count, gpus, cpus)


def first_line(err: BaseException) -> str:
    lines = str(err).strip().splitlines()
    return lines[0] if lines else type(err).__name__
