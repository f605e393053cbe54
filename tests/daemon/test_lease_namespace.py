"""The Lease namespace: created when gpuctl may (and logged), else a clear error naming the
namespace and the settings that change it; `gpuctl run` on a cluster without it applies."""

from __future__ import annotations

import json
import signal
import sys

import pytest
import structlog

import sandbox
from reconciler.cluster.lease_namespace import LeaseNamespaceError, ensure_lease_namespace
from reconciler.errors import TerminalError
from reconciler.protocols import KubeObject
from reconciler.testing import FakeCluster
from sandbox import SandboxSpec
from schemas.refs import ObjectRef
from tests.daemon.processes import example_repo, free_port, logged_process, wait_until
from tests.daemon.test_run_cli import clean_env


class ForbiddenCluster(FakeCluster):
    """A FakeCluster whose credentials may not create Namespaces."""

    def apply(self, obj: KubeObject, *, dry_run: bool = False) -> KubeObject:
        raise TerminalError(
            'server-side apply failed: HTTP 403 Forbidden: namespaces "gpuctl-system" is forbidden',
            ObjectRef.of(obj),
        )


def test_missing_namespace_is_created_and_logged() -> None:
    """No namespace: gpuctl creates it once and logs a warning saying so."""
    cluster = FakeCluster()
    with structlog.testing.capture_logs() as logs:
        assert ensure_lease_namespace(cluster, "gpuctl-system") is True
        assert ensure_lease_namespace(cluster, "gpuctl-system") is False
    assert cluster.get("v1", "Namespace", "gpuctl-system") is not None
    assert [e["event"] for e in logs if e["log_level"] == "warning"] == ["created the Lease namespace"]


def test_namespace_that_cannot_be_created_is_a_clear_error() -> None:
    """Forbidden to create it: the error names the namespace, the flag, the variable and --no-leader-elect."""
    with pytest.raises(LeaseNamespaceError) as caught:
        ensure_lease_namespace(ForbiddenCluster(), "gpuctl-system")
    text = str(caught.value)
    for part in ('"gpuctl-system" does not exist', "HTTP 403 Forbidden",
                 "kubectl create namespace gpuctl-system", "--lease-namespace", "GPUCTL_LEASE_NAMESPACE",
                 "--no-leader-elect"):
        assert part in text


@pytest.mark.slow
def test_run_against_a_cluster_without_the_lease_namespace_applies(tmp_path) -> None:
    """`gpuctl run --kubeconfig K` on a cluster lacking gpuctl-system creates it, says so, and
    applies the repository's head; SIGTERM exits 0."""
    example_repo(tmp_path / "repo")
    port = free_port()
    log = tmp_path / "run.log"
    with sandbox.start(SandboxSpec()) as cluster:
        assert cluster.store.get(("", "namespaces"), ("", "gpuctl-system")) is None
        command = [sys.executable, "-m", "gpuctl", "run", "--repo", str(tmp_path / "repo"),
                   "--kubeconfig", str(cluster.kubeconfig_path), "--listen", f"127.0.0.1:{port}",
                   "--audit-db", str(tmp_path / "audit.db"), "--log-format", "json"]  # fmt: skip
        with logged_process(command, log, {**clean_env(), "HOME": str(tmp_path)}) as proc:
            def events() -> list[str]:
                return [json.loads(x)["event"] for x in log.read_text().splitlines() if x.startswith("{")]

            assert wait_until(lambda: "reconcile finished" in events(), 60)
            assert "created the Lease namespace" in events()
            proc.send_signal(signal.SIGTERM)
            assert proc.wait(timeout=60) == 0
