"""The static shape of a simulated cluster: nodes × device slots, as numpy arrays.

A *device* is what the device plugin hands to a pod: a whole GPU, a MIG instance, or a
shared (time-sliced or MPS) GPU that holds `replicas` pods. Capacity is counted in
thousandths of a physical GPU ("milli"): a whole GPU is 1000, a MIG instance its share of
the GPU's compute slices, one replica of a shared GPU 1000 // replicas.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

import numpy as np
import numpy.typing as npt

from simulator.errors import InputError
from simulator.jobs import GPU_RESOURCE

MILLI = 1000
NO_DEVICE_COST = np.iinfo(np.int64).max // 4  # a cost no free capacity ever reaches


class DeviceKind(IntEnum):
    PLAIN = 0
    TIMESLICED = 1
    MPS = 2
    MIG = 3


class ModelError(InputError):
    """The desired state describes a cluster that cannot be built (terminal: fix the input)."""


@dataclass
class ClusterSpec:
    """Nodes and their devices. Arrays are `[node]` or `[node, slot]`; empty slots have kind -1."""

    node_names: list[str]
    cpu_milli: npt.NDArray[np.int64]
    memory_mib: npt.NDArray[np.int64]
    node_model: list[str]
    physical_gpus: npt.NDArray[np.int64]
    rack: npt.NDArray[np.int64]
    zone: npt.NDArray[np.int64]
    device_kind: npt.NDArray[np.int64]
    device_resource: npt.NDArray[np.int64]
    device_capacity: npt.NDArray[np.int64]
    whole_cost: npt.NDArray[np.int64]
    sm_share: npt.NDArray[np.float64]
    device_memory_mib: npt.NDArray[np.int64]
    device_gpu: npt.NDArray[np.int64]
    resources: list[str]

    @property
    def nodes(self) -> int:
        return len(self.node_names)

    @property
    def slots(self) -> int:
        return int(self.device_kind.shape[1])

    @property
    def total_gpus(self) -> int:
        return int(self.physical_gpus.sum())

    @property
    def total_milli(self) -> int:
        return self.total_gpus * MILLI

    def resource_id(self, name: str) -> int:
        """The id of extended resource `name`, or -1 if no device advertises it."""
        return self.resources.index(name) if name in self.resources else -1

    def describe(self) -> dict[str, object]:
        """A JSON-ready summary: node, GPU and device counts by model and resource."""
        by_model: dict[str, int] = {}
        for model, gpus in zip(self.node_model, self.physical_gpus.tolist(), strict=True):
            if gpus:
                by_model[model] = by_model.get(model, 0) + gpus
        devices: dict[str, int] = {}
        for res_id, name in enumerate(self.resources):
            count = int((self.device_resource == res_id).sum())
            if count:
                devices[name] = count
        return {
            "nodes": self.nodes,
            "gpus": self.total_gpus,
            "gpus_by_model": dict(sorted(by_model.items())),
            "devices_by_resource": dict(sorted(devices.items())),
        }


@dataclass
class DeviceRow:
    """One device while a node is being built."""

    kind: DeviceKind
    resource: str
    capacity: int
    replicas: int = 1
    sm_share: float = 1.0
    memory_mib: int = 0
    gpu: int = -1  # physical GPU of the node it lives on (-1: a GPU of its own)


def pack(  # noqa: PLR0917 - one list per node column, all required
    node_names: list[str],
    cpu_milli: list[int],
    memory_mib: list[int],
    node_model: list[str],
    physical_gpus: list[int],
    devices: list[list[DeviceRow]],
    rack: list[int] | None = None,
    zone: list[int] | None = None,
) -> ClusterSpec:
    """Turn per-node device lists into the spec's arrays."""
    n = len(node_names)
    slots = max((len(d) for d in devices), default=0) or 1
    resources = [GPU_RESOURCE]
    for row in (r for node in devices for r in node):
        if row.resource not in resources:
            resources.append(row.resource)
    kind = np.full((n, slots), -1, dtype=np.int64)
    resource = np.full((n, slots), -1, dtype=np.int64)
    capacity = np.zeros((n, slots), dtype=np.int64)
    cost = np.full((n, slots), NO_DEVICE_COST, dtype=np.int64)
    share = np.zeros((n, slots), dtype=np.float64)
    memory = np.zeros((n, slots), dtype=np.int64)
    gpu = np.full((n, slots), -1, dtype=np.int64)
    for i, node in enumerate(devices):
        for j, row in enumerate(node):
            kind[i, j] = int(row.kind)
            resource[i, j] = resources.index(row.resource)
            capacity[i, j] = row.capacity
            cost[i, j] = row.capacity // max(1, row.replicas)
            share[i, j] = row.sm_share
            memory[i, j] = row.memory_mib
            gpu[i, j] = row.gpu if row.gpu >= 0 else j
    return ClusterSpec(
        node_names=node_names,
        cpu_milli=np.asarray(cpu_milli, dtype=np.int64),
        memory_mib=np.asarray(memory_mib, dtype=np.int64),
        node_model=node_model,
        physical_gpus=np.asarray(physical_gpus, dtype=np.int64),
        rack=np.asarray(rack if rack is not None else range(n), dtype=np.int64),
        zone=np.asarray(zone if zone is not None else [0] * n, dtype=np.int64),
        device_kind=kind,
        device_resource=resource,
        device_capacity=capacity,
        whole_cost=cost,
        sm_share=share,
        device_memory_mib=memory,
        device_gpu=gpu,
        resources=resources,
    )
