"""Placement policies that score nodes from their free capacity (definitions in the shared
traces README and kube-scheduler's NodeResourcesFit strategies).

Scores are computed for every node at once (cheaper than gathering the feasible ones first);
the caller masks infeasible nodes. CPU and GPU terms are normalised by the largest node's
capacity, as the FGD paper does.
"""

from __future__ import annotations

import numpy as np

from simulator.cluster.state import ClusterState, IntArray, PodRequest
from simulator.placement.base import FloatArray, ScoringPolicy


def largest_capacity(values: IntArray) -> float:
    """The largest of `values` as a float normaliser (at least 1)."""
    return float(max(1, int(values.max()))) if values.shape[0] else 1.0


class LeastAllocated(ScoringPolicy):
    """`k8s-default-gpuctl`: LeastAllocated with equal weights: the free fractions of
    CPU, memory and GPU left on the node after placement, summed (same order as their mean; a
    resource the node lacks scores 0). Spreads load."""

    name = "k8s-default-gpuctl"

    def __init__(self) -> None:
        self._for: ClusterState | None = None
        self._inverse = (np.zeros(0), np.zeros(0), np.zeros(0))
        self._free_sum: FloatArray = np.zeros(0)  # Σ free fraction of CPU, memory, GPU per node
        self._request_terms: dict[PodRequest, FloatArray] = {}  # what each request shape takes

    def _node_sum(self, state: ClusterState, node: int | slice) -> FloatArray:
        cpu, mem, gpu = self._inverse
        result: FloatArray = state.cpu_free[node] * cpu[node] + state.memory_free[node] * mem[node]
        result += state.gpu_free[node] * gpu[node]
        return result

    def free_fraction(self, state: ClusterState, req: PodRequest) -> FloatArray:
        """Σ of the CPU, memory and GPU fractions each node would have free after placing `req`
        (kept per node and updated in `placed`, so a pod costs one vector operation)."""
        if self._for is not state:
            spec = state.spec
            self._inverse = (
                1.0 / np.maximum(spec.cpu_milli, 1),
                1.0 / np.maximum(spec.memory_mib, 1),
                np.where(state.gpu_capacity > 0, 1.0 / np.maximum(state.gpu_capacity, 1), 0.0),
            )
            self._free_sum = self._node_sum(state, slice(None))
            self._request_terms = {}
            self._for = state
        term = self._request_terms.get(req)
        if term is None:
            cpu, mem, gpu = self._inverse
            term = req.cpu_milli * cpu + req.memory_mib * mem + req.gpu_milli * gpu
            self._request_terms[req] = term
        result: FloatArray = self._free_sum - term
        return result

    def score(self, state: ClusterState, req: PodRequest) -> FloatArray:
        return self.free_fraction(state, req)

    def placed(self, state: ClusterState, node: int, req: PodRequest, delta: int) -> None:
        """Refresh the node's free-fraction sum after its capacity changed."""
        if self._for is state:
            self._free_sum[node] = self._node_sum(state, node)


class MostAllocated(LeastAllocated):
    """`bin-pack`: kube-scheduler's MostAllocated, the opposite score (packs nodes)."""

    name = "bin-pack"

    def score(self, state: ClusterState, req: PodRequest) -> FloatArray:
        return -self.free_fraction(state, req)


class RandomPolicy(ScoringPolicy):
    """`random-gpuctl`: any feasible node, uniformly; the tightest GPU inside it."""

    name = "random-gpuctl"

    def score(self, state: ClusterState, req: PodRequest) -> FloatArray:
        return np.zeros(state.spec.nodes)


class BestFit(ScoringPolicy):
    """`best-fit-gpuctl`: the smallest weighted leftover (0.5 CPU + 0.5 GPU, each normalised by the
    largest node) after placement."""

    name = "best-fit-gpuctl"

    def score(self, state: ClusterState, req: PodRequest) -> FloatArray:
        cpu = (state.cpu_free - req.cpu_milli) / largest_capacity(state.spec.cpu_milli)
        gpu = (state.gpu_free - req.gpu_milli) / largest_capacity(state.gpu_capacity)
        result: FloatArray = -(0.5 * cpu + 0.5 * gpu)
        return result


class DotProduct(ScoringPolicy):
    """`dot-product-gpuctl`: the largest dot product of the node's free (CPU, GPU) vector and the
    pod's request, both normalised by the largest node (Tetris alignment)."""

    name = "dot-product-gpuctl"

    def score(self, state: ClusterState, req: PodRequest) -> FloatArray:
        cpu_max, gpu_max = largest_capacity(state.spec.cpu_milli), largest_capacity(state.gpu_capacity)
        result: FloatArray = state.cpu_free * (req.cpu_milli / cpu_max**2) + state.gpu_free * (
            req.gpu_milli / gpu_max**2
        )
        return result


class GpuPacking(ScoringPolicy):
    """`gpu-packing-gpuctl`: prefer a GPU already partly shared (sharing pods), then free GPUs on
    nodes already in use, then completely free nodes."""

    name = "gpu-packing-gpuctl"

    def score(self, state: ClusterState, req: PodRequest) -> FloatArray:
        in_use = (state.gpu_free < state.gpu_capacity) | (state.pods_on_node > 0)
        score = np.where(in_use, 1.0, 0.0)
        if req.milli:
            free = state.free
            partly = state.fraction_capable & (free >= req.milli) & (free < 1000)
            score = np.where(partly.any(axis=1), 2.0, score)
        return score


class GpuClustering(ScoringPolicy):
    """`gpu-clustering-gpuctl`: prefer nodes already running pods with the same GPU request shape
    (count and share), so alike pods cluster; equal counts fall back to random."""

    name = "gpu-clustering-gpuctl"

    def __init__(self) -> None:
        self._shape_counts: dict[tuple[int, int], IntArray] = {}

    def counts(self, state: ClusterState, req: PodRequest) -> IntArray:
        key = (req.gpus, req.milli)
        if key not in self._shape_counts:
            self._shape_counts[key] = np.zeros(state.spec.nodes, dtype=np.int64)
        return self._shape_counts[key]

    def score(self, state: ClusterState, req: PodRequest) -> FloatArray:
        result: FloatArray = self.counts(state, req).astype(np.float64)
        return result

    def placed(self, state: ClusterState, node: int, req: PodRequest, delta: int) -> None:
        """Count a pod of `req`'s shape arriving (+1) on or leaving (−1) `node`."""
        self.counts(state, req)[node] += delta
