"""The Ray runner (needs shortgen[ray]): ``cluster`` (connect, size the workers), ``worker`` (the actor),
``driver`` (:class:`RayRunner`, the loop that hands out jobs). Importing this package does not import ray."""

from __future__ import annotations

from shortgen.batch.ray.cluster import INSTALL_HINT, connect, import_ray
from shortgen.batch.ray.driver import RayRunner
from shortgen.batch.ray.worker import Worker
from shortgen.batch.settings import RayOptions

__all__ = ["INSTALL_HINT", "RayOptions", "RayRunner", "Worker", "connect", "import_ray"]
