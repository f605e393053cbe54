"""How fast a running job progresses on the devices it holds (see `SharingModel`).

A MIG instance advertised as a whole GPU (`single` strategy) or an MPS replica runs at
SM-share ** exponent(kind); k busy tenants of a time-sliced GPU each get (1/k)·(1 − overhead)
(a lone tenant gets the whole GPU); while every MIG instance of a GPU is busy, each runs
`mig_power_throttle` slower (the board's power limit). A gang moves at the pace of its
slowest device.

Devices whose pace depends on neighbours belong to an *interference group*: a time-sliced GPU
(its tenants), or a MIG-partitioned GPU with several instances (its instances' jobs). When a
job joins or leaves a group, the engine re-paces the group's other jobs.
"""

from __future__ import annotations

from simulator.cluster.spec import DeviceKind
from simulator.cluster.state import ClusterState
from simulator.config import SharingModel

TIMESLICED = int(DeviceKind.TIMESLICED)
MIG = int(DeviceKind.MIG)

Group = tuple[int, int, int]  # (node, kind of group, slot or GPU index)


class SpeedModel:
    def __init__(self, state: ClusterState, model: SharingModel, kinds: list[str]) -> None:
        self.state = state
        self.exponents = [model.exponent(k) for k in kinds]
        self.overheads = [model.overhead(k) for k in kinds]
        self.throttle = model.mig_power_throttle
        spec = state.spec
        self.kind_of_device = spec.device_kind
        self.sm_share = spec.sm_share
        self._kinds: list[list[int]] = spec.device_kind.tolist()
        self._gpu_of: list[list[int]] = spec.device_gpu.tolist()
        # MIG instances per physical GPU, for GPUs split into several instances.
        self.instances: dict[tuple[int, int], list[int]] = {}
        if self.throttle > 0:
            for node, (kinds_row, gpus_row) in enumerate(zip(self._kinds, self._gpu_of, strict=True)):
                for slot, (kind, gpu) in enumerate(zip(kinds_row, gpus_row, strict=True)):
                    if kind == MIG:
                        self.instances.setdefault((node, gpu), []).append(slot)
            self.instances = {key: slots for key, slots in self.instances.items() if len(slots) > 1}

    def group(self, node: int, slot: int) -> Group | None:
        """The interference group of a device, or None when its pace never depends on others."""
        kind = self._kinds[node][slot]
        if kind == TIMESLICED:
            return (node, TIMESLICED, slot)
        if kind == MIG and (node, self._gpu_of[node][slot]) in self.instances:
            return (node, MIG, self._gpu_of[node][slot])
        return None

    def node_has_groups(self, node: int) -> bool:
        return any(self.group(node, slot) is not None for slot in range(len(self._kinds[node])))

    def speed(self, kind: int, devices: list[tuple[int, int]]) -> float:
        """Progress per second (1.0 = full speed on the requested resource) of a job of `kind`."""
        slowest = 1.0
        tenants = self.state.tenants
        for node, slot in devices:
            share = float(self.sm_share[node, slot])
            pace = share ** self.exponents[kind] if share < 1.0 else 1.0
            device_kind = self._kinds[node][slot]
            if device_kind == TIMESLICED:
                busy = int(tenants[node, slot])
                if busy > 1:
                    pace *= (1.0 - self.overheads[kind]) / busy
            elif device_kind == MIG:
                siblings = self.instances.get((node, self._gpu_of[node][slot]))
                if siblings and all(tenants[node, s] > 0 for s in siblings):
                    pace *= 1.0 - self.throttle
            slowest = min(slowest, pace)
        return slowest
