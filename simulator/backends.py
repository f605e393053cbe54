"""Where independent simulation tasks run: in this process, on a local process pool, or as
Ray tasks on a Ray cluster (`pip install 'gpuctl[ray]'`; the same Ray that KubeRay runs).

Every backend returns the results in the order of the tasks, so a run is reproducible
whatever ran it. Tasks and results must be picklable (top-level functions, plain data).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from typing import Any, Protocol, TypeVar

from simulator.errors import SimulatorError

T = TypeVar("T")
R = TypeVar("R")


class BackendError(RuntimeError, SimulatorError):
    """The backend cannot run (Ray not installed, cluster unreachable): terminal for this call."""


class Backend(Protocol):
    name: str

    def map(self, fn: Callable[[T], R], tasks: Sequence[T]) -> list[R]:
        """`[fn(t) for t in tasks]`, possibly in parallel, in task order."""


def usable_cpus() -> int:
    """CPUs this process may run on."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


class InlineBackend:
    """Runs tasks one after the other in this process (tests, one-core machines)."""

    name = "inline"

    def map(self, fn: Callable[[T], R], tasks: Sequence[T]) -> list[R]:
        return [fn(task) for task in tasks]


class ProcessPoolBackend:
    """A local process pool of `workers` processes (default: the usable CPUs)."""

    name = "local"

    def __init__(self, workers: int | None = None) -> None:
        self.workers = max(1, workers or usable_cpus())

    def map(self, fn: Callable[[T], R], tasks: Sequence[T]) -> list[R]:
        if self.workers == 1 or len(tasks) <= 1:
            return [fn(task) for task in tasks]
        with ProcessPoolExecutor(max_workers=min(self.workers, len(tasks))) as pool:
            return list(pool.map(fn, tasks))


class RayBackend:
    """Each task is a Ray task. `address` None starts (or joins) a local Ray instance;
    "auto" or "ray://host:10001" joins a running cluster."""

    name = "ray"

    def __init__(self, address: str | None = None, num_cpus: int | None = None) -> None:
        self.address = address
        self.num_cpus = num_cpus

    def _ray(self) -> Any:
        try:
            import ray
        except ImportError as err:
            raise BackendError("the ray backend needs Ray: pip install 'gpuctl[ray]'") from err
        if not ray.is_initialized():
            try:
                if self.address is None:
                    ray.init(num_cpus=self.num_cpus, include_dashboard=False, log_to_driver=False)
                else:
                    ray.init(address=self.address, log_to_driver=False)
            except (ConnectionError, RuntimeError, ValueError) as err:
                raise BackendError(f"cannot start or join Ray at {self.address or 'local'}: {err}") from err
        return ray

    def map(self, fn: Callable[[T], R], tasks: Sequence[T]) -> list[R]:
        ray = self._ray()
        remote = ray.remote(fn)
        return list(ray.get([remote.remote(task) for task in tasks]))


def make_backend(name: str, address: str | None = None, workers: int | None = None) -> Backend:
    """The backend called `name`: local (process pool), inline or ray."""
    if name == "local":
        return ProcessPoolBackend(workers)
    if name == "inline":
        return InlineBackend()
    if name == "ray":
        return RayBackend(address, workers)
    raise BackendError(f"unknown backend {name!r}; choose local, inline or ray")
