"""The live rollout table's source against the real sandbox: watch events of a node taken by
hand through the engine's rollout steps give every state in order, with the evicted pod; a
write as another field manager is recorded as that manager's."""

import pytest

import sandbox
from gpuctl.demo.errors import wait_for
from gpuctl.demo.rollout_watch import NodeState, RolloutTracker
from gpuctl.demo.workspace import example_state
from reconciler.cluster import ConnectionSpec, KubeClusterClient
from reconciler.cluster.feeds import Stream, WatchFeed
from reconciler.cluster.foreign import merge_patch_as
from reconciler.rollout.progress import Phase, clear_patch, phase_patch
from reconciler.source import load_directory

NODE, POOL, TARGET = "h100-inference-0", "h100-inference", "inference-small"
RESOURCE = "nvidia.com/mig-1g.10gb"
TOLERATION = {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}


@pytest.fixture
def cluster(tmp_path):
    state = load_directory(example_state()).state
    with sandbox.start(sandbox.SandboxSpec.from_state(state), speed=60,
                       kubeconfig_path=tmp_path / "kubeconfig") as running:
        spec = ConnectionSpec(kubeconfig=str(running.kubeconfig_path))
        client = KubeClusterClient.connect(spec)
        yield running, spec, client
        client.close()


def _running_pod(client) -> bool:
    pods = client.list_objects("v1", "Pod", namespace="default")
    return any((p.get("status") or {}).get("phase") == "Running" for p in pods)


def test_watch_events_show_every_rollout_state_of_a_node(cluster):
    """cordon → evict → relabel → MIG success → uncordon reads as cordoned, draining,
    reconfiguring, done, with the pod counted as evicted and one node unavailable at most."""
    running, spec, client = cluster
    [pod] = running.launch_gpu_pods("job", 1, resource=RESOURCE,
                                     node_selector={"kubernetes.io/hostname": NODE}, tolerations=[TOLERATION])
    wait_for(lambda: _running_pod(client), 30, "the pod to run")
    tracker = RolloutTracker(client, POOL, TARGET, "default")
    seen: list[NodeState] = []
    streams = [Stream("v1", "Node", {"label_selector": tracker.node_selector}),
               Stream("v1", "Pod", {"namespace": "default"})]
    with WatchFeed(spec, streams) as feed:
        assert feed.wait_ready(15)

        def until(state: NodeState) -> None:
            def reached() -> bool:
                for event in feed.take():
                    seen.extend(new for name, _, new in tracker.observe(*event) if name == NODE)
                return tracker.rows[NODE].state is state
            wait_for(reached, 30, f"{NODE} to be {state.value}")

        draining = phase_patch(Phase.DRAINING, {}, 0.0, POOL)
        client.patch_node(NODE, {**draining, "spec": {"unschedulable": True}})
        until(NodeState.CORDONED)
        assert client.evict("default", pod)
        until(NodeState.DRAINING)
        configuring = phase_patch(Phase.CONFIGURING, {}, 0.0, POOL)
        configuring["metadata"]["labels"] = {"nvidia.com/mig.config": TARGET}
        client.patch_node(NODE, configuring)
        until(NodeState.RECONFIGURING)
        # Done when the node advertises the new layout (7 × 1g.10gb per GPU, 8 GPUs): the state
        # label alone still reads `success` from the old layout until the MIG manager starts.
        wait_for(lambda: (client.get("v1", "Node", NODE) or {})["status"]["allocatable"]
                 .get(RESOURCE) == "56", 30, "the MIG manager to apply the new layout")
        client.patch_node(NODE, {**clear_patch(), "spec": {"unschedulable": None}})
        until(NodeState.DONE)
    assert seen == [NodeState.CORDONED, NodeState.DRAINING, NodeState.RECONFIGURING, NodeState.DONE]
    assert tracker.rows[NODE].evicted == {pod}
    assert tracker.peak_unavailable == 1
    assert {row.state for name, row in tracker.rows.items() if name != NODE} == {NodeState.WAITING}


def test_merge_patch_as_writes_under_the_given_field_manager(cluster):
    """A foreign edit changes the object and is owned by the named field manager, not gpuctl."""
    _, spec, client = cluster
    client.apply({"apiVersion": "v1", "kind": "ConfigMap",
                  "metadata": {"name": "settings", "namespace": "default"}, "data": {"a": "1"}})
    target = ("v1", "ConfigMap", "default", "settings")
    patched = merge_patch_as(spec, "kubectl-edit", target, {"data": {"a": "2"}})
    assert patched["data"] == {"a": "2"}
    live = client.get("v1", "ConfigMap", "settings", "default")
    managers = {entry["manager"] for entry in live["metadata"]["managedFields"]}
    assert "kubectl-edit" in managers
