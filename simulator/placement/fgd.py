"""`fgd`: Fragmentation Gradient Descent (Weng et al., ATC'23). For each feasible node, and
for a sharing pod each GPU inside it that fits, the policy computes how much the node's
expected fragmentation would grow, and takes the smallest growth.

Two flavours:
- `fgd` scores as the reference simulator does (`fgd_score.go`): the integer
  `int(sigmoid((frag before − frag after) / 1000) × 100)`; a sharing pod takes the first GPU
  of the node with the best integer score; equal node scores go to the first node of the run's
  fixed order. Both the integer score and the fixed order are needed to reach the paper's figures.
- `fgd-gpuctl` compares the exact growth; among nodes with equal growth (frequent for
  whole-GPU pods, which leave every fully free node alike) the node with the least free GPU
  wins, then a random one: a packing tie-break of ours, not part of the paper's definition.

The growth only depends on the node's own state, so it is cached per pod shape and
recomputed only for nodes whose version changed since: after warm-up a pod costs one small
batch instead of a pass over the cluster.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from simulator.cluster.state import BoolArray, ClusterState, IntArray, PodRequest
from simulator.placement.base import (
    TIE_TOLERANCE,
    FloatArray,
    Placement,
    TieBreaker,
    pick_first_best,
    pick_highest,
)
from simulator.placement.fragmentation import FragmentationTracker, TargetWorkload, fragmentation


@dataclass
class _ShapeCache:
    growth: FloatArray  # exact growth (fgd-gpuctl) or the integer score as a float (fgd)
    device: IntArray
    version: IntArray


def integer_score(growth: FloatArray) -> IntArray:
    """The reference's score of a fragmentation growth: `int(sigmoid(−growth / 1000) × 100)`."""
    result: IntArray = np.trunc(1.0 / (1.0 + np.exp(growth / 1000.0)) * 100.0).astype(np.int64)
    return result


class FragmentationGradient:
    """Place each pod where it grows the target-workload fragmentation least."""

    name = "fgd"

    def __init__(self, target: TargetWorkload, integer: bool = True) -> None:
        self.target = target
        self.integer = integer
        self.name = "fgd" if integer else "fgd-gpuctl"
        self._tracker: FragmentationTracker | None = None
        self._caches: dict[tuple[int, ...], _ShapeCache] = {}

    def tracker(self, state: ClusterState) -> FragmentationTracker:
        if self._tracker is None or self._tracker.state is not state:
            self._tracker = FragmentationTracker(state, self.target)
            self._caches.clear()
        return self._tracker

    def _recompute(
        self, state: ClusterState, req: PodRequest, nodes: IntArray
    ) -> tuple[FloatArray, IntArray]:
        """Growth and chosen device slot (whole pods: −1) for `nodes` under `req`."""
        before = self.tracker(state).current()[nodes]
        free = state.free[nodes]
        cpu = state.cpu_free[nodes] - req.cpu_milli
        bits = state.node_model_bits[nodes]
        if req.milli:
            slots = free.shape[1]
            batch = np.repeat(free[:, None, :], slots, axis=1)  # [B, slot, slot]
            batch[:, np.arange(slots), np.arange(slots)] -= req.milli
            after = fragmentation(
                self.target, batch.reshape(-1, slots), np.repeat(cpu, slots), np.repeat(bits, slots)
            ).reshape(-1, slots)
            usable = state.fraction_capable[nodes] & (free >= req.milli)
            if self.integer:  # the first GPU with the best integer score
                scores = np.where(usable, integer_score(after - before[:, None]), -1)
                device = np.argmax(scores, axis=1)
                best = scores[np.arange(nodes.shape[0]), device].astype(np.float64)
                return best, device.astype(np.int64)
            after = np.where(usable, after, np.inf)
            device = np.argmin(after, axis=1)
            growth = after[np.arange(nodes.shape[0]), device] - before
            return growth, device.astype(np.int64)
        if req.gpus:
            eligible = (state.spec.device_resource[nodes] == req.resource) & (free >= state.cost[nodes])
            take = eligible & (np.cumsum(eligible, axis=1) <= req.gpus)
            free = free - take * state.cost[nodes]
        growth = fragmentation(self.target, free, cpu, bits) - before
        if self.integer:
            growth = integer_score(growth).astype(np.float64)
        return growth, np.full(nodes.shape[0], -1, dtype=np.int64)

    def place(self, state: ClusterState, req: PodRequest, feasible: BoolArray, ties: TieBreaker) -> Placement:
        candidates = np.flatnonzero(feasible)
        cache = self._caches.get(req.shape)
        if cache is None:
            n = state.spec.nodes
            cache = _ShapeCache(np.zeros(n), np.full(n, -1, dtype=np.int64), np.full(n, -1, dtype=np.int64))
            self._caches[req.shape] = cache
        stale = candidates[cache.version[candidates] != state.version[candidates]]
        if stale.shape[0]:
            growth, device = self._recompute(state, req, stale)
            cache.growth[stale] = growth
            cache.device[stale] = device
            cache.version[stale] = state.version[stale]
        if self.integer:
            node = pick_first_best(cache.growth.astype(np.int64), feasible, ties)
        else:
            node = self._least_growth(state, candidates, cache.growth[candidates], ties)
        if req.milli:
            return Placement(node, [int(cache.device[node])])
        return Placement(node, state.default_devices(node, req))

    @staticmethod
    def _least_growth(state: ClusterState, candidates: IntArray, growth: FloatArray, ties: TieBreaker) -> int:
        """fgd-gpuctl: the least growth, then the least free GPU, then a random node."""
        least = candidates[growth <= growth.min() + TIE_TOLERANCE]
        # Equal growth (common for whole-GPU pods): pack, i.e. prefer the node with less free GPU.
        return pick_highest(least, -state.gpu_free[least].astype(np.float64), ties)

    def placed(self, state: ClusterState, node: int, req: PodRequest, delta: int) -> None:
        """Nothing to do: node versions tell the caches what changed."""
