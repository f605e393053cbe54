"""First applies of desired_state/ on fresh real control planes whose Nodes heartbeat.

    KUBEBUILDER_ASSETS=DIR python -m bench.real_apply [--clusters 20] [--heartbeat 0.2]
                                                      [--nodes-per-pool 2]

For each cluster: a new control plane (`sandbox.controlplane`), the sandbox's operators' CRDs,
the GPU Operator's namespace and the pools' Nodes (`gpuctl.realprep`); a thread plays the
kubelets, rewriting every Node's Ready condition each `--heartbeat` seconds (a real kubelet
does it every 10 s; faster makes the race between gpuctl's read and its write likelier); then
`gpuctl apply`'s engine applies desired_state/ twice. Printed: first applies that succeeded out
of all, the 409 Conflicts met and retried on the way, and the writes of the second passes
(target: every first apply succeeds, second passes write nothing).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

from kubernetes import config

from gpuctl.realprep import prepare_cluster
from reconciler.clock import SystemClock
from reconciler.cluster.client import KubeClusterClient
from reconciler.errors import ConflictError
from reconciler.pipeline import ReconcileOptions, reconcile
from reconciler.protocols import KubeObject
from reconciler.source import load_directory
from sandbox.controlplane import assets_dir, start_control_plane
from schemas.results import ReconcileOutcome, RevisionInfo

ROOT = Path(__file__).resolve().parents[1]


class CountingClient(KubeClusterClient):
    """Counts the 409 Conflicts its Node patches meet (each is retried by the engine)."""

    conflicts = 0

    def patch_node(self, name: str, patch: KubeObject) -> KubeObject:
        try:
            return super().patch_node(name, patch)
        except ConflictError:
            CountingClient.conflicts += 1
            raise


def heartbeat(client: KubeClusterClient, names: list[str], every: float, stop: threading.Event) -> None:
    """Rewrite each Node's Ready condition (status subresource), as kubelets do; each beat
    changes the condition (its message counts the beats), so each moves the resourceVersion as
    a kubelet's does (its lastHeartbeatTime has a resolution of one second)."""
    beat = 0
    while not stop.wait(every):
        beat += 1
        now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        for name in names:
            ready = {"type": "Ready", "status": "True", "reason": "KubeletReady",
                     "message": f"heartbeat {beat}", "lastHeartbeatTime": now, "lastTransitionTime": now}
            body = {"status": {"conditions": [ready]}}
            try:
                client._request("PATCH", f"/api/v1/nodes/{name}/status", body=body,
                                content_type="application/strategic-merge-patch+json")  # fmt: skip
            except Exception:
                continue


def one_cluster(assets: Path, every: float, nodes_per_pool: int) -> tuple[bool, int, str]:
    """(first apply succeeded, writes of the second pass, error) on one fresh control plane."""
    state = load_directory(ROOT / "desired_state").state
    assert state is not None
    with (
        tempfile.TemporaryDirectory(prefix="real-apply-") as tmp,
        start_control_plane(assets, Path(tmp)) as plane,
    ):
        admin = KubeClusterClient(config.new_client_from_config(str(plane.kubeconfig)))
        gpuctl = CountingClient(config.new_client_from_config(str(plane.kubeconfig)))
        stop = threading.Event()
        try:
            prepare_cluster(admin, state.pools, nodes_per_pool)
            names = [f"{pool.metadata.name}-{i}" for pool in state.pools for i in range(nodes_per_pool)]
            beats = threading.Thread(target=heartbeat, args=(admin, names, every, stop), daemon=True)
            beats.start()
            options = ReconcileOptions()
            revision = RevisionInfo("bench")
            first = reconcile(state, gpuctl, clock=SystemClock(), revision=revision, options=options)
            second = reconcile(state, gpuctl, clock=SystemClock(), revision=revision, options=options)
        finally:
            stop.set()
            gpuctl.close()
            admin.close()
    ok = first.outcome is ReconcileOutcome.SUCCEEDED
    return ok, len(second.changes.changed()), first.error or ""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clusters", type=int, default=20)
    parser.add_argument("--heartbeat", type=float, default=0.2, help="seconds between Node heartbeats")
    parser.add_argument("--nodes-per-pool", type=int, default=2)
    args = parser.parse_args(argv)
    assets = assets_dir()
    if assets is None:
        print("KUBEBUILDER_ASSETS must name a directory holding etcd and kube-apiserver", file=sys.stderr)
        return 2
    succeeded, second_writes, started = 0, 0, time.perf_counter()
    for index in range(args.clusters):
        ok, writes, error = one_cluster(assets, args.heartbeat, args.nodes_per_pool)
        succeeded += ok
        second_writes += writes
        print(f"cluster {index + 1}: first apply {'succeeded' if ok else 'FAILED: ' + error}, "
              f"second pass {writes} writes", flush=True)  # fmt: skip
    print(f"real-apply: {succeeded}/{args.clusters} first applies succeeded, "
          f"{CountingClient.conflicts} node-write conflicts retried, {second_writes} writes in second passes "
          f"({time.perf_counter() - started:.0f} s)")  # fmt: skip
    return 0 if succeeded == args.clusters and second_writes == 0 else 1


if __name__ == "__main__":
    raise SystemExit(main())
