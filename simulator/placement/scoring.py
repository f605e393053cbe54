"""Placement policies that score nodes from their free capacity (definitions in the shared
traces README and kube-scheduler's NodeResourcesFit strategies).

CPU and GPU terms are normalised by the largest node's capacity, as the FGD paper does.
"""

from __future__ import annotations

import numpy as np

from simulator.cluster.state import ClusterState, IntArray, PodRequest
from simulator.placement.base import FloatArray, ScoringPolicy


def _largest(values: IntArray) -> float:
    return float(max(1, int(values.max()))) if values.shape[0] else 1.0


class LeastAllocated(ScoringPolicy):
    """`k8s-default`: kube-scheduler's LeastAllocated, the mean free fraction of CPU, memory and
    GPU left on the node after placement (spreads load)."""

    name = "k8s-default"

    def free_fraction(self, state: ClusterState, req: PodRequest, candidates: IntArray) -> FloatArray:
        spec = state.spec
        cpu = (state.cpu_free[candidates] - req.cpu_milli) / np.maximum(spec.cpu_milli[candidates], 1)
        mem = (state.memory_free[candidates] - req.memory_mib) / np.maximum(spec.memory_mib[candidates], 1)
        cap = state.gpu_capacity[candidates]
        gpu = np.where(cap > 0, (state.gpu_free[candidates] - req.gpu_milli) / np.maximum(cap, 1), 1.0)
        result: FloatArray = (cpu + mem + gpu) / 3.0
        return result

    def score(self, state: ClusterState, req: PodRequest, candidates: IntArray) -> FloatArray:
        return self.free_fraction(state, req, candidates)


class MostAllocated(LeastAllocated):
    """`bin-pack`: kube-scheduler's MostAllocated, the opposite score (packs nodes)."""

    name = "bin-pack"

    def score(self, state: ClusterState, req: PodRequest, candidates: IntArray) -> FloatArray:
        return -self.free_fraction(state, req, candidates)


class RandomPolicy(ScoringPolicy):
    """`random`: any feasible node, uniformly."""

    name = "random"

    def score(self, state: ClusterState, req: PodRequest, candidates: IntArray) -> FloatArray:
        return np.zeros(candidates.shape[0])


class BestFit(ScoringPolicy):
    """`best-fit`: the smallest weighted leftover (0.5 CPU + 0.5 GPU, each normalised by the
    largest node) after placement."""

    name = "best-fit"

    def score(self, state: ClusterState, req: PodRequest, candidates: IntArray) -> FloatArray:
        cpu = (state.cpu_free[candidates] - req.cpu_milli) / _largest(state.spec.cpu_milli)
        gpu = (state.gpu_free[candidates] - req.gpu_milli) / _largest(state.gpu_capacity)
        result: FloatArray = -(0.5 * cpu + 0.5 * gpu)
        return result


class DotProduct(ScoringPolicy):
    """`dot-product`: the largest dot product of the node's free (CPU, GPU) vector and the
    pod's request, both normalised by the largest node (Tetris alignment)."""

    name = "dot-product"

    def score(self, state: ClusterState, req: PodRequest, candidates: IntArray) -> FloatArray:
        cpu_max, gpu_max = _largest(state.spec.cpu_milli), _largest(state.gpu_capacity)
        result: FloatArray = (state.cpu_free[candidates] / cpu_max) * (req.cpu_milli / cpu_max) + (
            state.gpu_free[candidates] / gpu_max
        ) * (req.gpu_milli / gpu_max)
        return result


class GpuPacking(ScoringPolicy):
    """`gpu-packing`: prefer a GPU already partly shared (sharing pods), then free GPUs on
    nodes already in use, then completely free nodes."""

    name = "gpu-packing"

    def score(self, state: ClusterState, req: PodRequest, candidates: IntArray) -> FloatArray:
        in_use = (state.gpu_free[candidates] < state.gpu_capacity[candidates]) | (
            state.pods_on_node[candidates] > 0
        )
        score = np.where(in_use, 1.0, 0.0)
        if req.milli:
            free = state.free[candidates]
            partly = state.fraction_capable[candidates] & (free >= req.milli) & (free < 1000)
            score = np.where(partly.any(axis=1), 2.0, score)
        return score


class GpuClustering(ScoringPolicy):
    """`gpu-clustering`: prefer nodes already running pods with the same GPU request shape
    (count and share), so alike pods cluster; equal counts fall back to random."""

    name = "gpu-clustering"

    def __init__(self) -> None:
        self._shape_counts: dict[tuple[int, int], IntArray] = {}

    def counts(self, state: ClusterState, req: PodRequest) -> IntArray:
        key = (req.gpus, req.milli)
        if key not in self._shape_counts:
            self._shape_counts[key] = np.zeros(state.spec.nodes, dtype=np.int64)
        return self._shape_counts[key]

    def score(self, state: ClusterState, req: PodRequest, candidates: IntArray) -> FloatArray:
        result: FloatArray = self.counts(state, req)[candidates].astype(np.float64)
        return result

    def placed(self, state: ClusterState, node: int, req: PodRequest, delta: int) -> None:
        """Count a pod of `req`'s shape arriving (+1) on or leaving (−1) `node`."""
        self.counts(state, req)[node] += delta
