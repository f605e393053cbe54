"""Reconcile engine benchmarks against the sandbox API server, or a real one.

    python -m bench.reconcile [--noop-objects 5000] [--first-apply-objects 1000]
                              [--rollout-nodes 32] [--max-unavailable 4] [--speed 100]
                              [--rss-objects 10000] [--only NAME ...]
                              [--backend sandbox|real|both]

`--backend real` runs noop, first-apply and rollout against a real control plane
(`KUBEBUILDER_ASSETS`, see bench/backends.py) with GPU nodes from `gpuctl sandbox nodes`;
`both` prints each figure for the sandbox and then the real server; every line names its backend.

Figures printed (targets from the reconcile-engine issue):
- noop: a second reconcile pass over N objects, wall time and write requests counted at the
  sandbox (target: under 3 s, zero writes);
- first-apply: the first pass over N objects (target: under 15 s);
- rollout: a MIG change across a pool of M nodes with maxUnavailable K, wall time against
  the ideal (node batches × the MIG manager's reconfiguration delay; target: within 20%),
  with the sandbox in its own process (`gpuctl sandbox --speed S`) as a real API server is;
- rss: peak RSS of a `gpuctl apply` process (load, render, plan, apply) reconciling N
  objects, measured on the child process (target: under 300 MB).

The repositories are generated into a temporary directory and loaded with the real loader.
"""

from __future__ import annotations

import argparse
import math
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml

import sandbox
from bench.backends import Server, api_server, chosen, gpu_cluster
from reconciler.clock import SystemClock
from reconciler.cluster import ConnectionSpec, KubeClusterClient
from reconciler.errors import ReconcileError
from reconciler.pipeline import ReconcileOptions, reconcile
from reconciler.source import load_directory
from sandbox import GpuTimings
from schemas.desired import DesiredState
from schemas.results import ReconcileOutcome, RevisionInfo

ROOT = Path(__file__).resolve().parents[1]
KINDS = ("ConfigMap", "Role", "ServiceAccount", "Service")


def _object(kind: str, name: str, namespace: str, index: int) -> dict[str, Any]:
    meta = {"name": name, "namespace": namespace, "labels": {"app": f"svc-{index % 50}", "tier": "bench"}}
    if kind == "ConfigMap":
        return {
            "apiVersion": "v1",
            "kind": kind,
            "metadata": meta,
            "data": {"config.yaml": f"index: {index}\n"},
        }
    if kind == "Role":
        rule = {"apiGroups": [""], "resources": ["configmaps"], "verbs": ["get", "list"]}
        return {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": kind, "metadata": meta, "rules": [rule]}
    if kind == "ServiceAccount":
        return {"apiVersion": "v1", "kind": kind, "metadata": meta}
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": meta,
        "spec": {
            "selector": {"app": f"svc-{index % 50}"},
            "ports": [{"name": "http", "port": 80 + index % 10}],
        },
    }


def write_repository(directory: Path, count: int, namespaces: int = 20) -> Path:
    """A repository of `count` objects: `namespaces` Namespaces plus a mix of four kinds."""
    directory.mkdir(parents=True, exist_ok=True)
    names = [f"team-{i:02d}" for i in range(namespaces)]
    docs = [{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": n}} for n in names]
    (directory / "namespaces.yaml").write_text(yaml.safe_dump_all(docs))
    per_file = 500
    remaining = count - namespaces
    for chunk in range(math.ceil(remaining / per_file)):
        docs = []
        for index in range(chunk * per_file, min(remaining, (chunk + 1) * per_file)):
            kind = KINDS[index % len(KINDS)]
            docs.append(_object(kind, f"obj-{index:05d}", names[index % namespaces], index))
        (directory / f"objects-{chunk:03d}.yaml").write_text(yaml.safe_dump_all(docs))
    return directory


def load(directory: Path) -> DesiredState:
    loaded = load_directory(directory)
    if loaded.state is None:
        raise SystemExit("\n".join(str(d) for d in loaded.errors[:20]))
    return loaded.state


def _pass(
    state: DesiredState, server: Server, client: KubeClusterClient, **options: Any
) -> tuple[float, int]:
    writes = server.writes(client)
    start = time.perf_counter()
    result = reconcile(
        state,
        client,
        clock=SystemClock(),
        revision=RevisionInfo("bench"),
        options=ReconcileOptions(**options),
    )
    elapsed = time.perf_counter() - start
    if result.outcome is ReconcileOutcome.FAILED:
        raise SystemExit(f"reconcile failed: {result.error}")
    return elapsed, server.writes(client) - writes


def bench_apply(objects: int, *, noop: bool, backend: str = "sandbox") -> None:
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        state = load(write_repository(Path(tmp), objects))
        load_s = time.perf_counter() - t0
        with api_server(backend) as server:
            client = KubeClusterClient.connect(ConnectionSpec(kubeconfig=str(server.kubeconfig)))
            first_s, first_writes = _pass(state, server, client)
            prefix = f"[{backend}] "
            if not noop:
                print(
                    f"{prefix}first-apply: {objects} objects in {first_s:.2f} s ({first_writes} writes; "
                    f"loading the repository took {load_s:.2f} s more)"
                )
                return
            noop_s, noop_writes = _pass(state, server, client)
            print(
                f"{prefix}noop: {objects} objects in {noop_s:.2f} s, {noop_writes} write requests "
                f"(first apply {first_s:.2f} s; loading {load_s:.2f} s)"
            )
            client.close()


def _rollout_pool(nodes: int, max_unavailable: int, mig: str) -> dict[str, Any]:
    return {
        "apiVersion": "gpuctl.dev/v1alpha1",
        "kind": "GPUNodePool",
        "metadata": {"name": "bench-h100"},
        "spec": {
            "nodeSelector": {"matchLabels": {"gpuctl.dev/pool": "bench-h100"}},
            "gpu": {"model": "H100-SXM5-80GB", "perNode": 8},
            "nodes": nodes,
            "mig": {"config": mig, "strategy": "mixed"},
            "rollout": {"maxUnavailable": max_unavailable},
        },
    }


def bench_rollout(nodes: int, max_unavailable: int, speed: float, backend: str = "sandbox") -> None:
    """The GPU components run in their own process (`gpuctl sandbox`, or `gpuctl sandbox nodes`
    on a real server), so that they do not share the engine's interpreter lock."""
    with tempfile.TemporaryDirectory() as tmp:
        repo = Path(tmp) / "repo"
        repo.mkdir()
        pool_file = repo / "pool.yaml"
        pool_file.write_text(yaml.safe_dump(_rollout_pool(nodes, max_unavailable, "all-balanced")))
        with gpu_cluster(backend, repo, speed, Path(tmp)) as kubeconfig:
            client = _wait_for_api(kubeconfig, nodes)
            clock = SystemClock()
            poll = 1.0 / speed  # one sandbox second
            revision = RevisionInfo("bench")
            reconcile(
                load(repo),
                client,
                clock=clock,
                revision=revision,
                options=ReconcileOptions(poll_interval=poll),
            )
            pool_file.write_text(yaml.safe_dump(_rollout_pool(nodes, max_unavailable, "all-1g.10gb")))
            after = load(repo)
            start = time.perf_counter()
            result = reconcile(
                after, client, clock=clock, revision=revision, options=ReconcileOptions(poll_interval=poll)
            )
            wall = time.perf_counter() - start
            if result.outcome is not ReconcileOutcome.SUCCEEDED:
                raise SystemExit(f"rollout failed: {result.error}")
            ideal = math.ceil(nodes / max_unavailable) * GpuTimings().mig_reconfigure_s / speed
            writes = len(result.changes.changed())
            prefix = f"[{backend}] "
            print(
                f"{prefix}rollout: {nodes} nodes, maxUnavailable {max_unavailable}, speed {speed:g}: "
                f"{wall:.2f} s "
                f"against ideal {ideal:.2f} s ({(wall / ideal - 1) * 100:+.1f}%), {writes} writes"
            )
            client.close()


def _wait_for_api(kubeconfig: Path, nodes: int, timeout: float = 90.0) -> KubeClusterClient:
    """A client once the server answers and lists the pool's `nodes` Nodes."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if kubeconfig.exists() and kubeconfig.stat().st_size:
            client = KubeClusterClient.connect(ConnectionSpec(kubeconfig=str(kubeconfig)))
            try:
                if len(client.list_objects("v1", "Node")) >= nodes:
                    return client
            except ReconcileError:
                pass
            client.close()
        time.sleep(0.1)
    raise SystemExit(f"the cluster did not serve {nodes} nodes within {timeout:g} s")


def bench_rss(objects: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        repo = write_repository(Path(tmp) / "repo", objects)
        with sandbox.start() as sb:
            kubeconfig, audit_db = str(sb.kubeconfig_path), str(Path(tmp) / "audit.db")
            command = [sys.executable, "-m", "gpuctl", "apply", str(repo), "--sandbox", kubeconfig,
                       "--audit-db", audit_db]  # fmt: skip
            start = time.perf_counter()
            done = subprocess.run(
                command,
                cwd=ROOT,
                env={**os.environ, "PYTHONPATH": str(ROOT)},
                capture_output=True,
                check=False,
            )
            elapsed = time.perf_counter() - start
            if done.returncode != 0:
                raise SystemExit(done.stderr.decode()[-2000:])
            peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
            print(
                f"rss: gpuctl apply of {objects} objects: peak RSS {peak_mb:.0f} MB, "
                f"{elapsed:.1f} s end to end"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--noop-objects", type=int, default=5000)
    parser.add_argument("--first-apply-objects", type=int, default=1000)
    parser.add_argument("--rollout-nodes", type=int, default=32)
    parser.add_argument("--max-unavailable", type=int, default=4)
    parser.add_argument("--speed", type=float, default=100.0)
    parser.add_argument("--rss-objects", type=int, default=10000)
    parser.add_argument("--only", nargs="*", choices=["noop", "first-apply", "rollout", "rss"])
    parser.add_argument("--backend", choices=["sandbox", "real", "both"], default="sandbox")
    args = parser.parse_args()
    chosen_benches = set(args.only or ["noop", "first-apply", "rollout", "rss"])
    for backend in chosen(args.backend):
        if "noop" in chosen_benches:
            bench_apply(args.noop_objects, noop=True, backend=backend)
        if "first-apply" in chosen_benches:
            bench_apply(args.first_apply_objects, noop=False, backend=backend)
        if "rollout" in chosen_benches:
            bench_rollout(args.rollout_nodes, args.max_unavailable, args.speed, backend)
    if "rss" in chosen_benches:
        bench_rss(args.rss_objects)


if __name__ == "__main__":
    main()
