"""The missing-namespace hint appears only for namespaces the repository does not define."""

from __future__ import annotations

from reconciler.apply.applier import Applier
from reconciler.apply.recorder import ChangeRecorder
from reconciler.errors import NamespaceMissingError
from reconciler.planning.pairing import Pair
from reconciler.protocols import KubeObject
from reconciler.testing import FakeCluster
from schemas.refs import ObjectRef

CONFIGMAP = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c", "namespace": "team-a"}}


class NoNamespace(FakeCluster):
    """Every apply answers that namespace team-a does not exist."""

    def apply(self, obj: KubeObject, *, dry_run: bool = False) -> KubeObject:
        raise NamespaceMissingError(
            'server-side apply failed: HTTP 404 NotFound: namespaces "team-a" not found',
            ObjectRef.of(obj), namespace="team-a",
        )


def _error(defined: list[str]) -> str | None:
    applier = Applier(NoNamespace(), ChangeRecorder(), defined_namespaces=defined)
    pair = Pair(ObjectRef.of(CONFIGMAP), CONFIGMAP, None, "v1", "config")
    return applier.apply_pair(pair).entry.error


def test_undefined_namespace_gets_the_hint() -> None:
    """Not in the repository: add it, or install the operator that creates it."""
    assert _error([]) == (
        'server-side apply failed: HTTP 404 NotFound: namespaces "team-a" not found; '
        'add a Namespace "team-a" to the repository, or install the operator that creates it'
    )


def test_defined_namespace_gets_no_hint() -> None:
    """In the repository (its own apply failed, say Forbidden): the plain error, no misleading hint."""
    assert _error(["team-a"]) == 'server-side apply failed: HTTP 404 NotFound: namespaces "team-a" not found'
