"""Waiting for CustomResourceDefinitions: a CRD is usable once its Established condition is
True and the API server's discovery serves its kind (as Flux waits before the next stage)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from reconciler.errors import TransientError
from reconciler.protocols import Clock, ClusterClient
from schemas.refs import ObjectRef


def is_established(crd: dict[str, Any]) -> bool:
    for condition in (crd.get("status") or {}).get("conditions") or []:
        if condition.get("type") == "Established":
            return bool(condition.get("status") == "True")
    return False


def served_kinds(crd: dict[str, Any]) -> list[tuple[str, str]]:
    spec = crd.get("spec") or {}
    group = str(spec.get("group") or "")
    kind = str((spec.get("names") or {}).get("kind") or "")
    return [
        (f"{group}/{version['name']}", kind)
        for version in spec.get("versions") or []
        if version.get("served", True)
    ]


def wait_established(
    client: ClusterClient, crds: Iterable[dict[str, Any]], clock: Clock, *, timeout: float, poll: float
) -> None:
    """Block until every CRD is established and served; TransientError after `timeout`."""
    waiting = {str(crd["metadata"]["name"]): crd for crd in crds}
    deadline = clock.now() + timeout
    while waiting:
        for name in list(waiting):
            live = client.get("apiextensions.k8s.io/v1", "CustomResourceDefinition", name)
            ready = live is not None and is_established(live)
            if ready and all(client.has_kind(v, k) for v, k in served_kinds(live or {})):
                del waiting[name]
        if not waiting:
            return
        if clock.now() >= deadline:
            names = ", ".join(sorted(waiting))
            raise TransientError(
                f"CRDs not established within {timeout:g}s: {names}",
                ObjectRef("apiextensions.k8s.io", "CustomResourceDefinition", "", sorted(waiting)[0]),
            )
        clock.sleep(poll)
