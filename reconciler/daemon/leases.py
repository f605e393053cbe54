"""The Lease types under their former name: they live in `reconciler.leases`, the seam that
both the daemon and `reconciler.cluster` may import."""

from reconciler.leases import LeaseConflict, LeaseRecord, LeaseStore, LeaseUnavailable

__all__ = ["LeaseConflict", "LeaseRecord", "LeaseStore", "LeaseUnavailable"]
