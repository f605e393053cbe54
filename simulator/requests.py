"""Binding a `JobTable` to a cluster: per-job pod requests in the cluster's resource and model
ids, gang placement with topology preference, and the check that a job can ever fit.

Shared by the inflate and replay engines. No SimPy here.
"""

from __future__ import annotations

import numpy as np

from simulator.cluster.spec import ClusterSpec
from simulator.cluster.state import ClusterState, IntArray, PodRequest
from simulator.jobs import JobTable
from simulator.placement.base import Placement, PlacementPolicy


class BoundJobs:
    """The jobs of a table as `PodRequest`s of one cluster (one request object per shape)."""

    def __init__(self, jobs: JobTable, state: ClusterState) -> None:
        self.jobs = jobs
        spec = state.spec
        res_map = np.array([spec.resource_id(name) for name in jobs.resources], dtype=np.int64)
        self.resource: IntArray = res_map[jobs.resource] if len(jobs) else np.zeros(0, dtype=np.int64)
        self.model_mask: IntArray = state.translate_masks(jobs.models, jobs.model_mask)
        self._cache: dict[tuple[int, ...], PodRequest] = {}
        self._columns = (
            self.resource.tolist(),
            jobs.gpus.tolist(),
            jobs.milli.tolist(),
            jobs.cpu_milli.tolist(),
            jobs.memory_mib.tolist(),
            self.model_mask.tolist(),
        )

    def request(self, index: int) -> PodRequest:
        """The per-pod request of job `index`."""
        key = tuple(col[index] for col in self._columns)
        req = self._cache.get(key)
        if req is None:
            req = PodRequest(*key)
            self._cache[key] = req
        return req


def place_gang(
    state: ClusterState, policy: PlacementPolicy, req: PodRequest, pods: int, rng: np.random.Generator
) -> list[Placement] | None:
    """Place all `pods` pods of a gang or none. After the first pod, later pods prefer the
    first pod's rack, then its zone. Allocates on success; leaves `state` unchanged on failure."""
    done: list[Placement] = []
    spec = state.spec
    for _ in range(pods):
        feasible = state.feasible(req)
        candidates = np.flatnonzero(feasible)
        if candidates.shape[0] == 0:
            for placement in reversed(done):
                state.release(placement.node, placement.devices, req)
                policy.placed(state, placement.node, req, -1)
            return None
        if done:
            first = done[0].node
            same_rack = candidates[spec.rack[candidates] == spec.rack[first]]
            if same_rack.shape[0]:
                candidates = same_rack
            else:
                same_zone = candidates[spec.zone[candidates] == spec.zone[first]]
                candidates = same_zone if same_zone.shape[0] else candidates
        placement = policy.place(state, req, candidates, rng)
        state.allocate(placement.node, placement.devices, req)
        policy.placed(state, placement.node, req, +1)
        done.append(placement)
    return done


def never_fits(spec: ClusterSpec, empty: ClusterState, req: PodRequest, pods: int, resource_name: str) -> str:
    """Why a gang of `pods` × `req` cannot run even on the empty cluster; "" when it can."""
    if req.gpus and not req.milli and req.resource < 0:
        return f"no node advertises {resource_name}"
    fits = empty.feasible(req)
    if not fits.any():
        if req.model_mask and not ((empty.node_model_bits & req.model_mask) != 0).any():
            return "no node has an allowed GPU model"
        what = f"{req.milli} milli of one GPU" if req.milli else f"{req.gpus} × {resource_name}"
        return (f"no node can hold one pod ({what}, {req.cpu_milli} mCPU, {req.memory_mib} MiB) "
                "even when empty")
    per_node = np.minimum(
        empty.cpu_free // max(req.cpu_milli, 1) if req.cpu_milli else np.full(spec.nodes, pods),
        empty.memory_free // max(req.memory_mib, 1) if req.memory_mib else np.full(spec.nodes, pods),
    )
    if req.gpus and not req.milli:
        per_node = np.minimum(per_node, _replicas_per_node(empty, req))
    capacity = int(np.where(fits, per_node, 0).sum())
    if capacity < pods:
        return f"the gang needs {pods} pods at once; the empty cluster holds at most {capacity}"
    return ""


def _replicas_per_node(empty: ClusterState, req: PodRequest) -> IntArray:
    """How many pods of `req` fit one empty node by its devices (shared devices hold several)."""
    mine = empty.spec.device_resource == req.resource
    slots_per_device = np.where(mine, empty.free // np.maximum(empty.cost, 1), 0)
    result: IntArray = slots_per_device.sum(axis=1) // max(req.gpus, 1)
    return result
