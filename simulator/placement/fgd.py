"""`fgd`: Fragmentation Gradient Descent (Weng et al., ATC'23). For each feasible node, and
for a sharing pod each GPU inside it that fits, the policy computes how much the node's
expected fragmentation would grow, and takes the smallest growth.

The growth only depends on the node's own state, so it is cached per pod shape and
recomputed only for nodes whose version changed since: after warm-up a pod costs one small
batch instead of a pass over the cluster. Among nodes with equal growth (frequent for
whole-GPU pods, which leave every fully free node alike) the node with the least free GPU
wins, then a random one: a packing tie-break of ours, not part of the paper's definition.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from simulator.cluster.state import BoolArray, ClusterState, IntArray, PodRequest
from simulator.placement.base import TIE_TOLERANCE, FloatArray, Placement, TieBreaker, pick_highest
from simulator.placement.fragmentation import FragmentationTracker, TargetWorkload, fragmentation


@dataclass
class _ShapeCache:
    growth: FloatArray
    device: IntArray
    version: IntArray


class FragmentationGradient:
    """Place each pod where it grows the target-workload fragmentation least."""

    name = "fgd"

    def __init__(self, target: TargetWorkload) -> None:
        self.target = target
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
            after = np.where(usable, after, np.inf)
            device = np.argmin(after, axis=1)
            growth = after[np.arange(nodes.shape[0]), device] - before
            return growth, device.astype(np.int64)
        if req.gpus:
            eligible = (state.spec.device_resource[nodes] == req.resource) & (free >= state.cost[nodes])
            take = eligible & (np.cumsum(eligible, axis=1) <= req.gpus)
            free = free - take * state.cost[nodes]
        after = fragmentation(self.target, free, cpu, bits)
        return after - before, np.full(nodes.shape[0], -1, dtype=np.int64)

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
        growth = cache.growth[candidates]
        least = candidates[growth <= growth.min() + TIE_TOLERANCE]
        # Equal growth (common for whole-GPU pods): pack, i.e. prefer the node with less free GPU.
        node = pick_highest(least, -state.gpu_free[least].astype(np.float64), ties)
        if req.milli:
            return Placement(node, [int(cache.device[node])])
        return Placement(node, state.default_devices(node, req))

    def placed(self, state: ClusterState, node: int, req: PodRequest, delta: int) -> None:
        """Nothing to do: node versions tell the caches what changed."""
