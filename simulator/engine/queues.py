"""Waiting queues and their disciplines, as Kueue names them.

- `fifo` (StrictFIFO): jobs start in arrival order; the head blocks everyone behind it.
- `priority`: highest priority first, arrival order within a priority; the head blocks.
- `best-effort-fifo` (BestEffortFIFO): arrival order, but a job that does not fit is
  skipped and later ones may start.

A queue only orders; `drain(try_start)` offers jobs to the engine's `try_start` callback,
which returns whether the job started.
"""

from __future__ import annotations

import heapq
from collections import deque
from collections.abc import Callable
from typing import Protocol

from simulator.config import QueueDiscipline

TryStart = Callable[[int], bool]


class JobQueue(Protocol):
    def push(self, job: int, priority: int) -> None: ...

    def drain(self, try_start: TryStart) -> None:
        """Offer waiting jobs to `try_start` in the discipline's order, removing those that start."""

    def __len__(self) -> int: ...


class StrictFifo:
    def __init__(self) -> None:
        self._jobs: deque[int] = deque()

    def push(self, job: int, priority: int) -> None:
        self._jobs.append(job)

    def drain(self, try_start: TryStart) -> None:
        jobs = self._jobs
        while jobs and try_start(jobs[0]):
            jobs.popleft()

    def __len__(self) -> int:
        return len(self._jobs)


class StrictPriority:
    def __init__(self) -> None:
        self._heap: list[tuple[int, int]] = []

    def push(self, job: int, priority: int) -> None:
        heapq.heappush(self._heap, (-priority, job))

    def drain(self, try_start: TryStart) -> None:
        heap = self._heap
        while heap and try_start(heap[0][1]):
            heapq.heappop(heap)

    def __len__(self) -> int:
        return len(self._heap)


class BestEffortFifo:
    """Skips jobs that do not fit. `shape_of(job)` lets a pass skip every later job of a shape
    that already failed in the same pass (capacity only shrinks during a pass)."""

    def __init__(self, shape_of: Callable[[int], object]) -> None:
        self._jobs: dict[int, None] = {}
        self._shape_of = shape_of

    def push(self, job: int, priority: int) -> None:
        self._jobs[job] = None

    def drain(self, try_start: TryStart) -> None:
        failed: set[object] = set()
        started = []
        for job in self._jobs:
            shape = self._shape_of(job)
            if shape in failed:
                continue
            if try_start(job):
                started.append(job)
            else:
                failed.add(shape)
        for job in started:
            del self._jobs[job]

    def __len__(self) -> int:
        return len(self._jobs)


def make_queue(discipline: QueueDiscipline, shape_of: Callable[[int], object]) -> JobQueue:
    if discipline == "fifo":
        return StrictFifo()
    if discipline == "priority":
        return StrictPriority()
    return BestEffortFifo(shape_of)
