"""The Lease record the leader elector reads and writes, and the store Protocol behind it.
A seam, like `reconciler.protocols`: the daemon's elector uses it, and the Kubernetes
implementation, `reconciler.cluster.leases.KubernetesLeaseStore`, provides it, so neither
imports the other."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from reconciler.errors import TransientError


@dataclass(frozen=True)
class LeaseRecord:
    """The fields of a coordination.k8s.io/v1 Lease that leader election uses."""

    holder: str | None
    duration_s: int
    acquire_time: datetime | None = None
    renew_time: datetime | None = None
    transitions: int = 0
    # The object's resourceVersion: an update with a stale one fails with LeaseConflict.
    version: str = ""


class LeaseConflict(TransientError):
    """Someone else created or updated the Lease first (HTTP 409): not an error, a lost race."""


class LeaseUnavailable(TransientError):
    """The Lease could not be read or written (API down, timeout, forbidden): retry later."""


class LeaseStore(Protocol):
    """One named Lease object."""

    def get(self) -> LeaseRecord | None:
        """The current record, or None when the Lease does not exist."""

    def create(self, record: LeaseRecord) -> LeaseRecord:
        """Create the Lease; LeaseConflict if it already exists."""

    def update(self, record: LeaseRecord) -> LeaseRecord:
        """Replace the Lease if `record.version` is current; LeaseConflict otherwise."""
