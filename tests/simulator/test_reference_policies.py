"""The FGD reference simulator's behaviour: integer scores of each baseline policy, ties to one
fixed node order per run, the arrival order (the trace, then clones) and the headline figure
(the mean over the pods whose arrived share rounds to 100 %)."""

from __future__ import annotations

import numpy as np
import pytest

from simulator.cluster import ClusterState, PodRequest, uniform
from simulator.config import SimParameters
from simulator.inflate import InflateOutcome, inflate, reference_order
from simulator.placement import TargetWorkload, TieBreaker, make_policy, pick_first_best
from simulator.placement.fgd import integer_score
from simulator.placement.reference import ReferenceGpuClustering, ReferenceGpuPacking, normalise
from tests.simulator.conftest import make_jobs, rng

SHARE = PodRequest(0, 1, 300, 1000, 0, 0)
ONE_GPU = PodRequest(0, 1, 0, 1000, 0, 0)
CPU_ONLY = PodRequest(-1, 0, 0, 1000, 0, 0)


def _state(nodes: int = 3, gpus: int = 4) -> ClusterState:
    return ClusterState(uniform(nodes, gpus, cpu_milli=64_000, memory_mib=1 << 18))


def test_ties_go_to_the_first_node_of_the_run_order() -> None:
    """Equal scores pick the node ranked first in the run's permutation, the same node every time."""
    ties = TieBreaker(rng(5))
    rank = ties.rank(6)
    scores = np.zeros(6, dtype=np.int64)
    feasible = np.ones(6, dtype=np.bool_)
    first = int(np.argmin(rank))
    assert [pick_first_best(scores, feasible, ties) for _ in range(3)] == [first] * 3
    feasible[first] = False
    assert pick_first_best(scores, feasible, ties) == int(np.argsort(rank)[1])
    scores[5] = 1
    assert pick_first_best(scores, np.ones(6, dtype=np.bool_), ties) == 5


def test_gpu_packing_scores_follow_the_reference_tiers() -> None:
    """Partly used GPU that fits: 100 − left%/10; used node, free GPU: 50 − GPUs taken; idle node:
    max(33 − GPUs, GPUs); CPU-only pods: 0."""
    state = _state()
    state.allocate(0, [0], PodRequest(0, 1, 600, 1000, 0, 0))  # node 0: one GPU with 400 left
    state.allocate(1, [0], ONE_GPU)  # node 1: GPU use, no shared GPU
    policy = ReferenceGpuPacking()
    feasible = state.feasible(SHARE)
    assert policy.score(state, SHARE, feasible).tolist() == [100 - 40 // 10, 49, 33 - 4]
    assert policy.score(state, PodRequest(0, 2, 0, 1000, 0, 0), feasible).tolist() == [48, 48, 29]
    assert policy.score(state, CPU_ONLY, feasible).tolist() == [0, 0, 0]


def test_gpu_clustering_scores_follow_the_reference_tiers() -> None:
    """Only my class 75–100, mine among others 50–75, no GPU pods 25–50, only others 0–25, plus
    25 × used GPU share of the largest node; CPU-only pods do not count and score 0."""
    state = _state(nodes=4)
    policy = ReferenceGpuClustering()
    for node, req in ((0, SHARE), (1, SHARE), (1, ONE_GPU), (3, ONE_GPU)):
        devices = state.default_devices(node, req)
        state.allocate(node, devices, req)
        policy.placed(state, node, req, +1)
    state.allocate(2, [], CPU_ONLY)
    policy.placed(state, 2, CPU_ONLY, +1)
    scores = policy.score(state, SHARE, state.feasible(SHARE)).tolist()
    packing = [25 * (4000 - int(f)) // 4000 for f in state.gpu_free.tolist()]
    assert scores == [75 + packing[0], 50 + packing[1], 25 + packing[2], packing[3]]
    assert policy.score(state, CPU_ONLY, state.feasible(CPU_ONLY)).tolist() == [0, 0, 0, 0]


def test_best_fit_is_min_max_normalised_in_integers() -> None:
    """Scores are rescaled to 0..100 over the feasible nodes with integer division; all equal → 0."""
    feasible = np.array([True, True, True, False])
    assert normalise(np.array([10, 20, 13, 99]), feasible).tolist() == [0, 100, 30, 890]
    assert normalise(np.array([7, 7, 7, 1]), feasible).tolist() == [0, 0, 0, 0]


def test_best_fit_and_dot_product_prefer_the_fuller_node() -> None:
    """Both reference policies put a whole-GPU pod on the node with less left (they pack)."""
    state = _state(nodes=2)
    state.allocate(0, [0, 1], PodRequest(0, 2, 0, 8000, 0, 0))
    target = TargetWorkload.from_shapes([(1000, 1, 0, 0)])
    for name in ("best-fit", "dot-product"):
        placement = make_policy(name, target).place(
            state, ONE_GPU, state.feasible(ONE_GPU), TieBreaker(rng())
        )
        assert placement.node == 0, name


def test_fgd_integer_score_is_the_truncated_sigmoid() -> None:
    """No growth scores 50; growth of 1000 milli scores int(100 × sigmoid(−1)) = 26; a shrink above 50."""
    assert integer_score(np.array([0.0, 1000.0, -1000.0])).tolist() == [50, 26, 73]


def test_random_takes_a_random_fitting_gpu() -> None:
    """`random` spreads sharing pods over the GPUs of a node that fit, not only the tightest."""
    state = _state(nodes=1)
    policy = make_policy("random", TargetWorkload.from_shapes([(1000, 1, 300, 0)]))
    ties = TieBreaker(rng(2))
    devices = {policy.place(state, SHARE, state.feasible(SHARE), ties).devices[0] for _ in range(40)}
    assert len(devices) > 1


def test_reference_order_offers_the_trace_then_clones() -> None:
    """Every job of the trace once, shuffled, then clones until the next one's per-GPU request
    would pass the goal."""
    request = np.array([1.0, 0.5, 2.0, 0.0])
    per_gpu = np.array([1.0, 0.5, 1.0, 0.0])
    order = reference_order(request, per_gpu, 20.0, rng(1))
    assert sorted(order[:4].tolist()) == [0, 1, 2, 3]
    total = float(request[order].sum())
    assert total <= 20.0 + 1.0  # a 2-GPU clone may pass by its second GPU, as in the reference
    assert total + 1.0 > 20.0 - 1e-9  # the next clone would not have fitted


def test_reference_order_drops_jobs_when_the_trace_alone_passes_the_goal() -> None:
    """A trace asking for more than the goal loses random jobs until it no longer does."""
    request = np.ones(50)
    order = reference_order(request, request, 30.0, rng(1))
    assert len(order) == 30 and len(set(order.tolist())) == 30


def test_headline_is_the_mean_over_pods_rounding_to_the_percent() -> None:
    """unallocated_at(100) averages the allocation after every pod in the 100 % bucket, falling
    back to the neighbouring buckets when it is empty."""
    outcome = InflateOutcome(percent_sums=[0.0] * 102, percent_counts=[0] * 102)
    outcome.percent_sums[100], outcome.percent_counts[100] = 90.0 + 92.0, 2
    assert outcome.unallocated_at(100.0) == pytest.approx(9.0)
    outcome.percent_sums[100], outcome.percent_counts[100] = 0.0, 0
    outcome.percent_sums[99], outcome.percent_counts[99] = 80.0, 1
    assert outcome.unallocated_at(100.0) == pytest.approx(20.0)


def test_inflate_runs_every_reference_policy_the_same_twice() -> None:
    """Each reference policy, run twice with one seed on a small cluster, gives the same curve."""
    jobs = make_jobs(
        60, gpus=[1] * 20 + [1] * 30 + [2] * 10, milli=[0] * 20 + [500] * 30 + [0] * 10, cpu_milli=2000
    )
    spec = uniform(4, 8, cpu_milli=64_000, memory_mib=1 << 18)
    for name in ("random", "best-fit", "dot-product", "gpu-packing", "gpu-clustering", "fgd"):
        params = SimParameters(mode="inflate", policy=name)
        first, second = inflate(spec, jobs, params, rng(3)), inflate(spec, jobs, params, rng(3))
        assert first.allocated_pct == second.allocated_pct, name
        assert first.placed + first.failed == first.offered
