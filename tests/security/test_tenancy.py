"""Tenancy at apply time: `gpuctl.yaml` `allow` is enforced on the objects as they are sent,
before the first write, also where validation cannot see a violation (a namespaced object
written without a namespace lands in `default`) and for desired states built in code."""

from __future__ import annotations

import copy
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

import sandbox
from gpuctl.cli import app
from reconciler.apply.tenancy import enforce, violations
from reconciler.cluster import ConnectionSpec, KubeClusterClient
from reconciler.pipeline import reconcile
from reconciler.testing import ManualClock
from schemas.desired import Manifest
from schemas.diagnostics import SourceLocation
from schemas.kinds import AllowList
from schemas.refs import ObjectRef
from schemas.results import ReconcileOutcome, RevisionInfo
from tests.hostile.corpus import EXAMPLE, configmap
from tests.reconciler.e2e.engine_kit import example_state

ALLOW = AllowList(namespaces=["team-*"], kinds=["ConfigMap", "Namespace"])


def obj(kind: str, namespace: str, name: str = "x") -> dict[str, object]:
    meta = {"name": name, **({"namespace": namespace} if namespace else {})}
    return {"apiVersion": "v1", "kind": kind, "metadata": meta}


def test_violations_name_namespace_and_kind() -> None:
    """Objects outside the namespace or kind patterns are named; allowed and cluster-scoped pass."""
    objects = [obj("ConfigMap", "team-a"), obj("ConfigMap", "kube-system"), obj("Secret", "team-a")]
    found = violations([*objects, obj("Namespace", "")], ALLOW)
    assert found == [
        "ConfigMap/kube-system/x: namespace 'kube-system' is not in allow.namespaces",
        "Secret/team-a/x: kind Secret is not in allow.kinds",
    ]
    assert violations([obj("Secret", "kube-system")], None) == []


def test_enforce_raises_a_terminal_error() -> None:
    """enforce raises TenancyError (terminal, not retried) naming the object."""
    from reconciler.errors import TerminalError

    with pytest.raises(TerminalError, match="ConfigMap/default/x"):
        enforce([obj("ConfigMap", "default")], ALLOW)


@pytest.fixture(scope="module")
def cluster():
    with sandbox.start(sandbox.SandboxSpec.from_state(example_state())) as sb:
        yield sb


@pytest.mark.slow
def test_object_without_namespace_is_refused_at_apply(tmp_path: Path, cluster) -> None:
    """A namespaced object without a namespace passes validation but is refused by apply
    (it would land in `default`, outside allow.namespaces), with zero writes."""
    repo = tmp_path / "repo"
    shutil.copytree(EXAMPLE, repo)
    (repo / "stray.yaml").write_text(configmap("stray").replace("  namespace: team-research\n", ""))
    assert CliRunner().invoke(app, ["validate", str(repo)]).exit_code == 0
    before = cluster.write_count
    result = CliRunner().invoke(app, ["apply", str(repo), "--sandbox", str(cluster.kubeconfig_path),
                                      "--audit-db", str(tmp_path / "a.db")])  # fmt: skip
    assert result.exit_code == 1
    assert "ConfigMap/default/stray: namespace 'default' is not in allow.namespaces" in result.output
    assert cluster.write_count == before


@pytest.mark.slow
def test_state_built_in_code_is_checked_too(cluster) -> None:
    """reconcile() refuses a desired state holding an object in a forbidden namespace even
    though it never went through validation; nothing is written."""
    state = copy.copy(example_state())
    intruder = obj("ConfigMap", "kube-system", "intruder")
    where = SourceLocation("code.yaml", 1, 1)
    state.manifests = [*state.manifests, Manifest(intruder, where, ObjectRef.of(intruder))]
    client = KubeClusterClient.connect(ConnectionSpec(kubeconfig=str(cluster.kubeconfig_path)))
    before = cluster.write_count
    try:
        result = reconcile(state, client, clock=ManualClock(), revision=RevisionInfo(sha="code"))
    finally:
        client.close()
    assert result.outcome is ReconcileOutcome.FAILED and "kube-system" in (result.error or "")
    assert cluster.write_count == before
