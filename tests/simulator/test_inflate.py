"""The FGD inflate protocol on the real openb trace, and the placement policies' choices on
small hand-built clusters."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from simulator import SimConfig, SimParameters, run
from simulator.cluster import ClusterState, PodRequest, from_node_list, uniform
from simulator.inflate import inflate, offer_order, target_workload
from simulator.placement import TargetWorkload, TieBreaker, make_policy
from simulator.placement.fragmentation import fragmentation
from simulator.traces import NodeList, load_openb_nodes, load_openb_pods
from tests.simulator.conftest import make_jobs, rng


def _openb(traces: Path) -> tuple[object, object]:
    nodes = load_openb_nodes(traces / "openb" / "openb_node_list_gpu_node.csv")
    pods = load_openb_pods(traces / "openb" / "openb_pod_list_default.csv")
    return from_node_list(nodes), pods


def test_offer_order_reaches_the_goal_and_no_further() -> None:
    """Draws stop at the first pod whose request reaches the goal."""
    request = np.array([1.0, 0.5, 2.0])
    order = offer_order(request, 100.0, rng(3))
    total = request[order].sum()
    assert total >= 100.0
    assert total - request[order].max() < 100.0  # without its largest draw it falls short


@pytest.mark.slow
@pytest.mark.parametrize("policy", ["best-fit", "fgd"])
def test_openb_inflate_curve_is_consistent(traces: Path, policy: str) -> None:
    """131 points from 0 % to 130 % arrived; allocation never falls, never exceeds what arrived
    or 100 %, and placed + failed pods equal the pods offered."""
    spec, pods = _openb(traces)
    outcome = inflate(spec, pods, SimParameters(mode="inflate", policy=policy), rng(0))  # type: ignore[arg-type]
    assert outcome.arrived_pct == [float(k) for k in range(131)]
    allocated = np.asarray(outcome.allocated_pct)
    assert bool(np.all(np.diff(allocated) >= -1e-9))
    # A point is written after the pod that crossed the mark: allowance of one 8-GPU pod.
    assert bool(np.all(allocated <= np.asarray(outcome.arrived_pct) + 800 / 6212)) and allocated[-1] <= 100.0
    assert outcome.placed + outcome.failed == outcome.offered
    assert outcome.allocated_pct[50] == pytest.approx(50.0, abs=0.5)  # nothing fails at half load
    assert 0.0 < outcome.unallocated_at(100.0) < 20.0


@pytest.mark.slow
def test_fgd_leaves_less_unallocated_than_random(traces: Path) -> None:
    """On openb default at 100 % arrived, FGD leaves less GPU unallocated than random placement."""
    spec, pods = _openb(traces)
    params = SimParameters(mode="inflate")
    fgd = inflate(spec, pods, params.model_copy(update={"policy": "fgd"}), rng(4))  # type: ignore[arg-type]
    rnd = inflate(spec, pods, params.model_copy(update={"policy": "random"}), rng(4))  # type: ignore[arg-type]
    assert fgd.unallocated_at(100.0) < rnd.unallocated_at(100.0) - 2.0


def test_inflate_result_is_byte_identical_per_seed(traces: Path) -> None:
    """Two inflate runs with the same seed give the same JSON, byte for byte."""
    nodes = load_openb_nodes(traces / "openb" / "openb_node_list_gpu_node.csv")
    small = NodeList(
        nodes.names[:100], nodes.cpu_milli[:100], nodes.memory_mib[:100], nodes.gpus[:100], nodes.models[:100]
    )
    pods = load_openb_pods(traces / "openb" / "openb_pod_list_default.csv")
    config = SimConfig(from_node_list(small), pods, SimParameters(mode="inflate", policy="fgd", seed=9))
    first, second = run(config).to_json(), run(config).to_json()
    assert first == second
    assert '"unallocated_gpu_pct_at_100"' in first


def _two_node_state() -> ClusterState:
    """Node 0: 4 GPUs with one GPU 600 milli used; node 1: 4 free GPUs."""
    state = ClusterState(uniform(2, 4, cpu_milli=64_000, memory_mib=1 << 18))
    state.allocate(0, [0], PodRequest(0, 1, 600, 1000, 0, 0))
    return state


@pytest.mark.parametrize(
    ("policy", "node"),
    [
        ("best-fit", 0),
        ("best-fit-gpuctl", 0),
        ("bin-pack", 0),
        ("gpu-packing", 0),
        ("gpu-packing-gpuctl", 0),
        ("k8s-default", 1),
        ("dot-product", 0),
        ("dot-product-gpuctl", 1),
    ],
)
def test_policies_choose_the_node_their_definition_says(policy: str, node: int) -> None:
    """A 300-milli pod: packing policies take the partly used node, spreading ones the free node
    (the reference's dot-product minimises the alignment, so it packs; gpuctl's maximised it)."""
    state = _two_node_state()
    req = PodRequest(0, 1, 300, 1000, 0, 0)
    target = TargetWorkload.from_shapes([(1000, 1, 300, 0)])
    placement = make_policy(policy, target).place(state, req, state.feasible(req), TieBreaker(rng()))
    assert placement.node == node


def test_packing_puts_a_fraction_on_the_tightest_gpu() -> None:
    """Inside a node, a sharing pod goes to the GPU with the least free share that still fits."""
    state = _two_node_state()
    req = PodRequest(0, 1, 300, 1000, 0, 0)
    placement = make_policy("best-fit", TargetWorkload.from_shapes([(0, 1, 300, 0)])).place(
        state, req, state.feasible(req), TieBreaker(rng())
    )
    assert placement.devices == [0]


def test_fgd_keeps_whole_gpus_free_for_a_whole_gpu_workload() -> None:
    """When the target workload is whole GPUs, FGD puts a 400-milli pod on the GPU already
    holding 600 (fragmentation does not grow) instead of breaking a free GPU."""
    state = _two_node_state()
    req = PodRequest(0, 1, 400, 1000, 0, 0)
    target = TargetWorkload.from_shapes([(1000, 1, 0, 0)] * 9 + [(1000, 1, 400, 0)])
    placement = make_policy("fgd", target).place(state, req, state.feasible(req), TieBreaker(rng()))
    assert (placement.node, placement.devices) == (0, [0])


def test_fragmentation_follows_the_definition() -> None:
    """A node with free GPUs (1000, 400, 0): for a whole-GPU shape only the 400 is fragmented;
    for a CPU-only shape all 1,400 idle milli are; a shape needing two GPUs cannot run, so all are."""
    free = np.array([[1000, 400, 0]])
    cpu = np.array([8000])
    bits = np.array([0])
    whole = TargetWorkload.from_shapes([(1000, 1, 0, 0)])
    cpu_only = TargetWorkload.from_shapes([(1000, 0, 0, 0)])
    two = TargetWorkload.from_shapes([(1000, 2, 0, 0)])
    assert fragmentation(whole, free, cpu, bits).tolist() == [400.0]
    assert fragmentation(cpu_only, free, cpu, bits).tolist() == [1400.0]
    assert fragmentation(two, free, cpu, bits).tolist() == [1400.0]
    no_cpu = np.array([500])
    assert fragmentation(whole, free, no_cpu, bits).tolist() == [1400.0]


def test_target_workload_keeps_shapes_covering_95_percent() -> None:
    """Shapes are kept most frequent first until 95 % of pods are covered, frequencies renormalised."""
    jobs = make_jobs(100, gpus=[1] * 90 + [2] * 6 + [4] * 4)
    target = target_workload(jobs, ClusterState(uniform(1, 8)))
    assert target.gpus.tolist() == [1, 2]
    assert target.frequency.tolist() == pytest.approx([90 / 96, 6 / 96])
