"""`gpuctl run --capture`: the assembled daemon on the sandbox records the GPU pods that run,
beside its audit log, and exports the capture metrics on its /metrics registry."""

from __future__ import annotations

import pytest

from gpuctl.assembly import assemble
from reconciler.capture.pods import Outcome
from reconciler.daemon.settings import load_settings
from tests.capture.sandbox_pods import create_pods, wait_until
from tests.daemon.test_daemon_sandbox import example_repo

pytestmark = pytest.mark.slow


def test_daemon_captures_sandbox_pods_and_exports_metrics(tmp_path):
    """Pods launched on the daemon's sandbox land in the store and in gpuctl_gpu_allocated by pool."""
    example_repo(tmp_path / "repo")
    settings = load_settings({
        "repo": str(tmp_path / "repo"), "sandbox": True, "listen": "127.0.0.1:0",
        "audit_db": str(tmp_path / "state" / "audit.db"), "cache_dir": str(tmp_path / "cache"),
        "resync_interval": "1h", "capture": True, "leader_elect": False,
    })
    with assemble(settings) as assembled:
        assert assembled.capture is not None
        assert assembled.capture.store.path == tmp_path / "state" / "gpuctl-capture.db"
        assembled.daemon.start()
        assert wait_until(assembled.daemon.loop.attempted.is_set, 60)
        create_pods(assembled.sandbox, "train", 2, namespace="default", per_pod=2, runtime_s=4)
        metrics = assembled.daemon.metrics

        def allocated() -> bool:
            text = metrics.exposition().decode()
            return 'gpuctl_gpu_allocated{pool="a100-training",resource="nvidia.com/gpu"} 4.0' in text

        assert wait_until(allocated, 60)
        store = assembled.capture.store
        assert wait_until(lambda: [j.outcome for j in store.jobs()] == [Outcome.SUCCEEDED] * 2, 30)
        text = metrics.exposition().decode()
    assert 'gpuctl_pod_queue_wait_seconds_count{queue="default",team="default"} 2.0' in text
    assert "gpuctl_reconcile_total" in text  # the daemon's own metrics share the registry
