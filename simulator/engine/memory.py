"""GPU memory failures (optional, `SharingModel.oom_on_oversubscription`): a job whose stated
working set per device (`JobTable.gpu_memory_mib`) does not fit fails when it starts.

Dedicated devices and MPS replicas have their own memory (an MPS client is capped at
total ÷ replicas); a time-sliced GPU has none of its own per tenant, so it fails the newcomer
when the working sets of all its tenants add up to more than the GPU's memory. Devices of
unknown memory (a trace's node list) never fail. No SimPy here.
"""

from __future__ import annotations

from simulator.cluster.spec import ClusterSpec, DeviceKind
from simulator.placement import Placement

TIMESLICED = int(DeviceKind.TIMESLICED)

Device = tuple[int, int]


class DeviceMemory:
    """Working sets held on time-sliced GPUs, and the check made when a job starts."""

    def __init__(self, spec: ClusterSpec, working_set_mib: list[int]) -> None:
        self._capacity: list[list[int]] = spec.device_memory_mib.tolist()
        self._kind: list[list[int]] = spec.device_kind.tolist()
        self._need = working_set_mib
        self._used: dict[Device, int] = {}
        self._held: dict[int, list[Device]] = {}

    def take(self, job: int, placements: list[Placement]) -> str:
        """Charge the job's working set to its devices; the failure reason ("" if it fits)."""
        need = self._need[job]
        if not need:
            return ""
        shared: list[Device] = []
        adding: dict[Device, int] = {}
        for placement in placements:
            for slot in placement.devices:
                capacity = self._capacity[placement.node][slot]
                if capacity <= 0:
                    continue
                if self._kind[placement.node][slot] != TIMESLICED:
                    if need > capacity:
                        return f"working set of {need} MiB exceeds the {capacity} MiB of its GPU device"
                    continue
                device = (placement.node, slot)
                adding[device] = adding.get(device, 0) + need
                if self._used.get(device, 0) + adding[device] > capacity:
                    return f"time-sliced GPU memory oversubscribed ({capacity} MiB shared by its tenants)"
                shared.append(device)
        for device, amount in adding.items():
            self._used[device] = self._used.get(device, 0) + amount
        self._held[job] = shared
        return ""

    def give_back(self, job: int) -> None:
        """Release what `take` charged for a job that leaves."""
        need = self._need[job]
        for device in self._held.pop(job, []):
            self._used[device] -= need
