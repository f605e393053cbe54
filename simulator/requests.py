"""Binding a `JobTable` to a cluster: per-job pod requests in the cluster's resource and model
ids, gang placement with topology preference, and the check that a job can ever fit.

Shared by the inflate and replay engines. No SimPy here.
"""

from __future__ import annotations

import numpy as np

from simulator.cluster.spec import ClusterSpec
from simulator.cluster.state import ClusterState, IntArray, PodRequest
from simulator.jobs import JobTable
from simulator.placement.base import Placement, PlacementPolicy, TieBreaker


class BoundJobs:
    """The jobs of a table as `PodRequest`s of one cluster (one request object per shape)."""

    def __init__(self, jobs: JobTable, state: ClusterState) -> None:
        self.jobs = jobs
        spec = state.spec
        res_map = np.array([spec.resource_id(name) for name in jobs.resources], dtype=np.int64)
        self.resource: IntArray = res_map[jobs.resource] if len(jobs) else np.zeros(0, dtype=np.int64)
        self.model_mask: IntArray = state.translate_masks(jobs.models, jobs.model_mask)
        columns = (
            np.stack(
                [self.resource, jobs.gpus, jobs.milli, jobs.cpu_milli, jobs.memory_mib, self.model_mask],
                axis=1,
            )
            if len(jobs)
            else np.zeros((0, 6), dtype=np.int64)
        )
        shapes, inverse = np.unique(columns, axis=0, return_inverse=True)
        self.shapes = [PodRequest(*(int(v) for v in row)) for row in shapes.tolist()]
        self.shape_index: list[int] = inverse.reshape(-1).tolist()

    def request(self, index: int) -> PodRequest:
        """The per-pod request of job `index`."""
        return self.shapes[self.shape_index[index]]


def place_gang(
    state: ClusterState, policy: PlacementPolicy, req: PodRequest, pods: int, ties: TieBreaker
) -> list[Placement] | None:
    """Place all `pods` pods of a gang or none. After the first pod, later pods prefer the
    first pod's rack, then its zone. Allocates on success; leaves `state` unchanged on failure."""
    if pods == 1:  # the common case, without the gang bookkeeping
        feasible = state.feasible(req)
        if not feasible.any():
            return None
        placement = policy.place(state, req, feasible, ties)
        state.allocate(placement.node, placement.devices, req)
        policy.placed(state, placement.node, req, +1)
        return [placement]
    done: list[Placement] = []
    spec = state.spec
    for _ in range(pods):
        feasible = state.feasible(req)
        if not feasible.any():
            for placement in reversed(done):
                state.release(placement.node, placement.devices, req)
                policy.placed(state, placement.node, req, -1)
            return None
        if done:
            first = done[0].node
            same_rack = feasible & (spec.rack == spec.rack[first])
            same_zone = feasible & (spec.zone == spec.zone[first])
            if same_rack.any():
                feasible = same_rack
            elif same_zone.any():
                feasible = same_zone
        placement = policy.place(state, req, feasible, ties)
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
        return (
            f"no node can hold one pod ({what}, {req.cpu_milli} mCPU, {req.memory_mib} MiB) even when empty"
        )
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
