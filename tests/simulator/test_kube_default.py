"""`k8s-default` models stock kube-scheduler's default scoring: LeastAllocated and
BalancedAllocation over CPU and memory in integers, GPUs not scored, ties drawn at random."""

from __future__ import annotations

from simulator.cluster import ClusterState, PodRequest, uniform
from simulator.placement import TargetWorkload, TieBreaker, make_policy
from simulator.placement.kube import KubeDefault
from tests.simulator.conftest import rng

TARGET = TargetWorkload.from_shapes([(1000, 1, 0, 0)])


def _state(nodes: int = 2) -> ClusterState:
    return ClusterState(uniform(nodes, 4, cpu_milli=10_000, memory_mib=1000))


def test_score_is_least_allocated_plus_balanced_allocation() -> None:
    """2000 m and 100 MiB on an empty 10-core, 1000-MiB node: LeastAllocated (80 + 90) // 2 = 85,
    BalancedAllocation int((1 − |0.2 − 0.1| / 2) × 100) = 95."""
    state = _state(1)
    assert KubeDefault().score(state, PodRequest(0, 1, 0, 2000, 100, 0)).tolist() == [85 + 95]


def test_pods_without_requests_count_the_non_zero_defaults() -> None:
    """A pod asking for no CPU counts as 100 m in LeastAllocated (not in BalancedAllocation)."""
    state = _state(1)
    policy = KubeDefault()
    req = PodRequest(0, 1, 0, 0, 100, 0)
    before = policy.score(state, req).tolist()
    state.allocate(0, [0], req)
    policy.placed(state, 0, req, +1)
    after = policy.score(state, req).tolist()
    # CPU: (10000 − 100) → 99, then (10000 − 200) → 98; memory 90 then 80; balanced reads 0 CPU.
    assert before == [(99 + 90) // 2 + 95] and after == [(98 + 80) // 2 + 90]


def test_gpus_do_not_change_the_score_so_ties_are_random() -> None:
    """Two nodes alike in CPU and memory, one with its GPUs busy: equal scores, either may win."""
    state = _state(2)
    state.allocate(0, [0, 1, 2], PodRequest(0, 3, 0, 0, 0, 0))
    policy = make_policy("k8s-default", TARGET)
    req = PodRequest(0, 1, 0, 1000, 100, 0)
    ties = TieBreaker(rng(1))
    chosen = {policy.place(state, req, state.feasible(req), ties).node for _ in range(30)}
    assert chosen == {0, 1}


def test_spreads_to_the_less_requested_node() -> None:
    """A node with CPU and memory already requested loses to an empty one."""
    state = _state(2)
    state.allocate(0, [], PodRequest(-1, 0, 0, 5000, 500, 0))
    policy = make_policy("k8s-default", TARGET)
    req = PodRequest(0, 1, 0, 1000, 100, 0)
    assert policy.place(state, req, state.feasible(req), TieBreaker(rng())).node == 1
