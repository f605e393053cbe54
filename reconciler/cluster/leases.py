"""A `LeaseStore` on a real coordination.k8s.io/v1 Lease, through the official client.
Used by the daemon's leader elector; maps API errors to LeaseConflict (409, lost race)
and LeaseUnavailable (anything else, retried on the next round)."""

from __future__ import annotations

import urllib3
from kubernetes import client
from kubernetes.client.exceptions import ApiException

from reconciler.cluster.errortext import error_line
from reconciler.daemon.leases import LeaseConflict, LeaseRecord, LeaseUnavailable

_CONFLICT = (409,)
# What the client raises when the API server cannot be reached (refused, reset, timed out,
# its own retries used up): urllib3's errors are not OSErrors.
_UNREACHABLE = (OSError, urllib3.exceptions.HTTPError)
_NOT_FOUND = 404


class KubernetesLeaseStore:
    """The Lease `namespace/name`, through an ApiClient from `reconciler.cluster.connection`."""

    def __init__(self, api: client.ApiClient, namespace: str, name: str, *, timeout_s: float = 5.0) -> None:
        self._api = client.CoordinationV1Api(api)
        self.namespace = namespace
        self.name = name
        self._timeout = timeout_s

    def get(self) -> LeaseRecord | None:
        try:
            lease = self._api.read_namespaced_lease(self.name, self.namespace, _request_timeout=self._timeout)
        except ApiException as exc:
            if exc.status == _NOT_FOUND:
                return None
            raise _translate(exc, "read") from exc
        except _UNREACHABLE as exc:
            raise LeaseUnavailable(f"reading Lease {self.namespace}/{self.name}: {error_line(exc)}") from exc
        return _record(lease)

    def create(self, record: LeaseRecord) -> LeaseRecord:
        body = client.V1Lease(
            metadata=client.V1ObjectMeta(name=self.name, namespace=self.namespace), spec=_spec(record)
        )
        try:
            lease = self._api.create_namespaced_lease(self.namespace, body, _request_timeout=self._timeout)
        except ApiException as exc:
            raise _translate(exc, "create") from exc
        except _UNREACHABLE as exc:
            raise LeaseUnavailable(f"creating Lease {self.namespace}/{self.name}: {error_line(exc)}") from exc
        return _record(lease)

    def update(self, record: LeaseRecord) -> LeaseRecord:
        body = client.V1Lease(
            metadata=client.V1ObjectMeta(
                name=self.name, namespace=self.namespace, resource_version=record.version or None
            ),
            spec=_spec(record),
        )
        try:
            lease = self._api.replace_namespaced_lease(
                self.name, self.namespace, body, _request_timeout=self._timeout
            )
        except ApiException as exc:
            raise _translate(exc, "update") from exc
        except _UNREACHABLE as exc:
            raise LeaseUnavailable(f"updating Lease {self.namespace}/{self.name}: {error_line(exc)}") from exc
        return _record(lease)


def _translate(exc: ApiException, verb: str) -> Exception:
    if exc.status in _CONFLICT:
        return LeaseConflict(f"Lease {verb} lost a race: {error_line(exc)}")
    return LeaseUnavailable(f"Lease {verb} failed: {error_line(exc)}")


def _spec(record: LeaseRecord) -> client.V1LeaseSpec:
    return client.V1LeaseSpec(
        holder_identity=record.holder,
        lease_duration_seconds=record.duration_s,
        acquire_time=record.acquire_time,
        renew_time=record.renew_time,
        lease_transitions=record.transitions,
    )


def _record(lease: client.V1Lease) -> LeaseRecord:
    spec = lease.spec or client.V1LeaseSpec()
    meta = lease.metadata or client.V1ObjectMeta()
    return LeaseRecord(
        holder=spec.holder_identity or None,
        duration_s=spec.lease_duration_seconds or 0,
        acquire_time=spec.acquire_time,
        renew_time=spec.renew_time,
        transitions=spec.lease_transitions or 0,
        version=meta.resource_version or "",
    )
