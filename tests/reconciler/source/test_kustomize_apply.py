"""One cluster's overlay reconciled by the daemon's runner on both backends (the sandbox, and a
fresh real control plane with emulated GPU nodes): the revision is built from the Git commit,
the overlay's MIG layout is rolled out onto the pool's nodes, and the audit log names the
kustomize that built it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from reconciler.audit import SqliteAuditLog
from reconciler.audit.query import AuditReader
from reconciler.daemon.daemon import RepoLocation
from reconciler.daemon.protocols import WorkItem
from reconciler.daemon.runner import PipelineRunner
from reconciler.render import MIG_CONFIG_LABEL
from reconciler.source import load_directory
from schemas.results import ReconcileOutcome, Trigger
from tests.kube.fixtures import FreshControlPlane
from tests.reconciler.e2e.backends import e2e_cluster
from tests.reconciler.source.kustomize_support import example_repo, git

pytestmark = [pytest.mark.usefixtures("kustomize_tool"), pytest.mark.slow]


def test_staging_overlay_rolls_out_its_mig_layout_and_is_audited(
    tmp_path: Path, kustomize_tool: str, backend: str, fresh_control_plane: FreshControlPlane
) -> None:
    """Nodes started with production's layout end with staging's after one pass on clusters/staging."""
    repo = example_repo(tmp_path / "repo")
    prod = load_directory(repo / "clusters" / "prod").state
    assert prod is not None
    plane = fresh_control_plane() if backend == "real" else None
    with e2e_cluster(backend, prod, plane, speed=60) as cluster:
        client = cluster.client
        audit = SqliteAuditLog(tmp_path / "audit.db")
        try:
            before = _layouts(client.list_objects("v1", "Node"))
            runner = PipelineRunner(RepoLocation(repo, "clusters/staging", False), client, audit)
            report = runner.reconcile(
                WorkItem(git(repo, "rev-parse", "HEAD"), Trigger.STARTUP), lambda: False
            )
            nodes = client.list_objects("v1", "Node")
        finally:
            audit.close()
    assert report.outcome is ReconcileOutcome.SUCCEEDED, report.error
    assert (before, _layouts(nodes)) == ({"all-balanced"}, {"all-1g.10gb"})
    with AuditReader(tmp_path / "audit.db") as reader:
        started = next(e.content for e in reader.entries() if e.content["type"] == "reconcile-started")
    assert started["revision"]["built_with"] == kustomize_tool
    assert started["revision"]["path"] == "clusters/staging"


def _layouts(nodes: list[dict[str, Any]]) -> set[str | None]:
    """The MIG layouts the h100-inference nodes carry."""
    return {
        n["metadata"]["labels"].get(MIG_CONFIG_LABEL)
        for n in nodes
        if n["metadata"]["labels"].get("gpuctl.dev/pool") == "h100-inference"
    }
