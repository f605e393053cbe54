"""`gpuctl apply desired_state` on fresh real clusters, as a new user would try it: each
round starts a new control plane (`KUBEBUILDER_ASSETS`), installs the operators' CRDs, lets
`sandbox.remote.GpuNodes` register the example pools' nodes (heartbeating every 10 s, as
kubelets do), runs the first apply and a second pass, and stops the cluster.

    python -m bench.fresh_clusters [--clusters 20] [--speed 200]

Prints one line per cluster (outcome, error, second-pass writes counted at gpuctl's
client) and the total: how many of N first applies succeeded, and how many second passes
wrote nothing (target: N of N, and 0 writes)."""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from bench.backends import WRITE_METHODS
from reconciler.clock import SystemClock
from reconciler.cluster import ConnectionSpec, KubeClusterClient
from reconciler.pipeline import ReconcileOptions, reconcile
from reconciler.source import load_directory
from sandbox import SandboxSpec
from sandbox.controlplane import ASSETS_ENV, assets_dir, start_control_plane
from sandbox.remote import GpuNodes
from sandbox.remote.operators import install_operators
from schemas.results import ReconcileOutcome, RevisionInfo

ROOT = Path(__file__).resolve().parents[1]


def _writes(client: KubeClusterClient) -> int:
    return sum(client.requests.get(method, 0) for method in WRITE_METHODS)


def one_cluster(assets: Path, index: int, speed: float) -> tuple[bool, bool]:
    """(first apply succeeded, second pass wrote nothing) on a new cluster."""
    loaded = load_directory(ROOT / "desired_state")
    if loaded.state is None:
        raise SystemExit("desired_state/ does not load")
    state = loaded.state
    with (
        tempfile.TemporaryDirectory(prefix="gpuctl-fresh-") as tmp,
        start_control_plane(assets, Path(tmp)) as plane,
    ):
        install_operators(plane.kubeconfig)
        with GpuNodes(plane.kubeconfig, SandboxSpec.from_state(state), speed=speed):
            client = KubeClusterClient.connect(ConnectionSpec(kubeconfig=str(plane.kubeconfig)))
            options = ReconcileOptions(poll_interval=1.0 / speed)
            start = time.perf_counter()
            first = reconcile(
                state, client, clock=SystemClock(), revision=RevisionInfo("fresh"), options=options
            )
            first_s = time.perf_counter() - start
            ok = first.outcome is not ReconcileOutcome.FAILED
            quiet = False
            writes = -1
            if ok:
                before = _writes(client)
                second = reconcile(
                    state, client, clock=SystemClock(), revision=RevisionInfo("fresh"), options=options
                )
                writes = _writes(client) - before
                quiet = second.outcome is ReconcileOutcome.NOOP and writes == 0
            client.close()
    error = "" if ok else f": {(first.error or '')[:200]}"
    print(
        f"cluster {index + 1}: first apply {first.outcome.value} in {first_s:.1f} s"
        f"{error}; second pass {writes if ok else '-'} writes",
        flush=True,
    )
    return ok, quiet


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clusters", type=int, default=20)
    parser.add_argument("--speed", type=float, default=200.0)
    args = parser.parse_args()
    assets = assets_dir()
    if assets is None:
        raise SystemExit(f"{ASSETS_ENV} must name a directory holding etcd and kube-apiserver")
    results = [one_cluster(assets, i, args.speed) for i in range(args.clusters)]
    succeeded = sum(ok for ok, _ in results)
    quiet = sum(q for _, q in results)
    print(
        f"fresh clusters: first apply succeeded on {succeeded} of {args.clusters}; "
        f"second pass wrote nothing on {quiet} of {succeeded}"
    )


if __name__ == "__main__":
    main()
