"""Building the simulated cluster from a desired state: MIG layouts from the repository's
mig-parted config or built-in ones, time-slicing and MPS replicas, and clear errors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from simulator.cluster import (
    ClusterState,
    DeviceKind,
    ModelError,
    PodRequest,
    from_desired_state,
    from_node_list,
)
from simulator.traces import load_openb_nodes
from tests.simulator.conftest import REPO_ROOT, desired, pool, time_sliced


def test_builtin_all_balanced_on_h100_gives_four_instances_per_gpu() -> None:
    """all-balanced on H100-80GB is 2×1g.10gb + 2g.20gb + 3g.40gb per GPU, advertised per profile."""
    spec = from_desired_state(
        desired(pool("inf", "H100-SXM5-80GB", 8, 2, mig={"config": "all-balanced", "strategy": "mixed"}))
    )
    assert spec.describe()["devices_by_resource"] == {
        "nvidia.com/mig-1g.10gb": 32,
        "nvidia.com/mig-2g.20gb": 16,
        "nvidia.com/mig-3g.40gb": 16,
    }
    assert spec.total_gpus == 16
    # A 3g instance is 3 of 7 compute slices of its GPU.
    three = spec.device_resource == spec.resource_id("nvidia.com/mig-3g.40gb")
    assert set(spec.device_capacity[three].tolist()) == {428}


def test_repository_mig_parted_config_wins_over_builtin() -> None:
    """A named config in the repository's mig-parted config is used as written."""
    mig_parted = {
        "version": "v1",
        "mig-configs": {
            "two-threes": [{"devices": "all", "mig-enabled": True, "mig-devices": {"3g.40gb": 2}}],
        },
    }
    spec = from_desired_state(
        desired(
            pool("inf", "A100-SXM4-80GB", 4, 1, mig={"config": "two-threes", "strategy": "mixed"}),
            mig_parted=mig_parted,
        )
    )
    assert spec.describe()["devices_by_resource"] == {"nvidia.com/mig-3g.40gb": 8}


def test_single_strategy_advertises_instances_as_gpus_with_their_sm_share() -> None:
    """Under the single strategy a 1g instance is an nvidia.com/gpu with 16 of 132 SMs."""
    spec = from_desired_state(
        desired(pool("inf", "H100-SXM5-80GB", 1, 1, mig={"config": "all-1g.10gb", "strategy": "single"}))
    )
    gpus = spec.device_resource == spec.resource_id("nvidia.com/gpu")
    assert int(gpus.sum()) == 7
    assert spec.sm_share[gpus][0] == pytest.approx(16 / 132)


def test_time_slicing_replicas_share_one_gpu() -> None:
    """With 4 replicas each T4 is one shared device taking 4 pods of 250 milli."""
    spec = from_desired_state(
        desired(
            pool("nb", "T4", 4, 2, devicePlugin={"config": "ts"}),
            device_plugin={"ts": time_sliced(4, rename=True)},
        )
    )
    assert spec.describe()["devices_by_resource"] == {"nvidia.com/gpu.shared": 8}
    assert bool(np.all(spec.device_kind[:, :4] == int(DeviceKind.TIMESLICED)))
    assert bool(np.all(spec.whole_cost[:, :4] == 250))


def test_mps_caps_sm_share_and_memory() -> None:
    """MPS with 2 replicas gives each client half the SMs and half the memory."""
    mps = {"version": "v1", "sharing": {"mps": {"resources": [{"name": "nvidia.com/gpu", "replicas": 2}]}}}
    spec = from_desired_state(
        desired(pool("p", "A100-SXM4-80GB", 1, 1, devicePlugin={"config": "mps"}), device_plugin={"mps": mps})
    )
    assert int(spec.device_kind[0, 0]) == int(DeviceKind.MPS)
    assert spec.sm_share[0, 0] == pytest.approx(0.5)
    assert int(spec.device_memory_mib[0, 0]) == 81920 // 2


def test_unknown_mig_config_is_a_model_error() -> None:
    """A pool naming a MIG config that exists nowhere fails with the pool and config named."""
    with pytest.raises(ModelError, match=r"GPUNodePool inf: MIG config 'nope'"):
        from_desired_state(desired(pool("inf", "H100-SXM5-80GB", 8, 1, mig={"config": "nope"})))


def test_missing_device_plugin_key_is_a_model_error() -> None:
    """A pool naming a device-plugin config key the ConfigMap lacks fails and lists the known keys."""
    with pytest.raises(ModelError, match=r"device-plugin config 'ts' .* \(known: other\)"):
        from_desired_state(
            desired(
                pool("nb", "T4", 1, 1, devicePlugin={"config": "ts"}), device_plugin={"other": time_sliced(2)}
            )
        )


def test_racks_follow_nodes_per_rack() -> None:
    """nodesPerRack 2 puts four nodes into two racks."""
    spec = from_desired_state(desired(pool("t", "A100-SXM4-80GB", 8, 4, topology={"nodesPerRack": 2})))
    assert spec.rack.tolist() == [0, 0, 1, 1]


def test_example_repository_builds(traces: Path) -> None:
    """The example desired state builds: 80 GPUs over three pools."""
    from reconciler.source import load_directory

    state = load_directory(REPO_ROOT / "desired_state").state
    assert state is not None
    spec = from_desired_state(state)
    assert spec.describe()["gpus_by_model"] == {"A100-SXM4-80GB": 32, "H100-SXM5-80GB": 32, "T4": 16}


def test_state_allocate_and_release_restore_every_aggregate(traces: Path) -> None:
    """Allocating then releasing pods leaves free capacity and aggregates as they started."""
    spec = from_node_list(load_openb_nodes(traces / "openb" / "openb_node_list_gpu_node.csv"))
    state = ClusterState(spec)
    before = (state.free.copy(), state.whole_free.copy(), state.gpu_free.copy(), state.cpu_free.copy())
    share = PodRequest(0, 1, 300, 1000, 100, 0)
    whole = PodRequest(0, 2, 0, 2000, 100, 0)
    node = int(np.flatnonzero(state.whole_free[0] >= 3)[0])
    whole_devices = state.default_devices(node, whole)
    state.allocate(node, whole_devices, whole)
    share_devices = state.default_devices(node, share)
    state.allocate(node, share_devices, share)
    assert state.allocated_milli == 2300
    assert int(state.tenants[node].sum()) == 3
    state.release(node, share_devices, share)
    state.release(node, whole_devices, whole)
    state.feasible(share)  # refreshes the lazily kept largest free share
    after = (state.free, state.whole_free, state.gpu_free, state.cpu_free)
    assert all(np.array_equal(a, b) for a, b in zip(before, after, strict=True))
    assert state.allocated_milli == 0 and int(state.tenants.sum()) == 0


def test_allocate_refuses_what_does_not_fit() -> None:
    """Allocating more than a device holds raises instead of going negative."""
    from simulator.cluster import uniform

    state = ClusterState(uniform(1, 1))
    whole = PodRequest(0, 1, 0, 0, 0, 0)
    state.allocate(0, [0], whole)
    with pytest.raises(ValueError, match="lacks capacity"):
        state.allocate(0, [0], whole)
