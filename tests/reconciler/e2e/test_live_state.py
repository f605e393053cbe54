"""`gpuctl get` and `gpuctl status` read from the cluster (both backends), the operator named
in the audit log and the in-cluster record, the per-cluster default audit database, and a
failed start leaving no files behind."""

from __future__ import annotations

import getpass
import json
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from gpuctl.cli import app
from reconciler.cluster.identity import cluster_id
from reconciler.planning.inventory import INVENTORY_NAME, inventory_from_configmap
from schemas.results import ReconcileOutcome
from tests.kube.fixtures import FreshControlPlane
from tests.reconciler.e2e.backends import e2e_cluster
from tests.reconciler.e2e.engine_kit import REPO, example_state, pool_nodes

HEALTH = {"Healthy", "Suspended", "Progressing", "Missing", "Degraded", "Unknown"}


def _gpuctl(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def _context_user(kubeconfig: Path) -> str:
    config = yaml.safe_load(kubeconfig.read_text())
    current = next(c for c in config["contexts"] if c["name"] == config["current-context"])
    return str(current["context"]["user"])


@pytest.mark.slow
def test_get_and_status_read_the_cluster(
    backend: str, fresh_control_plane: FreshControlPlane, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """get -o json lists every pool, node and managed object with health; status reads the record."""
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    monkeypatch.delenv("GPUCTL_AUDIT_DB", raising=False)
    state = example_state()
    plane = fresh_control_plane() if backend == "real" else None
    with e2e_cluster(backend, state, plane) as cluster:
        target = ("--kubeconfig", str(cluster.kubeconfig))
        code, out, err = _gpuctl("get", *target, "-o", "json")
        assert code == 1 and out == "" and "gpuctl has not reconciled this cluster" in err
        code, out, err = _gpuctl("apply", str(REPO), *target, "--poll-interval", "0.2")
        assert code == 0, out + err
        db = tmp_path / "state" / "gpuctl" / cluster_id(cluster.client.server) / "audit.db"
        assert db.is_file()
        code, out, err = _gpuctl("get", *target, "-o", "json")
        assert code == 0, err
        document = json.loads(out)
        pools = {p["name"]: p for p in document["pools"]}
        assert set(pools) == {p.metadata.name for p in state.pools}
        for name, pool in pools.items():
            listed = [n["name"] for n in pool["nodes"]]
            assert listed == sorted(str(n["metadata"]["name"]) for n in pool_nodes(cluster.client, name))
            assert all(n["health"]["status"] in HEALTH and n["rolloutPhase"] for n in pool["nodes"])
        live = cluster.client.get("v1", "ConfigMap", INVENTORY_NAME, "gpuctl-system")
        assert live is not None
        inventory = {str(e.ref) for e in inventory_from_configmap(live).entries}
        assert {m["ref"] for m in document["managed"]} == inventory and len(inventory) > 10
        assert all(m["health"]["status"] in HEALTH for m in document["managed"])
        record = document["lastReconcile"]
        assert record["result"] == "succeeded" and record["trigger"] == "manual"
        operator = {"kubeUser": _context_user(cluster.kubeconfig), "osUser": getpass.getuser()}
        assert record["operator"] == operator
        code, out, _ = _gpuctl("status", *target, "-o", "json")
        assert code == 0 and json.loads(out)["lastReconcile"] == record
        before = cluster.writes()
        second = cluster.run(state)  # another revision, nothing to change: only the record is written
        assert second.outcome is ReconcileOutcome.NOOP and cluster.writes() == before + 1
        before = cluster.writes()
        third = cluster.run(state)  # the same revision again: zero writes, the record kept
        assert third.outcome is ReconcileOutcome.NOOP and cluster.writes() == before
        code, out, _ = _gpuctl("status", *target, "-o", "json")
        assert code == 0 and json.loads(out)["lastReconcile"]["revision"] == "e2e"
        code, out, _ = _gpuctl("audit", "log", "--db", str(db))
        assert code == 0 and f"kube user {_context_user(cluster.kubeconfig)}" in out


def test_failed_start_leaves_no_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A bad flag, a bad repository or an unreachable cluster creates no audit DB nor state dir."""
    state_home, cwd = tmp_path / "state", tmp_path / "cwd"
    cwd.mkdir()
    monkeypatch.setenv("XDG_STATE_HOME", str(state_home))
    monkeypatch.delenv("GPUCTL_AUDIT_DB", raising=False)
    monkeypatch.chdir(cwd)
    bad_repo = tmp_path / "bad"
    bad_repo.mkdir()
    (bad_repo / "x.yaml").write_text("kind: [unclosed\n")
    unreachable = ("--sandbox", "http://127.0.0.1:9")
    attempts = [
        ("apply", str(REPO), "--no-such-flag"),
        ("apply", str(bad_repo), *unreachable),
        ("apply", str(REPO), *unreachable),
        ("rollout", "pause", "h100-inference", *unreachable),
    ]
    for args in attempts:
        code, _, _ = _gpuctl(*args)
        assert code == 2, args
        assert not state_home.exists() and list(cwd.iterdir()) == [], args
