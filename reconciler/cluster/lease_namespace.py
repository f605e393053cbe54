"""The namespace of the leader-election Lease, checked before the daemon campaigns.

Outside `deploy/` (which creates `gpuctl-system`), that namespace may be missing: every Lease
create would then fail with 404 for ever, and nothing would be applied. So `gpuctl run` looks
first: a missing namespace is created when the credentials allow it (and logged), otherwise
the start fails with what to do (create it, choose another, or run without leader election).
"""

from __future__ import annotations

import structlog

from reconciler.errors import NotFoundError, TerminalError
from reconciler.protocols import ClusterClient

log = structlog.get_logger("gpuctl.cluster.lease_namespace")

HOW_TO_CHANGE = (
    "choose an existing namespace with --lease-namespace (GPUCTL_LEASE_NAMESPACE, or lease_namespace "
    "in the settings file), or run a single replica with --no-leader-elect"
)


class LeaseNamespaceError(TerminalError):
    """The Lease's namespace is missing and gpuctl may not create it."""


def ensure_lease_namespace(client: ClusterClient, namespace: str) -> bool:
    """Make sure `namespace` exists; True when gpuctl created it. LeaseNamespaceError when it is
    missing and cannot be created. A namespace gpuctl may not read is assumed to exist (a
    narrowly scoped service account): the election then reports its own errors."""
    try:
        if client.get("v1", "Namespace", namespace) is not None:
            return False
    except NotFoundError:
        pass
    except TerminalError as exc:
        log.info("cannot check the Lease namespace, assuming it exists",
                 namespace=namespace, error=exc.reason)
        return False
    body = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}}
    try:
        client.apply(body)
    except TerminalError as exc:
        raise LeaseNamespaceError(
            f'the Lease namespace "{namespace}" does not exist and gpuctl may not create it '
            f"({exc.reason}); create it (kubectl create namespace {namespace}), or {HOW_TO_CHANGE}"
        ) from exc
    log.warning(
        "created the Lease namespace", namespace=namespace,
        hint=f"it held no Lease yet; to keep the Lease elsewhere, {HOW_TO_CHANGE}",
    )
    return True
