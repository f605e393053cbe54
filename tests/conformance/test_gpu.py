"""The sandbox's GPU emulation, through the official client: nodes from pools, the MIG
manager's state machine, the device plugin's sharing, the scheduler and kubelet, and
fault injection. Sandbox only: each test needs a fresh cluster and some inject faults; the
same GPU components on a real API server are tested in tests/sandbox/test_remote_nodes.py."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from typing import Any

import pytest
from kubernetes import client, config
from kubernetes.client.exceptions import ApiException

import sandbox
from sandbox import Sandbox, SandboxSpec, gpu_pod_manifest
from schemas.deviceplugin import DevicePluginConfig
from schemas.migconfig import MigPartedConfig
from tests.conformance.conftest import CONFORMANCE_POOLS
from tests.conformance.helpers import wait_for

MIG_STATE = "nvidia.com/mig.config.state"


@pytest.fixture
def gpu_cluster() -> Iterator[tuple[Sandbox, client.CoreV1Api]]:
    """A fresh sandbox per test (each test relabels nodes), running 500× faster than real time."""
    if os.environ.get("GPUCTL_TEST_KUBECONFIG"):
        pytest.skip("GPU emulation tests run against the sandbox only")
    spec = SandboxSpec(
        pools=list(CONFORMANCE_POOLS),
        mig_parted=MigPartedConfig.model_validate(
            {
                "version": "v1",
                "mig-configs": {
                    "too-big": [{"devices": "all", "mig-enabled": True, "mig-devices": {"3g.40gb": 3}}],
                    "half-3g": [
                        {"devices": [0, 1, 2, 3], "mig-enabled": True, "mig-devices": {"3g.40gb": 2}},
                        {"devices": "all", "mig-enabled": False},
                    ],
                },
            }
        ),
        device_plugin={
            "ts4": DevicePluginConfig.model_validate(
                {
                    "version": "v1",
                    "sharing": {"timeSlicing": {"resources": [{"name": "nvidia.com/gpu", "replicas": 4}]}},
                }
            ),
            "ts2-renamed": DevicePluginConfig.model_validate(
                {
                    "version": "v1",
                    "sharing": {
                        "timeSlicing": {
                            "renameByDefault": True,
                            "resources": [{"name": "nvidia.com/gpu", "replicas": 2}],
                        }
                    },
                }
            ),
        },
    )
    with sandbox.start(spec, speed=500) as cluster:
        api = config.new_client_from_config(config_file=str(cluster.kubeconfig_path))
        yield cluster, client.CoreV1Api(api)
        api.close()


def _labels(core: client.CoreV1Api, node: str) -> dict[str, str]:
    return dict(core.read_node(node).metadata.labels)


def _allocatable(core: client.CoreV1Api, node: str) -> dict[str, str]:
    return dict(core.read_node(node).status.allocatable)


def _label(core: client.CoreV1Api, node: str, key: str, value: str) -> None:
    core.patch_node(node, {"metadata": {"labels": {key: value}}})


def _state_becomes(core: client.CoreV1Api, node: str, state: str) -> None:
    wait_for(lambda: _labels(core, node).get(MIG_STATE) == state, what=f"{node} mig state {state}")


def test_nodes_follow_pools(gpu_cluster: tuple[Sandbox, client.CoreV1Api]) -> None:
    """Pool nodes are named <pool>-<i>, match the pool selector and advertise GFD labels and GPUs."""
    _, core = gpu_cluster
    names = sorted(n.metadata.name for n in core.list_node().items)
    assert names == ["a100-0", "h100-0", "h100-1"]
    h100 = _labels(core, "h100-0")
    assert h100["gpuctl.dev/pool"] == "h100"
    assert h100["nvidia.com/gpu.product"] == "NVIDIA-H100-80GB-HBM3"
    assert h100["nvidia.com/gpu.count"] == "8"
    assert h100["nvidia.com/mig.config"] == "all-disabled" and h100[MIG_STATE] == "success"
    assert _allocatable(core, "h100-0")["nvidia.com/gpu"] == "8"
    a100 = _allocatable(core, "a100-0")
    assert a100["nvidia.com/mig-1g.10gb"] == "28" and a100["nvidia.com/gpu"] == "0"
    assert _labels(core, "a100-0")["nvidia.com/mig-1g.10gb.count"] == "28"


def test_mig_change_goes_pending_then_success(gpu_cluster: tuple[Sandbox, client.CoreV1Api]) -> None:
    """A new mig.config goes pending (operands paused), then success with the new allocatable."""
    _, core = gpu_cluster
    _label(core, "h100-1", "nvidia.com/mig.config", "all-3g.40gb")
    _state_becomes(core, "h100-1", "pending")
    assert _labels(core, "h100-1")["nvidia.com/gpu.deploy.device-plugin"] == "paused-for-mig-change"
    assert _allocatable(core, "h100-1")["nvidia.com/gpu"] == "8"  # unchanged until success
    _state_becomes(core, "h100-1", "success")
    allocatable = _allocatable(core, "h100-1")
    assert allocatable["nvidia.com/mig-3g.40gb"] == "16" and allocatable["nvidia.com/gpu"] == "0"
    assert _labels(core, "h100-1")["nvidia.com/gpu.deploy.device-plugin"] == "true"


def test_per_gpu_layout_from_mig_parted_config(gpu_cluster: tuple[Sandbox, client.CoreV1Api]) -> None:
    """A mig-parted config with per-GPU entries gives MIG devices on some GPUs, whole GPUs on others."""
    _, core = gpu_cluster
    _label(core, "h100-0", "nvidia.com/mig.config", "half-3g")
    _state_becomes(core, "h100-0", "success")
    wait_for(lambda: _allocatable(core, "h100-0").get("nvidia.com/mig-3g.40gb") == "8", what="half layout")
    assert _allocatable(core, "h100-0")["nvidia.com/gpu"] == "4"


@pytest.mark.parametrize("config_name", ["too-big", "no-such-config"])
def test_mig_change_that_cannot_apply_fails(
    gpu_cluster: tuple[Sandbox, client.CoreV1Api], config_name: str
) -> None:
    """A layout that does not fit the GPU, or an unknown config name, ends `failed`."""
    _, core = gpu_cluster
    _label(core, "h100-0", "nvidia.com/mig.config", config_name)
    _state_becomes(core, "h100-0", "failed")
    assert _allocatable(core, "h100-0")["nvidia.com/gpu"] == "8"


def test_mig_change_with_gpu_pods_running_fails(gpu_cluster: tuple[Sandbox, client.CoreV1Api]) -> None:
    """The MIG manager does not drain: GPU pods still running make the change fail."""
    _, core = gpu_cluster
    core.create_namespaced_pod(
        "default", gpu_pod_manifest("busy", node_selector={"kubernetes.io/hostname": "h100-0"})
    )
    wait_for(
        lambda: core.read_namespaced_pod("busy", "default").status.phase == "Running", what="pod running"
    )
    _label(core, "h100-0", "nvidia.com/mig.config", "all-1g.10gb")
    _state_becomes(core, "h100-0", "failed")
    core.delete_namespaced_pod("busy", "default")
    wait_for(lambda: not core.list_namespaced_pod("default").items, what="pod gone")
    _label(core, "h100-0", "nvidia.com/mig.config", "all-2g.20gb")
    _state_becomes(core, "h100-0", "success")


def test_injected_mig_failure(gpu_cluster: tuple[Sandbox, client.CoreV1Api]) -> None:
    """A node listed in faults.mig_fail_nodes fails its next reconfiguration."""
    cluster, core = gpu_cluster
    cluster.faults.mig_fail_nodes = {"h100-1"}
    _label(core, "h100-1", "nvidia.com/mig.config", "all-balanced")
    _state_becomes(core, "h100-1", "failed")


def test_device_plugin_time_slicing(gpu_cluster: tuple[Sandbox, client.CoreV1Api]) -> None:
    """A time-slicing config multiplies nvidia.com/gpu and sets the sharing labels; with
    renameByDefault the resource is advertised as nvidia.com/gpu.shared."""
    _, core = gpu_cluster
    _label(core, "h100-0", "nvidia.com/device-plugin.config", "ts4")
    wait_for(lambda: _allocatable(core, "h100-0").get("nvidia.com/gpu") == "32", what="replicas")
    labels = _labels(core, "h100-0")
    assert labels["nvidia.com/gpu.replicas"] == "4"
    assert labels["nvidia.com/gpu.sharing-strategy"] == "time-slicing"
    assert labels["nvidia.com/gpu.product"] == "NVIDIA-H100-80GB-HBM3-SHARED"
    _label(core, "h100-1", "nvidia.com/device-plugin.config", "ts2-renamed")
    wait_for(lambda: _allocatable(core, "h100-1").get("nvidia.com/gpu.shared") == "16", what="renamed")
    assert "nvidia.com/gpu" not in _allocatable(core, "h100-1")


def test_scheduler_fits_gpus_and_pods_finish(gpu_cluster: tuple[Sandbox, client.CoreV1Api]) -> None:
    """Pods asking for 4 GPUs fill both 8-GPU nodes; the fifth waits as Unschedulable until
    a pod with a declared runtime finishes and frees its GPUs."""
    _, core = gpu_cluster
    for i in range(4):
        core.create_namespaced_pod(
            "default",
            gpu_pod_manifest(
                f"big-{i}",
                count=4,
                runtime_seconds=600 if i == 0 else None,
                node_selector={"gpuctl.dev/pool": "h100"},
            ),
        )
    wait_for(
        lambda: all(p.status.phase == "Running" for p in core.list_namespaced_pod("default").items),
        what="first four running",
    )
    core.create_namespaced_pod(
        "default", gpu_pod_manifest("big-4", count=4, node_selector={"gpuctl.dev/pool": "h100"})
    )

    def unschedulable() -> Any:
        conditions = core.read_namespaced_pod("big-4", "default").status.conditions or []
        return next((c for c in conditions if c.type == "PodScheduled" and c.reason == "Unschedulable"), None)

    condition = wait_for(unschedulable, what="Unschedulable condition")
    assert "Insufficient nvidia.com/gpu" in condition.message
    events = core.list_namespaced_event("default", field_selector="involvedObject.name=big-4").items
    assert [(e.type, e.reason) for e in events] == [("Warning", "FailedScheduling")]
    wait_for(
        lambda: core.read_namespaced_pod("big-0", "default").status.phase == "Succeeded",
        timeout=30,
        what="runtime elapsed",
    )
    wait_for(
        lambda: core.read_namespaced_pod("big-4", "default").status.phase == "Running", what="fifth runs"
    )


def test_cordon_taint_and_tolerations(gpu_cluster: tuple[Sandbox, client.CoreV1Api]) -> None:
    """A cordoned node gets the unschedulable taint and takes no new pods."""
    _, core = gpu_cluster
    core.patch_node("a100-0", {"spec": {"unschedulable": True}})
    wait_for(
        lambda: any(
            t.key == "node.kubernetes.io/unschedulable" for t in core.read_node("a100-0").spec.taints or []
        ),
        what="cordon taint",
    )
    core.create_namespaced_pod("default", gpu_pod_manifest("mig", resource="nvidia.com/mig-1g.10gb"))
    wait_for(
        lambda: (core.read_namespaced_pod("mig", "default").status.conditions or [None])[0], what="attempt"
    )
    assert core.read_namespaced_pod("mig", "default").spec.node_name is None
    core.patch_node("a100-0", {"spec": {"unschedulable": False}})
    wait_for(
        lambda: core.read_namespaced_pod("mig", "default").spec.node_name == "a100-0",
        what="bound after uncordon",
    )


def test_injected_errors_and_throttling(gpu_cluster: tuple[Sandbox, client.CoreV1Api]) -> None:
    """Fault injection turns requests into 500s or 429s with Retry-After, and can be switched off."""
    cluster, core = gpu_cluster
    cluster.faults.error_rate = 1.0
    with pytest.raises(ApiException) as err:
        core.list_node()
    assert err.value.status == 500 and json.loads(err.value.body)["reason"] == "InternalError"
    cluster.faults.error_rate, cluster.faults.throttle_rate = 0.0, 1.0
    cluster.faults.retry_after_seconds = 0  # urllib3 honours Retry-After between its own retries
    with pytest.raises(ApiException) as err:
        core.list_node()
    assert err.value.status == 429 and err.value.headers["Retry-After"] == "0"
    cluster.faults.clear()
    assert core.list_node().items


def test_write_counter_ignores_reads_and_dry_runs(gpu_cluster: tuple[Sandbox, client.CoreV1Api]) -> None:
    """write_count counts create/update/patch/delete requests, not reads or dry runs."""
    cluster, core = gpu_cluster
    before = cluster.write_count
    core.list_node()
    core.create_namespaced_config_map("default", {"metadata": {"name": "c"}}, dry_run="All")
    assert cluster.write_count == before
    core.create_namespaced_config_map("default", {"metadata": {"name": "c"}})
    core.patch_namespaced_config_map("c", "default", {"data": {"a": "1"}})
    assert cluster.write_count == before + 2
    assert cluster.requests["list"] >= 1


def test_scheduler_and_kubelet_record_events(gpu_cluster: tuple[Sandbox, client.CoreV1Api]) -> None:
    """A scheduled pod gets `Scheduled` and `Started` events naming its node."""
    _, core = gpu_cluster
    core.create_namespaced_pod("default", gpu_pod_manifest("ev", resource="nvidia.com/mig-1g.10gb"))
    wait_for(lambda: core.read_namespaced_pod("ev", "default").status.phase == "Running", what="running")

    def reasons() -> list[str]:
        items = core.list_namespaced_event("default", field_selector="involvedObject.name=ev").items
        return sorted(e.reason for e in items)

    wait_for(lambda: reasons() == ["Scheduled", "Started"], what="events")
    scheduled = core.list_namespaced_event("default", field_selector="reason=Scheduled").items
    assert scheduled[0].message == "Successfully assigned default/ev to a100-0"


def _time_slicing(replicas: int) -> str:
    import yaml

    sharing = {"timeSlicing": {"resources": [{"name": "nvidia.com/gpu", "replicas": replicas}]}}
    return str(yaml.safe_dump({"version": "v1", "sharing": sharing}))


def _operator_configs(
    api: client.ApiClient, mig_configs: dict[str, Any], plugin_configs: dict[str, str]
) -> None:
    """Install a ClusterPolicy naming a mig-parted and a device-plugin ConfigMap, and the ConfigMaps."""
    import yaml

    client.CustomObjectsApi(api).create_cluster_custom_object(
        "nvidia.com",
        "v1",
        "clusterpolicies",
        {
            "apiVersion": "nvidia.com/v1",
            "kind": "ClusterPolicy",
            "metadata": {"name": "cluster-policy"},
            "spec": {
                "migManager": {"config": {"name": "custom-mig", "default": "all-disabled"}},
                "devicePlugin": {"config": {"name": "plugin-configs"}},
            },
        },
    )
    core = client.CoreV1Api(api)
    core.create_namespaced_config_map(
        "gpu-operator",
        {
            "metadata": {"name": "custom-mig"},
            "data": {"config.yaml": yaml.safe_dump({"version": "v1", "mig-configs": mig_configs})},
        },
    )
    core.create_namespaced_config_map(
        "gpu-operator", {"metadata": {"name": "plugin-configs"}, "data": plugin_configs}
    )


def test_mig_manager_and_plugin_read_the_operator_configmaps(
    gpu_cluster: tuple[Sandbox, client.CoreV1Api],
) -> None:
    """Configs added to the ClusterPolicy's ConfigMaps are usable at once, and editing a
    device-plugin config re-advertises the nodes that use it."""
    _, core = gpu_cluster
    _operator_configs(
        core.api_client,
        {
            "all-disabled": [{"devices": "all", "mig-enabled": False}],
            "three-2g": [{"devices": "all", "mig-enabled": True, "mig-devices": {"2g.20gb": 3}}],
        },
        {"ts4": _time_slicing(4)},
    )
    _label(core, "h100-1", "nvidia.com/mig.config", "three-2g")
    _state_becomes(core, "h100-1", "success")
    wait_for(lambda: _allocatable(core, "h100-1").get("nvidia.com/mig-2g.20gb") == "24", what="new layout")

    _label(core, "h100-0", "nvidia.com/device-plugin.config", "ts4")
    wait_for(lambda: _allocatable(core, "h100-0").get("nvidia.com/gpu") == "32", what="time-slicing ×4")
    core.patch_namespaced_config_map(
        "plugin-configs",
        "gpu-operator",
        {"data": {"ts4": _time_slicing(8)}},
    )
    wait_for(lambda: _allocatable(core, "h100-0").get("nvidia.com/gpu") == "64", what="edited config")
