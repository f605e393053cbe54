"""Live-state snapshots: one LIST per kind (never one GET per object), keyed by ObjectRef.
Kinds the server does not serve yet (a CRD still being established) read as empty."""

from __future__ import annotations

from collections.abc import Iterable

from reconciler.planning.pairing import Snapshot
from reconciler.protocols import ClusterClient
from schemas.refs import ObjectRef


def take_snapshot(client: ClusterClient, kinds: Iterable[tuple[str, str]]) -> Snapshot:
    """The live objects of every (apiVersion, kind) in `kinds`."""
    snapshot: Snapshot = {}
    for api_version, kind in sorted(set(kinds)):
        if not client.has_kind(api_version, kind):
            continue
        for obj in client.list_objects(api_version, kind):
            snapshot[ObjectRef.of(obj)] = obj
    return snapshot
