"""`k8s-default`: what stock kube-scheduler's default profile scores for a plain pod (no
affinity, spread constraints, tolerations, volumes or images).

Of the default score plugins only two tell nodes apart for such a pod, both with weight 1:
- NodeResourcesFit, strategy LeastAllocated over CPU and memory (weight 1 each; extended
  resources such as `nvidia.com/gpu` are not scored by default): per resource
  `(allocatable − requested) × 100 // allocatable` (0 when over), then their mean in integers.
  `requested` counts every pod that asks for no CPU as 100 millicores and for no memory as
  200 MiB (kube-scheduler's non-zero defaults), the incoming pod included.
- NodeResourcesBalancedAllocation over CPU and memory: the requested fractions (capped at 1,
  without the non-zero defaults), `int((1 − |f_cpu − f_mem| / 2) × 100)`.
TaintToleration, NodeAffinity, PodTopologySpread, InterPodAffinity and ImageLocality give every
node the same score for such a pod. The node with the highest sum wins; equal sums are drawn
uniformly at random (kube-scheduler's `selectHost`).

Not modelled: on clusters of more than 100 nodes kube-scheduler scores only a sample of the
feasible nodes (`percentageOfNodesToScore`, adaptive by default), found from a rotating start.
"""

from __future__ import annotations

import numpy as np

from simulator.cluster.state import BoolArray, ClusterState, IntArray, PodRequest
from simulator.placement.base import FloatArray, Placement, TieBreaker, pick_best

MAX_SCORE = 100
DEFAULT_CPU_MILLI = 100  # kube-scheduler's non-zero request for a pod that asks for no CPU
DEFAULT_MEMORY_MIB = 200  # … and for no memory


class KubeDefault:
    """kube-scheduler's default scoring for plain pods: LeastAllocated + BalancedAllocation."""

    name = "k8s-default"

    def __init__(self) -> None:
        self._for: ClusterState | None = None
        self._cpu_default: IntArray = np.zeros(0, dtype=np.int64)  # non-zero defaults on each node
        self._memory_default: IntArray = np.zeros(0, dtype=np.int64)

    def _bind(self, state: ClusterState) -> None:
        if self._for is not state:
            self._for = state
            self._cpu_default = np.zeros(state.spec.nodes, dtype=np.int64)
            self._memory_default = np.zeros(state.spec.nodes, dtype=np.int64)

    def score(self, state: ClusterState, req: PodRequest) -> IntArray:
        """LeastAllocated + BalancedAllocation of every node, as integers."""
        self._bind(state)
        cpu_alloc, memory_alloc = state.spec.cpu_milli, state.spec.memory_mib
        cpu_used = cpu_alloc - state.cpu_free + req.cpu_milli
        memory_used = memory_alloc - state.memory_free + req.memory_mib
        cpu_nonzero = cpu_used + self._cpu_default + (0 if req.cpu_milli else DEFAULT_CPU_MILLI)
        memory_nonzero = memory_used + self._memory_default + (0 if req.memory_mib else DEFAULT_MEMORY_MIB)
        least = _least_requested(cpu_nonzero, cpu_alloc) + _least_requested(memory_nonzero, memory_alloc)
        least //= 2
        result: IntArray = least + _balanced(cpu_used, cpu_alloc, memory_used, memory_alloc)
        return result

    def place(self, state: ClusterState, req: PodRequest, feasible: BoolArray, ties: TieBreaker) -> Placement:
        scores: FloatArray = self.score(state, req).astype(np.float64)
        node = pick_best(scores, feasible, ties)
        return Placement(node, state.default_devices(node, req))

    def placed(self, state: ClusterState, node: int, req: PodRequest, delta: int) -> None:
        """Count the non-zero defaults of a pod that asks for no CPU or no memory."""
        self._bind(state)
        if not req.cpu_milli:
            self._cpu_default[node] += DEFAULT_CPU_MILLI * delta
        if not req.memory_mib:
            self._memory_default[node] += DEFAULT_MEMORY_MIB * delta


def _least_requested(requested: IntArray, allocatable: IntArray) -> IntArray:
    """`(allocatable − requested) × 100 // allocatable`; 0 when over or nothing allocatable."""
    safe = np.maximum(allocatable, 1)
    score = (allocatable - requested) * MAX_SCORE // safe
    result: IntArray = np.where((allocatable == 0) | (requested > allocatable), 0, score)
    return result


def _balanced(
    cpu_used: IntArray, cpu_alloc: IntArray, memory_used: IntArray, memory_alloc: IntArray
) -> IntArray:
    """`int((1 − |f_cpu − f_mem| / 2) × 100)` with the fractions capped at 1; a resource the node
    lacks is left out (one resource left: std 0, score 100)."""
    cpu = np.minimum(cpu_used / np.maximum(cpu_alloc, 1), 1.0)
    memory = np.minimum(memory_used / np.maximum(memory_alloc, 1), 1.0)
    std = np.where((cpu_alloc > 0) & (memory_alloc > 0), np.abs((cpu - memory) / 2), 0.0)
    result: IntArray = np.trunc((1.0 - std) * MAX_SCORE).astype(np.int64)
    return result
