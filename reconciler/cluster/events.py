"""Kubernetes Events on the objects gpuctl changed, with the reason and the Git revision,
as Argo CD and Flux post them (`kubectl describe` and `kubectl get events` show them).
Posting is best effort: a failed Event never fails a reconcile."""

from __future__ import annotations

from datetime import UTC, datetime

import structlog
import urllib3
from kubernetes import client
from kubernetes.client.exceptions import ApiException

from reconciler.cluster.errortext import error_line
from schemas.refs import ObjectRef

log = structlog.get_logger("gpuctl.cluster.events")

REVISION_ANNOTATION = "gpuctl.dev/revision"
COMPONENT = "gpuctl"


class KubeEventRecorder:
    """Creates core/v1 Events; cluster-scoped objects get theirs in `default`, as kubectl does."""

    def __init__(self, api: client.ApiClient, instance: str, *, timeout_s: float = 5.0) -> None:
        self._api = client.CoreV1Api(api)
        self._instance = instance
        self._timeout = timeout_s

    def record(
        self, ref: ObjectRef, *, reason: str, message: str, revision: str, warning: bool = False
    ) -> bool:
        """Post one Event about `ref`; False (logged) when the API refused it."""
        now = datetime.now(UTC)
        namespace = ref.namespace or "default"
        event = client.CoreV1Event(
            metadata=client.V1ObjectMeta(
                generate_name=f"{ref.name}.", namespace=namespace,
                annotations={REVISION_ANNOTATION: revision},
            ),
            involved_object=client.V1ObjectReference(
                kind=ref.kind, name=ref.name, namespace=ref.namespace or None
            ),
            reason=reason,
            message=message,
            type="Warning" if warning else "Normal",
            source=client.V1EventSource(component=COMPONENT),
            reporting_component=f"{COMPONENT}.dev/reconciler",
            reporting_instance=self._instance,
            first_timestamp=now,
            last_timestamp=now,
            count=1,
        )
        try:
            self._api.create_namespaced_event(namespace, event, _request_timeout=self._timeout)
        except (ApiException, OSError, urllib3.exceptions.HTTPError) as exc:  # urllib3's: unreachable
            log.warning("event not posted", ref=str(ref), reason=reason, error=error_line(exc))
            return False
        return True
