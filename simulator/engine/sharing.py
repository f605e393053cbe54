"""How fast a running job progresses on the devices it holds (see `SharingModel`).

A MIG instance advertised as a whole GPU (`single` strategy) or an MPS replica runs at
SM-share ** exponent(kind); k busy tenants of a time-sliced GPU each get (1/k)·(1 − overhead)
(a lone tenant gets the whole GPU). A gang moves at the pace of its slowest device.
"""

from __future__ import annotations

from simulator.cluster.spec import DeviceKind
from simulator.cluster.state import ClusterState
from simulator.config import SharingModel

TIMESLICED = int(DeviceKind.TIMESLICED)


class SpeedModel:
    def __init__(self, state: ClusterState, model: SharingModel, kinds: list[str]) -> None:
        self.state = state
        self.exponents = [model.exponent(k) for k in kinds]
        self.overheads = [model.overhead(k) for k in kinds]
        self.kind_of_device = state.spec.device_kind
        self.sm_share = state.spec.sm_share

    def is_timesliced(self, node: int, slot: int) -> bool:
        return int(self.kind_of_device[node, slot]) == TIMESLICED

    def speed(self, kind: int, devices: list[tuple[int, int]]) -> float:
        """Progress per second (1.0 = full speed on the requested resource) of a job of `kind`."""
        slowest = 1.0
        tenants = self.state.tenants
        for node, slot in devices:
            share = float(self.sm_share[node, slot])
            pace = share ** self.exponents[kind] if share < 1.0 else 1.0
            if int(self.kind_of_device[node, slot]) == TIMESLICED:
                busy = int(tenants[node, slot])
                if busy > 1:
                    pace *= (1.0 - self.overheads[kind]) / busy
            slowest = min(slowest, pace)
        return slowest
