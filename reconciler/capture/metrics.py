"""Prometheus metrics of the workload capture, registered in the daemon's registry: GPU devices
held per pool (from running GPU pods), the queue wait of each pod (creation to first container
running) by team and queue, and the capture store's size and activity."""

from __future__ import annotations

from collections.abc import Mapping

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

_WAIT_BUCKETS = (1.0, 5.0, 15.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0, 3600.0, 7200.0, 21600.0, 86400.0)


class CaptureMetrics:
    """The capture's metric families; `set_allocated` replaces the whole per-pool gauge."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.gpu_allocated = Gauge(
            "gpuctl_gpu_allocated", "GPU devices held by running pods, by pool and resource.",
            ["pool", "resource"], registry=registry,
        )
        self.pod_wait = Histogram(
            "gpuctl_pod_queue_wait_seconds", "Time from a GPU pod's creation to its first running container.",
            ["team", "queue"], registry=registry, buckets=_WAIT_BUCKETS,
        )
        self.pods_ended = Counter(
            "gpuctl_captured_pods_ended_total", "GPU pods seen ending, by team and outcome.",
            ["team", "outcome"], registry=registry,
        )
        self.store_pods = Gauge(
            "gpuctl_capture_store_pods", "Pods held in the capture store.", registry=registry
        )
        self.store_jobs = Gauge(
            "gpuctl_capture_store_jobs", "Jobs held in the capture store.", registry=registry
        )
        self.pruned = Counter(
            "gpuctl_capture_pruned_pods_total", "Pods removed from the capture store by retention.",
            registry=registry,
        )
        self._allocated_labels: set[tuple[str, str]] = set()

    def set_allocated(self, allocated: Mapping[tuple[str, str], int]) -> None:
        """Replace the gauge with `allocated` ((pool, resource) → devices held)."""
        for pool, resource in self._allocated_labels - set(allocated):
            self.gpu_allocated.remove(pool, resource)
        for (pool, resource), devices in allocated.items():
            self.gpu_allocated.labels(pool=pool, resource=resource).set(devices)
        self._allocated_labels = set(allocated)
