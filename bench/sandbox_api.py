"""Sandbox API server benchmark: start-up, LIST of 10,000 objects, per-request server time,
and concurrent server-side applies — all through the official Python client over HTTPS.

    python -m bench.sandbox_api [--objects 10000] [--applies 1000] [--threads 8] [--gets 2000]

Targets (issue 3): start-up with the example pools < 1 s; LIST of 10,000 ConfigMaps < 1 s;
median server-side time per request < 1 ms; 1,000 applies from 8 threads < 5 s.
The 10,000 ConfigMaps are created in-process (setup, not measured).
"""

from __future__ import annotations

import argparse
import statistics
import threading
import time
from pathlib import Path

from kubernetes import client, config

import sandbox
from sandbox import SandboxSpec
from sandbox.api.handlers import Request

ROOT = Path(__file__).resolve().parents[1]


def _example_spec() -> tuple[SandboxSpec, float]:
    from reconciler.source import load_directory

    started = time.perf_counter()
    result = load_directory(ROOT / "desired_state")
    if result.state is None:
        raise SystemExit(f"example repository does not load: {result.errors[:3]}")
    return SandboxSpec.from_state(result.state), time.perf_counter() - started


def _cli_startup_ms() -> float:
    """Wall time from launching `gpuctl sandbox --pools desired_state` to its "serving" line."""
    import signal
    import subprocess
    import sys

    started = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-m", "gpuctl", "sandbox", "--pools", str(ROOT / "desired_state")],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        line = proc.stdout.readline() if proc.stdout else ""
        elapsed = (time.perf_counter() - started) * 1000
        if not line.startswith("sandbox cluster serving"):
            raise SystemExit(f"gpuctl sandbox did not start: {line!r}")
        return elapsed
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=30)


def _fill(cluster: sandbox.Sandbox, namespace: str, count: int) -> None:
    ns_type = cluster.registry.lookup("", "v1", "namespaces")
    cm_type = cluster.registry.lookup("", "v1", "configmaps")
    assert ns_type is not None and cm_type is not None
    cluster.api.create(Request(ns_type), {"metadata": {"name": namespace}})
    for i in range(count):
        cluster.api.create(
            Request(cm_type, namespace, params={"fieldManager": "bench"}),
            {
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "metadata": {"name": f"cm-{i:05d}", "labels": {"app": "bench", "shard": str(i % 16)}},
                "data": {"config.yaml": f"replicas: {i % 7}\nzone: zone-{i % 3}\n", "owner": "team-ml"},
            },
        )


def _applies(kubeconfig: str, namespace: str, total: int, threads: int) -> float:
    per_thread = total // threads
    barrier = threading.Barrier(threads + 1)
    failures: list[BaseException] = []

    def worker(index: int) -> None:
        api = config.new_client_from_config(config_file=kubeconfig)
        core = client.CoreV1Api(api)
        barrier.wait()
        try:
            for i in range(per_thread):
                name = f"applied-{index}-{i}"
                body = {
                    "apiVersion": "v1",
                    "kind": "ConfigMap",
                    "metadata": {"name": name, "labels": {"t": str(index)}},
                    "data": {"a": str(i), "b": "x" * 32},
                }
                core.patch_namespaced_config_map(
                    name,
                    namespace,
                    body,
                    field_manager="bench",
                    force=True,
                    _content_type="application/apply-patch+yaml",
                )
        except BaseException as exc:
            failures.append(exc)
        finally:
            api.close()

    workers = [threading.Thread(target=worker, args=(i,)) for i in range(threads)]
    for w in workers:
        w.start()
    barrier.wait()
    started = time.perf_counter()
    for w in workers:
        w.join()
    elapsed = time.perf_counter() - started
    if failures:
        raise failures[0]
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--objects", type=int, default=10_000)
    parser.add_argument("--applies", type=int, default=1_000)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--gets", type=int, default=2_000)
    args = parser.parse_args()

    spec, load_s = _example_spec()
    started = time.perf_counter()
    cluster = sandbox.start(spec)
    startup_s = time.perf_counter() - started
    nodes = sum(p.spec.nodes for p in spec.pools)
    print(
        f"start-up with the example pools ({nodes} nodes): {startup_s * 1000:.0f} ms "
        f"(target < 1000 ms; loading the repository took another {load_s * 1000:.0f} ms)"
    )
    cli_runs = [_cli_startup_ms() for _ in range(3)]
    print(
        "`gpuctl sandbox --pools desired_state` from launch to serving: "
        f"median {statistics.median(cli_runs):.0f} ms (Python start-up, imports, loading, start-up)"
    )
    try:
        _fill(cluster, "bench", args.objects)
        api = config.new_client_from_config(config_file=str(cluster.kubeconfig_path))
        core = client.CoreV1Api(api)
        runs = []
        cluster.stats.reset()
        for _ in range(5):
            t0 = time.perf_counter()
            listed = core.list_namespaced_config_map("bench")
            runs.append(time.perf_counter() - t0)
            assert len(listed.items) == args.objects
        list_median, server_list = statistics.median(runs), cluster.stats.median_seconds()
        print(
            f"LIST of {args.objects} ConfigMaps via the official client: median {list_median * 1000:.0f} ms, "
            f"best {min(runs) * 1000:.0f} ms over 5 runs (target < 1000 ms); "
            f"server side {server_list * 1000:.0f} ms"
        )

        cluster.stats.reset()
        for i in range(args.gets):
            core.read_namespaced_config_map(f"cm-{i % args.objects:05d}", "bench")
        server_median = cluster.stats.median_seconds()
        durations = sorted(cluster.stats.durations())
        p99 = durations[int(len(durations) * 0.99) - 1]
        print(
            f"server-side time per GET ({args.gets} requests): median {server_median * 1e6:.0f} µs, "
            f"p99 {p99 * 1e6:.0f} µs (target median < 1000 µs)"
        )
        api.close()

        cluster.stats.reset()
        elapsed = _applies(str(cluster.kubeconfig_path), "bench", args.applies, args.threads)
        applied = args.applies // args.threads * args.threads
        print(
            f"{applied} server-side applies from {args.threads} threads: {elapsed:.2f} s "
            f"({applied / elapsed:.0f}/s; server median {cluster.stats.median_seconds() * 1e6:.0f} µs) "
            f"(target < 5 s)"
        )
    finally:
        cluster.stop()


if __name__ == "__main__":
    main()
