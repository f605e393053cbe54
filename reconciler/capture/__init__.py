"""Workload capture: GPU pods seen in the cluster become job records (grouped by owner) in a
bounded SQLite store next to the audit log, exported as a gpuctl CSV trace for the simulator.

`pods` reads a Pod into a `PodRecord` (pure); `store` keeps them; `recorder` turns watch
events into store writes and metrics; `export` writes jobs as CSV. The watch itself lives in
`reconciler.cluster.pod_watch` (the only package talking to the API)."""

from reconciler.capture.pods import PodRecord, pod_record
from reconciler.capture.store import CapturedJob, CaptureStore, RetentionPolicy

__all__ = ["CaptureStore", "CapturedJob", "PodRecord", "RetentionPolicy", "pod_record"]
