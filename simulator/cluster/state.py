"""Free capacity of a simulated cluster and the one way to change it: allocate / release a pod.

Per node it keeps the aggregates placement needs, updated incrementally after each change
(never rescanned for the whole cluster): whole devices free per resource, the largest free
share on a fraction-capable GPU, free GPU milli, and a version counter that caches
(the fragmentation policy's) use to know which nodes changed.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from simulator.cluster.spec import ClusterSpec, DeviceKind
from simulator.jobs import GPU_RESOURCE

IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]
NO_MODEL_BIT = 1 << 62  # a model bit no node carries


@dataclass(frozen=True, slots=True)
class PodRequest:
    """What one pod asks for. `resource` is the cluster's resource id (-1: advertised nowhere);
    `milli` > 0 asks for that share of one GPU, else `gpus` whole devices; `model_mask` is a
    bit mask over the cluster's GPU models (0: any)."""

    resource: int
    gpus: int
    milli: int
    cpu_milli: int
    memory_mib: int
    model_mask: int

    @property
    def gpu_milli(self) -> int:
        """Requested GPU in thousandths, counting a whole device as 1000."""
        return self.milli if self.milli else 1000 * self.gpus

    @property
    def shape(self) -> tuple[int, int, int, int, int, int]:
        return (self.resource, self.gpus, self.milli, self.cpu_milli, self.memory_mib, self.model_mask)


class ClusterState:
    """Mutable free capacity of a `ClusterSpec`."""

    def __init__(self, spec: ClusterSpec) -> None:
        self.spec = spec
        n = spec.nodes
        self.free: IntArray = spec.device_capacity.copy()
        self.cost: IntArray = spec.whole_cost
        self.tenants: IntArray = np.zeros_like(self.free)
        self.cpu_free: IntArray = spec.cpu_milli.copy()
        self.memory_free: IntArray = spec.memory_mib.copy()
        self.gpu_capacity: IntArray = spec.device_capacity.sum(axis=1)
        self.gpu_free: IntArray = self.gpu_capacity.copy()
        self.version: IntArray = np.zeros(n, dtype=np.int64)
        self.pods_on_node: IntArray = np.zeros(n, dtype=np.int64)
        gpu_id = spec.resource_id(GPU_RESOURCE)
        self.fraction_capable: BoolArray = (spec.device_kind == int(DeviceKind.PLAIN)) & (
            spec.device_resource == gpu_id
        )
        self.whole_free: IntArray = np.zeros((len(spec.resources), n), dtype=np.int64)
        self.fraction_max: IntArray = np.full(n, -1, dtype=np.int64)
        self._node_resources = [sorted(set(row[row >= 0].tolist())) for row in spec.device_resource]
        self.allocated_milli = 0
        models = sorted({m for m in spec.node_model if m})
        self.models = models
        self.node_model_bits: IntArray = np.array(
            [1 << models.index(m) if m else 0 for m in spec.node_model], dtype=np.int64
        )
        for node in range(n):
            self._refresh(node)
        self.whole_free_total: list[int] = self.whole_free.sum(axis=1).tolist()
        self._fraction_stale: BoolArray = np.zeros(n, dtype=np.bool_)
        # Nodes whose devices are all dedicated (whole GPUs or MIG instances, nothing shared).
        self.dedicated_node = [
            bool(((k == int(DeviceKind.PLAIN)) | (k == int(DeviceKind.MIG)) | (k < 0)).all())
            for k in spec.device_kind
        ]
        self._cost_rows: list[list[int]] = self.cost.tolist()
        self._resource_rows: list[list[int]] = spec.device_resource.tolist()
        self._fraction_rows: list[list[bool]] = self.fraction_capable.tolist()

    # ------------------------------------------------------------------ queries

    def translate_masks(self, job_models: list[str], masks: IntArray) -> IntArray:
        """Job model masks (bits over `job_models`) as masks over this cluster's models. A job
        that names only models the cluster lacks gets a bit no node has, so it fits nowhere."""
        bits = np.array([1 << self.models.index(m) if m in self.models else 0 for m in job_models] or [0])
        out = np.zeros_like(masks)
        for index, bit in enumerate(bits.tolist()):
            out |= np.where((masks >> index) & 1, bit, 0)
        return np.where((masks != 0) & (out == 0), NO_MODEL_BIT, out)

    def feasible(self, req: PodRequest) -> BoolArray:
        """Nodes where one pod of `req` fits now."""
        if req.milli:
            self._refresh_fraction_max()
            ok: BoolArray = self.fraction_max >= req.milli
        elif req.gpus:
            if req.resource < 0:
                return np.zeros(self.spec.nodes, dtype=np.bool_)
            ok = self.whole_free[req.resource] >= req.gpus
        else:
            ok = np.ones(self.spec.nodes, dtype=np.bool_)
        if req.cpu_milli:
            ok &= self.cpu_free >= req.cpu_milli
        if req.memory_mib:
            ok &= self.memory_free >= req.memory_mib
        if req.model_mask:
            ok &= (self.node_model_bits & req.model_mask) != 0
        return ok

    def eligible_devices(self, node: int, req: PodRequest) -> IntArray:
        """Device slots of `node` that can take (one device's share of) `req`."""
        row = self.free[node]
        if req.milli:
            mask = self.fraction_capable[node] & (row >= req.milli)
        else:
            mask = (self.spec.device_resource[node] == req.resource) & (row >= self.cost[node])
        return np.flatnonzero(mask)

    def default_devices(self, node: int, req: PodRequest) -> list[int]:
        """Devices the device plugin would hand out: for a fraction the tightest GPU that fits;
        for whole devices the ones with the most free capacity (spreads shared replicas)."""
        if not req.gpus:
            return []
        if not req.milli and self.dedicated_node[node]:  # dedicated devices are alike: the first ones
            row, cost, res = self.free[node].tolist(), self._cost_rows[node], self._resource_rows[node]
            return [s for s in range(len(row)) if res[s] == req.resource and row[s] >= cost[s]][: req.gpus]
        slots = self.eligible_devices(node, req)
        row = self.free[node, slots]
        if req.milli:
            return [int(slots[int(np.argmin(row))])]
        order = np.argsort(-row, kind="stable")[: req.gpus]
        return [int(s) for s in slots[order]]

    # ------------------------------------------------------------------ changes

    def allocate(self, node: int, devices: list[int], req: PodRequest) -> None:
        """Take `req` on `node`, using `devices` (checked: raises if anything does not fit)."""
        free = self.free
        for slot in devices:
            if free[node, slot] < (req.milli or self.cost[node, slot]):
                raise ValueError(f"device {slot} of node {node} lacks capacity for {req}")
        if self.cpu_free[node] < req.cpu_milli or self.memory_free[node] < req.memory_mib:
            raise ValueError(f"node {node} lacks CPU or memory for {req}")
        for slot in devices:
            self._change(node, slot, -(req.milli or self._cost_rows[node][slot]))
        self.cpu_free[node] -= req.cpu_milli
        self.memory_free[node] -= req.memory_mib
        self.pods_on_node[node] += 1
        self.version[node] += 1

    def release(self, node: int, devices: list[int], req: PodRequest) -> None:
        """Give back what `allocate(node, devices, req)` took."""
        for slot in devices:
            self._change(node, slot, req.milli or self._cost_rows[node][slot])
        self.cpu_free[node] += req.cpu_milli
        self.memory_free[node] += req.memory_mib
        self.pods_on_node[node] -= 1
        self.version[node] += 1

    def _change(self, node: int, slot: int, delta: int) -> None:
        """Add `delta` milli to one device's free capacity and fix the node's aggregates."""
        old = int(self.free[node, slot])
        new = old + delta
        self.free[node, slot] = new
        self.tenants[node, slot] += 1 if delta < 0 else -1
        self.allocated_milli -= delta
        self.gpu_free[node] += delta
        cost = self._cost_rows[node][slot]
        if (old >= cost) != (new >= cost):
            step = 1 if new >= cost else -1
            resource = self._resource_rows[node][slot]
            self.whole_free[resource, node] += step
            self.whole_free_total[resource] += step
        if self._fraction_rows[node][slot]:
            self._fraction_stale[node] = True

    def _refresh_fraction_max(self) -> None:
        """Recompute, for nodes changed since the last call, the largest free share of a
        fraction-capable GPU (lazily, in one vector operation)."""
        stale = np.flatnonzero(self._fraction_stale)
        if stale.shape[0]:
            rows = np.where(self.fraction_capable[stale], self.free[stale], -1)
            self.fraction_max[stale] = rows.max(axis=1) if rows.shape[1] else -1
            self._fraction_stale[stale] = False

    def _refresh(self, node: int) -> None:
        """Recompute a node's aggregates from its device row (initialisation)."""
        row = self.free[node]
        eligible = row >= self.cost[node]
        for res in self._node_resources[node]:
            self.whole_free[res, node] = int((eligible & (self.spec.device_resource[node] == res)).sum())
        capable = self.fraction_capable[node]
        self.fraction_max[node] = int(row[capable].max()) if capable.any() else -1
        self.gpu_free[node] = int(row.sum())
