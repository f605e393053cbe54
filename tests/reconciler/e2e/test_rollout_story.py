"""The stuck-drain story on the sandbox, through the CLI: a PodDisruptionBudget blocks a MIG
rollout's drain (the CLI names the pod and the budget while it waits, and the failure names
them again), `gpuctl rollout status` says what blocks the node, and after the budget is
fixed `gpuctl rollout retry` finishes the pool with no annotation edited by hand, each of the
3 replicas evicted exactly once (waiting nodes carry gpuctl's PreferNoSchedule taint)."""

from __future__ import annotations

import json
import shutil
import sqlite3
import time
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client as k8s
from kubernetes import config
from typer.testing import CliRunner

from gpuctl.cli import app
from reconciler.rollout.progress import ALL_KEYS
from reconciler.rollout.targets import MIG_CONFIG
from reconciler.rollout.waiting_taint import has_taint
from tests.reconciler.e2e.engine_kit import REPO, example_state, pool_nodes, running

pytestmark = pytest.mark.slow
POOL = "h100-inference"
NAMESPACE = "team-llm"


def _repo(tmp_path: Path, drain_timeout: str) -> Path:
    target = tmp_path / "repo"
    shutil.copytree(REPO, target)
    pool = target / "pools" / f"{POOL}.yaml"
    text = pool.read_text().replace("config: all-balanced", "config: inference-small")
    pool.write_text(text.replace("drainTimeout: 10m", f"drainTimeout: {drain_timeout}"))
    return target


def _deployment(replicas: int) -> dict[str, Any]:
    container = {"name": "main", "image": "serve:1", "resources": {"limits": {"nvidia.com/mig-1g.10gb": "4"}}}
    template = {
        "metadata": {"labels": {"app": "serve"}},
        "spec": {
            "containers": [container],
            "nodeSelector": {"gpuctl.dev/pool": POOL},
            "tolerations": [{"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}],
        },
    }
    return {
        "metadata": {"name": "serve"},
        "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": "serve"}}, "template": template},
    }


def _running_pods(core: k8s.CoreV1Api, count: int) -> dict[str, str]:
    """Wait until `count` serve pods run; pod name → node."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        pods = core.list_namespaced_pod(NAMESPACE, label_selector="app=serve").items
        running = {p.metadata.name: p.spec.node_name for p in pods
                   if p.status.phase == "Running" and not p.metadata.deletion_timestamp}  # fmt: skip
        if len(running) == count and len(pods) == count:
            return running
        time.sleep(0.05)
    raise AssertionError(f"{count} serve pods did not start")


def _gpuctl(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.output


def _evictions(db: Path) -> list[str]:
    with sqlite3.connect(db) as conn:
        query = ("SELECT object_ref FROM entries WHERE entry_type = 'change' "
                 "AND json_extract(content, '$.action') = 'evicted'")
        rows = conn.execute(query).fetchall()
    return [row[0] for row in rows]


def test_stuck_drain_is_named_then_retried_with_one_eviction_per_pod(tmp_path: Path) -> None:
    """Blocked drain names pod and PDB; after the PDB fix, retry finishes; 3 replicas, 3 evictions."""
    state = example_state()
    db = tmp_path / "audit.db"
    with running(state) as (sb, _client):
        kubeconfig = str(sb.kubeconfig_path)
        assert _gpuctl("apply", str(REPO), "--sandbox", kubeconfig, "--audit-db", str(db))[0] == 0
        api = config.new_client_from_config(kubeconfig)
        core, apps, policy = k8s.CoreV1Api(api), k8s.AppsV1Api(api), k8s.PolicyV1Api(api)
        # Two replicas on node 0, one on node 1 (node 0 cordoned while it starts): node 1 drains
        # first (fewer pods), and its pod must not land on node 0, which waits for its turn.
        apps.create_namespaced_deployment(NAMESPACE, _deployment(1))
        _running_pods(core, 1)
        core.patch_node(f"{POOL}-0", {"spec": {"unschedulable": True}})
        apps.patch_namespaced_deployment_scale("serve", NAMESPACE, {"spec": {"replicas": 2}})
        _running_pods(core, 2)
        core.patch_node(f"{POOL}-0", {"spec": {"unschedulable": None}})
        apps.patch_namespaced_deployment_scale("serve", NAMESPACE, {"spec": {"replicas": 3}})
        placed = _running_pods(core, 3)
        assert sorted(placed.values()) == [f"{POOL}-0", f"{POOL}-0", f"{POOL}-1"]
        [blocked_pod] = [name for name, node in placed.items() if node == f"{POOL}-1"]
        pdb = {
            "metadata": {"name": "serve"},
            "spec": {"minAvailable": 3, "selector": {"matchLabels": {"app": "serve"}}},
        }
        policy.create_namespaced_pod_disruption_budget(NAMESPACE, pdb)

        stuck = _repo(tmp_path, "4s")
        code, output = _gpuctl("apply", str(stuck), "--sandbox", kubeconfig, "--audit-db", str(db),
                               "--poll-interval", "0.1")  # fmt: skip
        assert code == 1, output
        blocked_line = next(
            line for line in output.splitlines() if line.startswith(f"gpuctl: Node/{POOL}-1: draining")
        )
        assert f"Pod/{NAMESPACE}/{blocked_pod}" in blocked_line and "disruption budget serve" in blocked_line
        assert "drain timed out after 4s" in output and "The disruption budget serve needs 3" in output
        nodes = {n["metadata"]["name"]: n for n in pool_nodes(_client, POOL)}
        assert not any(has_taint(n) for n in nodes.values())  # the halted rollout took its taints back
        assert nodes[f"{POOL}-0"]["metadata"]["labels"][MIG_CONFIG] == "all-balanced"
        events = core.list_namespaced_event("default", field_selector=f"involvedObject.name={POOL}-1").items
        assert any(e.reason == "DrainBlocked" and blocked_pod in e.message for e in events)

        code, output = _gpuctl("rollout", "status", POOL, "--sandbox", kubeconfig, "-o", "json")
        assert code == 0
        failed = {n["node"]: n for n in json.loads(output)["nodes"]}[f"{POOL}-1"]
        assert failed["phase"] == "failed" and "disruption budget serve" in failed["blockedBy"][0]

        policy.patch_namespaced_pod_disruption_budget("serve", NAMESPACE, {"spec": {"minAvailable": 2}})
        fixed = str(_repo(tmp_path / "fixed", "10m"))
        cluster = ("--sandbox", kubeconfig, "--audit-db", str(db), "--poll-interval", "0.1")
        code, output = _gpuctl("rollout", "retry", POOL, "--repo", fixed, *cluster)
        assert code == 0, output
        assert f"GPUNodePool/{POOL}: 2 nodes reconfigured, 0 failed, 0 not started" in output
        for node in pool_nodes(_client, POOL):
            assert node["metadata"]["labels"][MIG_CONFIG] == "inference-small"
            assert not node["spec"].get("unschedulable") and not has_taint(node)
            assert not set(ALL_KEYS) & set(node["metadata"].get("annotations") or {})
        assert len(_running_pods(core, 3)) == 3
        evicted = _evictions(db)
        assert len(evicted) == 3 and len(set(evicted)) == 3, evicted
        code, output = _gpuctl("rollout", "status", POOL, "--sandbox", kubeconfig)
        assert code == 0 and "no rollout in progress" in output
