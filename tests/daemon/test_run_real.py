"""`gpuctl run --kubeconfig K --repo R` as a new user starts it on a fresh real cluster that
has no `gpuctl-system` namespace: within seconds it either applies the first revision or
exits 2 saying what to do. It never waits silently (realfix's Lease-namespace fix; an
expected failure until it lands)."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest
from kubernetes import client, config

from sandbox.remote.operators import install_operators
from tests.daemon.processes import ROOT, example_repo, free_port
from tests.daemon.test_run_cli import clean_env
from tests.kube.fixtures import FreshControlPlane

pytestmark = pytest.mark.slow

DEADLINE_S = 10.0


@pytest.mark.xfail(
    strict=False,
    reason="realfix: the Lease namespace gpuctl-system is missing and gpuctl run retries forever",
)
def test_run_on_a_fresh_cluster_applies_or_exits_2(
    tmp_path: Path, fresh_control_plane: FreshControlPlane
) -> None:
    """Within 10 s the team-llm Namespace exists (first revision applied) or the process exited
    2 naming gpuctl-system."""
    plane = fresh_control_plane()
    install_operators(plane.kubeconfig)
    example_repo(tmp_path / "repo")
    command = [sys.executable, "-m", "gpuctl", "run", "--repo", str(tmp_path / "repo"),
               "--kubeconfig", str(plane.kubeconfig), "--listen", f"127.0.0.1:{free_port()}",
               "--audit-db", str(tmp_path / "audit.db")]  # fmt: skip
    proc = subprocess.Popen(command, cwd=ROOT, env={**clean_env(), "HOME": str(tmp_path)},
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)  # fmt: skip
    api = config.new_client_from_config(str(plane.kubeconfig))
    core = client.CoreV1Api(api)
    try:
        deadline = time.monotonic() + DEADLINE_S
        applied = False
        while time.monotonic() < deadline and proc.poll() is None and not applied:
            applied = any(ns.metadata.name == "team-llm" for ns in core.list_namespace().items)
            time.sleep(0.2)
        if not applied:
            assert proc.poll() == 2, "neither applied nor exited 2 within 10 s"
            assert "gpuctl-system" in (proc.stdout.read() if proc.stdout else "")
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait(30)
        api.close()
