"""Rollout cost (which nodes a change drains, in which batches) and standing workloads
(RayCluster / PyTorchJob gangs that hold their GPUs for the horizon), and how the replay honours
both: drained nodes take no work until their batch is done."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from schemas.desired import DesiredState
from simulator import SimParameters
from simulator.cluster import from_desired_state
from simulator.compare.engine import OutageReplayEngine
from simulator.rollout_cost import disruptions, rollout_outages
from simulator.standing import (
    StandingError,
    concat_tables,
    parse_quantity,
    standing_table,
    standing_workloads,
)
from simulator.sweep.grid import apply
from tests.simulator.conftest import make_jobs
from tests.simulator.premerge.conftest import example_state


def _with(state: DesiredState, settings: dict[str, str]) -> DesiredState:
    """`state` with pool fields set as `gpuctl simulate sweep --vary` sets them."""
    return apply(state, SimParameters(), settings)[0]


def test_mig_change_drains_the_pool_in_max_unavailable_batches() -> None:
    """h100-inference (4 nodes, maxUnavailable 1) → 4 batches of drain 10m + MIG 15m each."""
    base = example_state()
    head = _with(base, {"pool.h100-inference.mig.config": "inference-small"})
    (pool,) = disruptions(base, head)
    assert (pool.pool, pool.nodes, pool.batch_size, pool.batches) == ("h100-inference", 4, 1, 4)
    assert pool.step_s == 600 + 900
    ends = [o.end_s for o in rollout_outages(base, head)]
    assert ends == [1500.0, 3000.0, 4500.0, 6000.0]


def test_percent_max_unavailable_and_device_plugin_change() -> None:
    """t4-notebooks (maxUnavailable 50 %) with another plugin config: 2 batches, plugin restart time."""
    base = example_state()
    head = _with(base, {"pool.t4-notebooks.devicePlugin.config": "full-gpu"})
    (pool,) = disruptions(base, head)
    assert (pool.batch_size, pool.batches, pool.step_s) == (2, 2, 300 + 60)
    assert "device-plugin config t4-time-sliced → full-gpu" in pool.reasons


def test_labels_and_node_counts_drain_nothing() -> None:
    """Changes the MIG manager and device plugin never see cause no rollout."""
    base = example_state()
    head = _with(base, {"pool.a100-training.labels.x": "y", "pool.a100-training.nodes": "6"})
    assert disruptions(base, head) == []


def test_standing_workloads_of_the_example() -> None:
    """The RayCluster worker group and both PyTorchJob replica types, with team from the namespace label."""
    found = {w.source: w for w in standing_workloads(example_state())}
    ray = found["RayCluster/team-llm/llm-serving/mig-3g"]
    assert (ray.team, ray.pods, ray.resource, ray.gpus, ray.cpu_milli, ray.memory_mib) == (
        "llm",
        2,
        "nvidia.com/mig-3g.40gb",
        1,
        8000,
        65536,
    )
    assert found["PyTorchJob/team-vision/resnet-pretrain/Worker"].pods == 3
    assert found["PyTorchJob/team-vision/resnet-pretrain/Master"].gpus == 8


@pytest.mark.parametrize(
    ("text", "value"), [("4", 4.0), ("500m", 0.5), ("64Gi", 64 * 2**30), ("1e3", 1000.0)]
)
def test_quantities(text: str, value: float) -> None:
    """Kubernetes quantities in their common spellings."""
    assert parse_quantity(text) == value


def test_bad_quantity_is_an_error() -> None:
    """A quantity with an unknown suffix is rejected with what it should look like."""
    with pytest.raises(StandingError, match="like 4, 500m or 64Gi"):
        parse_quantity("3 GB")


def test_concat_keeps_names_and_remaps_ids() -> None:
    """Merging a standing table before a workload keeps each job's team and resource names."""
    jobs = make_jobs(2, team=[0, 1], teams=["a", "b"], resources=["nvidia.com/gpu"])
    standing = standing_table(standing_workloads(example_state()), 100.0)
    merged = concat_tables(standing, jobs)
    assert len(merged) == len(standing) + 2
    assert [merged.teams[t] for t in merged.team.tolist()[-2:]] == ["a", "b"]
    assert merged.resources[merged.resource[0]] == "nvidia.com/mig-3g.40gb"
    assert merged.work[0] == 100.0


def test_drained_node_takes_no_work_until_its_batch_ends() -> None:
    """With every A100 node held until t=1000, an A100 job arriving at 0 starts at 1000, and the
    hold is not counted as allocation."""
    state = example_state()
    spec = from_desired_state(state)
    a100 = [n for n in spec.node_names if n.startswith("a100-training")]
    head = _with(
        state, {"pool.a100-training.mig.config": "all-1g.10gb", "pool.a100-training.mig.strategy": "mixed"}
    )
    outages = [replace(o, end_s=1000.0) for o in rollout_outages(state, head) if o.node in a100]
    assert len(outages) == 4
    jobs = make_jobs(1, gpus=8, models=["A100-SXM4-80GB"], model_mask=1, work=10.0)
    engine = OutageReplayEngine(spec, jobs, SimParameters(), np.random.default_rng(0), outages=outages)
    metrics = engine.run()
    assert engine.recorder.start[0] == 1000.0
    assert metrics["gpu_allocation"]["peak"] == pytest.approx(8 / spec.total_gpus)
