"""GPU fragmentation against a target workload (FGD, ATC'23; definition in the shared traces
README): for each typical pod shape, a node's idle GPU is fragmented where the shape cannot
run on the node at all, else only the per-GPU leftovers smaller than the shape's per-GPU
request; CPU-only shapes count all idle GPU. Weighted by shape frequency.

Everything is vectorised over a batch of (hypothetical) node states and all shapes at once;
`FragmentationTracker` keeps each node's value and recomputes only nodes that changed.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from simulator.cluster.state import ClusterState, IntArray
from simulator.placement.base import FloatArray

COVERAGE = 0.95


@dataclass(frozen=True)
class TargetWorkload:
    """Typical pod shapes with normalised frequencies. `threshold` is the per-GPU request in
    milli (1000 for whole GPUs); `gpus` 0 marks a CPU-only shape."""

    cpu_milli: IntArray
    gpus: IntArray
    threshold: IntArray
    sharing: npt.NDArray[np.bool_]
    model_mask: IntArray
    frequency: FloatArray

    @classmethod
    def from_shapes(
        cls, shapes: list[tuple[int, int, int, int]], coverage: float = COVERAGE
    ) -> TargetWorkload:
        """Shapes are (cpu_milli, gpus, milli, cluster model mask), one entry per pod; keep the
        most frequent until `coverage` of the pods are covered."""
        counts: dict[tuple[int, int, int, int], int] = {}
        for shape in shapes:
            counts[shape] = counts.get(shape, 0) + 1
        ranked = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
        total, kept, covered = len(shapes), [], 0
        for shape, count in ranked:
            kept.append((shape, count))
            covered += count
            if covered >= coverage * total:
                break
        weights = np.array([c for _, c in kept], dtype=np.float64)
        return cls(
            cpu_milli=np.array([s[0] for s, _ in kept], dtype=np.int64),
            gpus=np.array([s[1] for s, _ in kept], dtype=np.int64),
            threshold=np.array([s[2] if s[2] else 1000 for s, _ in kept], dtype=np.int64),
            sharing=np.array([s[2] > 0 for s, _ in kept], dtype=np.bool_),
            model_mask=np.array([s[3] for s, _ in kept], dtype=np.int64),
            frequency=weights / weights.sum(),
        )


def fragmentation(
    target: TargetWorkload, free: IntArray, cpu_free: IntArray, model_bits: IntArray
) -> FloatArray:
    """Expected fragmented GPU milli of each node state: `free` is [batch, devices] free milli,
    `cpu_free` and `model_bits` are [batch]."""
    idle = free.sum(axis=1).astype(np.float64)  # [B]
    below = (free[:, None, :] * (free[:, None, :] < target.threshold[None, :, None])).sum(axis=2)  # [B,K]
    full = (free >= 1000).sum(axis=1)  # [B]
    largest = free.max(axis=1) if free.shape[1] else np.zeros(free.shape[0], dtype=np.int64)
    fits = cpu_free[:, None] >= target.cpu_milli[None, :]
    mask = target.model_mask[None, :]
    fits &= (mask == 0) | ((model_bits[:, None] & mask) != 0)
    gpu_fits = np.where(
        target.sharing[None, :],
        largest[:, None] >= target.threshold[None, :],
        full[:, None] >= target.gpus[None, :],
    )
    fits &= gpu_fits & (target.gpus[None, :] > 0)
    per_shape = np.where(fits, below, idle[:, None])
    result: FloatArray = per_shape @ target.frequency
    return result


class FragmentationTracker:
    """Each node's fragmentation, recomputed lazily for nodes whose state version changed."""

    def __init__(self, state: ClusterState, target: TargetWorkload) -> None:
        self.state = state
        self.target = target
        self.values: FloatArray = np.zeros(state.spec.nodes)
        self._seen: IntArray = np.full(state.spec.nodes, -1, dtype=np.int64)

    def current(self) -> FloatArray:
        """Fragmented milli of every node now."""
        state = self.state
        stale = np.flatnonzero(self._seen != state.version)
        if stale.shape[0]:
            self.values[stale] = fragmentation(
                self.target, state.free[stale], state.cpu_free[stale], state.node_model_bits[stale]
            )
            self._seen[stale] = state.version[stale]
        return self.values

    def totals(self) -> tuple[float, float]:
        """(fragmentation amount, fragmentation rate): fragmented ÷ all GPU, fragmented ÷ idle GPU."""
        fragmented = float(self.current().sum())
        capacity = float(self.state.gpu_capacity.sum())
        idle = float(self.state.gpu_free.sum())
        return (fragmented / capacity if capacity else 0.0, fragmented / idle if idle else 0.0)
