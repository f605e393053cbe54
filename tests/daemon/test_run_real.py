"""`gpuctl run --kubeconfig K` on a real control plane without the Lease namespace: with rights
to create it, it does, says so and applies the repository's head; without, it exits 2 naming
the namespace and the settings that change it. It never waits silently."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import uuid
from pathlib import Path

import git
import pytest
import yaml

from tests.daemon.gitrepos import AUTHOR
from tests.daemon.processes import ROOT, free_port, logged_process, wait_until
from tests.daemon.test_run_cli import clean_env

pytestmark = pytest.mark.slow


def _repo(path: Path, namespace: str) -> None:
    """A repository holding one Namespace and one ConfigMap in it."""
    path.mkdir()
    objects = [
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}},
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "settings", "namespace": namespace},
         "data": {"team": "ml"}},
    ]
    (path / "objects.yaml").write_text(yaml.safe_dump_all(objects))
    repo = git.Repo.init(path, initial_branch="main")
    repo.index.add(["objects.yaml"])
    repo.index.commit("settings", author=AUTHOR, committer=AUTHOR)


def _command(tmp_path: Path, kubeconfig: Path, lease_namespace: str) -> list[str]:
    return [sys.executable, "-m", "gpuctl", "run", "--repo", str(tmp_path / "repo"),
            "--kubeconfig", str(kubeconfig), "--listen", f"127.0.0.1:{free_port()}",
            "--audit-db", str(tmp_path / "audit.db"), "--log-format", "json",
            "--lease-namespace", lease_namespace]  # fmt: skip


def test_creates_the_missing_lease_namespace_and_applies(tmp_path, control_plane) -> None:
    """As an admin: 'created the Lease namespace', then the head is applied; SIGTERM exits 0."""
    suffix = uuid.uuid4().hex[:6]
    _repo(tmp_path / "repo", f"team-{suffix}")
    log = tmp_path / "run.log"
    command = _command(tmp_path, control_plane.kubeconfig, f"lease-{suffix}")
    with logged_process(command, log, {**clean_env(), "HOME": str(tmp_path)}) as proc:
        def events() -> list[dict[str, object]]:
            return [json.loads(x) for x in log.read_text().splitlines() if x.startswith("{")]

        finished_any = wait_until(lambda: any(e["event"] == "reconcile finished" for e in events()), 60)
        assert finished_any, log.read_text()
        finished = next(e for e in events() if e["event"] == "reconcile finished")
        assert finished["result"] == "succeeded", finished
        created = [e for e in events() if e["event"] == "created the Lease namespace"]
        assert created and created[0]["namespace"] == f"lease-{suffix}"
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=60) == 0


def test_without_rights_it_exits_2_saying_what_to_do(tmp_path, control_plane) -> None:
    """A user with no RBAC rights: exit 2, naming the Lease, --lease-namespace and --no-leader-elect."""
    _repo(tmp_path / "repo", "team-x")
    kubeconfig = control_plane.client_kubeconfig("nobody")
    env = {**clean_env(), "HOME": str(tmp_path)}
    result = subprocess.run(_command(tmp_path, kubeconfig, "gpuctl-system"), cwd=ROOT, timeout=60,
                            env=env, capture_output=True, text=True, check=False)  # fmt: skip
    assert result.returncode == 2, result.stderr[-2000:]
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("gpuctl: error: ") and "gpuctl-system/gpuctl-leader" in last
    assert "HTTP 403 Forbidden" in last and "--lease-namespace" in last and "--no-leader-elect" in last
