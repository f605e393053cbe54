"""Property test of the incremental cluster state: after any sequence of allocations and
releases, every aggregate equals a recomputation from the device rows."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from simulator.cluster import ClusterState, PodRequest, from_desired_state
from tests.simulator.conftest import desired, pool, time_sliced

SPEC = from_desired_state(
    desired(
        pool("whole", "A100-SXM4-80GB", 4, 2),
        pool("mig", "H100-SXM5-80GB", 2, 1, mig={"config": "all-balanced", "strategy": "mixed"}),
        pool("ts", "T4", 2, 1, devicePlugin={"config": "ts"}),
        device_plugin={"ts": time_sliced(3)},
    )
)
GPU = SPEC.resource_id("nvidia.com/gpu")
MIG_1G = SPEC.resource_id("nvidia.com/mig-1g.10gb")
REQUESTS = [
    PodRequest(GPU, 1, 0, 1000, 100, 0),
    PodRequest(GPU, 2, 0, 0, 0, 0),
    PodRequest(GPU, 1, 300, 500, 0, 0),
    PodRequest(GPU, 1, 700, 0, 0, 0),
    PodRequest(MIG_1G, 1, 0, 0, 0, 0),
    PodRequest(-1, 0, 0, 2000, 1024, 0),
]


def _expected(state: ClusterState) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    eligible = state.free >= state.cost
    whole = np.stack(
        [(eligible & (SPEC.device_resource == r)).sum(axis=1) for r in range(len(SPEC.resources))]
    )
    fraction = np.where(state.fraction_capable, state.free, -1).max(axis=1)
    return whole, fraction, state.free.sum(axis=1)


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.tuples(st.integers(0, len(REQUESTS) - 1), st.booleans(), st.integers(0, 10**6)), max_size=40)
)
def test_aggregates_match_a_recount(steps: list[tuple[int, bool, int]]) -> None:
    """Random allocate/release sequences keep whole-free counts, largest free share, free GPU,
    allocated total and tenants consistent with the device rows."""
    state = ClusterState(SPEC)
    running: list[tuple[int, list[int], PodRequest]] = []
    for index, release, pick in steps:
        if release and running:
            node, devices, req = running.pop(pick % len(running))
            state.release(node, devices, req)
            continue
        req = REQUESTS[index]
        nodes = np.flatnonzero(state.feasible(req))
        if nodes.shape[0] == 0:
            continue
        node = int(nodes[pick % nodes.shape[0]])
        devices = state.default_devices(node, req)
        state.allocate(node, devices, req)
        running.append((node, devices, req))
    state.feasible(REQUESTS[2])  # brings the lazily kept largest free share up to date
    whole, fraction, free = _expected(state)
    assert np.array_equal(state.whole_free, whole)
    assert np.array_equal(state.fraction_max, fraction)
    assert np.array_equal(state.gpu_free, free)
    assert state.allocated_milli == int((SPEC.device_capacity - state.free).sum())
    assert state.whole_free_total == whole.sum(axis=1).tolist()
    assert int(state.tenants.sum()) == sum(len(devices) for _, devices, _ in running)
    assert bool(np.all(state.free >= 0))
