"""The FGD paper's baseline policies as its reference simulator scores them (Weng et al., ATC'23;
the public simulator hkust-adsl/kubernetes-scheduler-simulator, `pkg/simulator/plugin/`).

Every score is an integer in 0..100, as a kube-scheduler score plugin returns, so ties are
common; they go to the first node of the run's fixed priority order (`pick_first_best`). The
capacity normalisers are the largest node's CPU and GPU (the reference's constants, 128 cores
and 8 GPUs, are exactly the largest openb node). Inside a node a sharing pod gets the tightest
GPU that fits (`random`: a uniformly random one), a whole-GPU pod the first free GPUs.

gpuctl's own variants (float scores, random ties, other tie rules) are in `scoring.py` and
`fgd.py` under the names ending in `-gpuctl`.
"""

from __future__ import annotations

from abc import ABC, abstractmethod

import numpy as np

from simulator.cluster.state import BoolArray, ClusterState, IntArray, PodRequest
from simulator.placement.base import Placement, TieBreaker, pick_first_best
from simulator.placement.scoring import largest_capacity

MAX_SCORE = 100


def _gpu_slots(state: ClusterState) -> IntArray:
    """GPU devices per node (what the reference calls the node's GPU number)."""
    result: IntArray = (state.spec.device_capacity > 0).sum(axis=1)
    return result


class ReferencePolicy(ABC):
    """Integer node scores, ties to the first node of the fixed order, reference GPU choice."""

    name = "abstract"
    random_gpu = False

    @abstractmethod
    def score(self, state: ClusterState, req: PodRequest, feasible: BoolArray) -> IntArray:
        """Integer score of every node (entries of infeasible nodes are ignored)."""

    def place(self, state: ClusterState, req: PodRequest, feasible: BoolArray, ties: TieBreaker) -> Placement:
        node = pick_first_best(self.score(state, req, feasible), feasible, ties)
        return Placement(node, self.devices(state, node, req, ties))

    def devices(self, state: ClusterState, node: int, req: PodRequest, ties: TieBreaker) -> list[int]:
        """The tightest fitting GPU for a sharing pod (or a random one), else the first free ones."""
        if req.milli and self.random_gpu:
            slots = state.eligible_devices(node, req)
            return [int(slots[ties.below(slots.shape[0])])]
        return state.default_devices(node, req)

    def placed(self, state: ClusterState, node: int, req: PodRequest, delta: int) -> None:  # noqa: B027
        """Reference policies keep no state of their own by default."""


class ReferenceRandom(ReferencePolicy):
    """`random`: a uniformly random feasible node (the reference draws it in PreScore and gives
    it the only non-zero score) and a random fitting GPU inside it."""

    name = "random"
    random_gpu = True

    def score(self, state: ClusterState, req: PodRequest, feasible: BoolArray) -> IntArray:
        return np.zeros(state.spec.nodes, dtype=np.int64)

    def place(self, state: ClusterState, req: PodRequest, feasible: BoolArray, ties: TieBreaker) -> Placement:
        candidates = np.flatnonzero(feasible)
        node = int(candidates[ties.below(candidates.shape[0])])
        return Placement(node, self.devices(state, node, req, ties))


def normalise(scores: IntArray, feasible: BoolArray) -> IntArray:
    """Min–max scale the feasible nodes' scores to 0..100 in integers (all 0 when they are equal)."""
    values = scores[feasible]
    low, high = int(values.min()), int(values.max())
    if high == low:
        return np.zeros_like(scores)
    result: IntArray = (scores - low) * MAX_SCORE // (high - low)
    return result


class ReferenceBestFit(ReferencePolicy):
    """`best-fit`: `int(100 × (1 − (0.5 × CPU left after / CPU max + 0.5 × GPU left after /
    GPU max)))`, then min–max normalised over the feasible nodes."""

    name = "best-fit"

    def score(self, state: ClusterState, req: PodRequest, feasible: BoolArray) -> IntArray:
        cpu_max, gpu_max = largest_capacity(state.spec.cpu_milli), largest_capacity(state.gpu_capacity)
        left = (state.cpu_free - req.cpu_milli) / cpu_max * 0.5
        left = left + (state.gpu_free - req.gpu_milli) / gpu_max * 0.5
        raw = np.trunc((1.0 - left) * MAX_SCORE).astype(np.int64)
        return normalise(raw, feasible)


class ReferenceDotProduct(ReferencePolicy):
    """`dot-product`: the smallest dot product of the node's free (CPU, GPU) and the pod's
    request, both normalised by the largest node: `int(100 × (1 − dot / 2))`."""

    name = "dot-product"

    def score(self, state: ClusterState, req: PodRequest, feasible: BoolArray) -> IntArray:
        cpu_max, gpu_max = largest_capacity(state.spec.cpu_milli), largest_capacity(state.gpu_capacity)
        dot = (state.cpu_free / cpu_max) * (req.cpu_milli / cpu_max)
        dot = dot + (state.gpu_free / gpu_max) * (req.gpu_milli / gpu_max)
        result: IntArray = np.trunc(MAX_SCORE * (1.0 - dot / 2.0)).astype(np.int64)
        return result


class ReferenceGpuPacking(ReferencePolicy):
    """`gpu-packing`: a sharing pod that fits on a partly used GPU scores `100 − left % / 10` of
    that (tightest) GPU; a pod on a node with GPU use that needs free GPUs `50 − GPUs taken`
    (at least 33); a node whose GPUs are all free `max(33 − its GPUs, its GPUs)`; a CPU-only
    pod 0 everywhere. "In use" counts GPU use only."""

    name = "gpu-packing"

    def score(self, state: ClusterState, req: PodRequest, feasible: BoolArray) -> IntArray:
        n = state.spec.nodes
        if not req.gpus:
            return np.zeros(n, dtype=np.int64)
        capacity = state.spec.device_capacity
        fully_free = ((state.free == capacity) & (capacity > 0)).sum(axis=1)
        gpus = _gpu_slots(state)
        idle_node = np.maximum(MAX_SCORE // 3 - gpus, gpus)
        if req.milli:
            partly_used = state.fraction_capable & (state.free >= req.milli) & (state.free < capacity)
            tightest = np.where(partly_used, state.free, 10**9).min(axis=1, initial=10**9)
            partly = partly_used.any(axis=1)
            used = np.where(
                partly,
                np.maximum(MAX_SCORE - (tightest * 100 // 1000) // 10, MAX_SCORE // 2),
                max(MAX_SCORE // 2 - 1, MAX_SCORE // 3),
            )
        else:
            used = np.full(n, max(MAX_SCORE // 2 - req.gpus, MAX_SCORE // 3), dtype=np.int64)
        result: IntArray = np.where(fully_free == gpus, idle_node, used).astype(np.int64)
        return result


class ReferenceGpuClustering(ReferencePolicy):
    """`gpu-clustering`: pods are grouped by GPU-count class (sharing, 1 GPU, 2 GPUs, …). A node
    holding only the pod's class scores 75–100, its class among others 50–75, no GPU pods 25–50,
    only other classes 0–25, each tier plus `25 × (GPU max − node's GPU milli left) / GPU max`.
    CPU-only pods score 0 everywhere."""

    name = "gpu-clustering"

    def __init__(self) -> None:
        self._counts: dict[int, IntArray] = {}
        self._classes: IntArray = np.zeros(0, dtype=np.int64)

    @staticmethod
    def _class(req: PodRequest) -> int:
        return 0 if req.milli else req.gpus

    def _mine(self, state: ClusterState, req: PodRequest) -> IntArray:
        if self._classes.shape[0] != state.spec.nodes:
            self._classes = np.zeros(state.spec.nodes, dtype=np.int64)
            self._counts = {}
        key = self._class(req)
        if key not in self._counts:
            self._counts[key] = np.zeros(state.spec.nodes, dtype=np.int64)
        return self._counts[key]

    def score(self, state: ClusterState, req: PodRequest, feasible: BoolArray) -> IntArray:
        if not req.gpus:
            return np.zeros(state.spec.nodes, dtype=np.int64)
        mine = self._mine(state, req)
        gpu_max = int(largest_capacity(state.gpu_capacity))
        packing = MAX_SCORE // 4 * (gpu_max - state.gpu_free) // gpu_max
        tier = np.where(
            mine > 0,
            np.where(self._classes == 1, 3, 2),
            np.where(self._classes == 0, 1, 0),
        )
        result: IntArray = packing + tier * (MAX_SCORE // 4)
        return result

    def placed(self, state: ClusterState, node: int, req: PodRequest, delta: int) -> None:
        """Count a GPU pod of `req`'s class arriving (+1) on or leaving (−1) `node`."""
        if not req.gpus:
            return
        mine = self._mine(state, req)
        before = int(mine[node])
        mine[node] += delta
        if before == 0 and delta > 0:
            self._classes[node] += 1
        elif before + delta == 0 and delta < 0:
            self._classes[node] -= 1


_ALL = (ReferenceRandom, ReferenceBestFit, ReferenceDotProduct, ReferenceGpuPacking, ReferenceGpuClustering)
REFERENCE_POLICIES: dict[str, type[ReferencePolicy]] = {cls.name: cls for cls in _ALL}

__all__ = ["REFERENCE_POLICIES", "ReferencePolicy", "normalise"]
