"""Cluster access: the only package that imports `kubernetes`."""

from reconciler.cluster.client import FIELD_MANAGER, KubeClusterClient
from reconciler.cluster.connection import ConnectionSpec

__all__ = ["FIELD_MANAGER", "ConnectionSpec", "KubeClusterClient"]
