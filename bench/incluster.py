"""gpuctl as Pods on a real node (the environment of tests/incluster): image size, time to
Ready, commit → first write from inside the cluster, the rollout resumed after the leader's
Pod is deleted, and the Pods' RSS.

    python -m bench.incluster [--commits 5]

Needs what tests/incluster needs (root, KUBEBUILDER_ASSETS with a kubelet, containerd, runc,
the CNI plugins, mmdebstrap, gcc); prints why and exits 0 without it. The Pods poll the
repository every 2 s (the test overlay's poll-interval), which bounds commit → write.
"""

from __future__ import annotations

import argparse
import contextlib
import statistics
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

from kubernetes import watch
from urllib3.exceptions import ProtocolError

from tests.incluster.environment import (
    NAMESPACE,
    POOL_NODES,
    InCluster,
    config_map,
    gpu_pool,
    incluster_environment,
    why_not,
)


def _mib(size: int) -> str:
    return f"{size / 2**20:.0f} MiB"


class _FirstWrite:
    """Watches the ConfigMap and records when each value of `data.revision` first appears."""

    def __init__(self, incluster: InCluster) -> None:
        self.seen: dict[str, float] = {}
        self._watch = watch.Watch()
        self._incluster = incluster
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        stream = self._watch.stream(self._incluster.core.list_namespaced_config_map, "team-a",
                                    field_selector="metadata.name=gpu-settings")
        with contextlib.suppress(ProtocolError):  # the stream ends when stopped
            for event in stream:
                revision = (event["object"].data or {}).get("revision")
                if revision is not None:
                    self.seen.setdefault(revision, time.monotonic())

    def stop(self) -> None:
        self._watch.stop()


def _first_times(incluster: InCluster, conditions: dict[str, Callable[[], bool]]) -> dict[str, float]:
    """Seconds from now until each condition first held (polled every 0.2 s)."""
    start = time.monotonic()
    firsts: dict[str, float] = {}

    def all_seen() -> bool:
        for name, condition in conditions.items():
            if name not in firsts and condition():
                firsts[name] = time.monotonic() - start
        return len(firsts) == len(conditions)

    incluster.wait(", ".join(conditions), all_seen, timeout_s=240)
    return dict(sorted(firsts.items(), key=lambda item: item[1]))


def _commit_to_write(incluster: InCluster, commits: int) -> list[float]:
    writes = _FirstWrite(incluster)
    latencies = []
    try:
        for index in range(commits):
            revision = f"bench-{index}"
            pushed = time.monotonic()
            incluster.commit({"config.yaml": config_map(revision)}, revision)
            incluster.wait(f"ConfigMap {revision}", lambda r=revision: r in writes.seen)
            latencies.append(writes.seen[revision] - pushed)
    finally:
        writes.stop()
    return latencies


def _resumed_rollout(incluster: InCluster) -> dict[str, float]:
    incluster.commit({"pools/a100.yaml": gpu_pool("all-3g.40gb")}, "a100: all-3g.40gb")
    incluster.wait("the first node of the rollout", lambda: incluster.mig_done("all-3g.40gb") >= 1)
    done_before = incluster.mig_done("all-3g.40gb")
    old = incluster.leader()
    follower = next(p.metadata.name for p in incluster.ready_pods() if p.metadata.name != old)
    deleted = time.monotonic()
    incluster.core.delete_namespaced_pod(str(old), NAMESPACE)
    lease = incluster.wait("the follower's Lease", lambda: incluster.leader() == follower)
    incluster.wait("the next node", lambda: incluster.mig_done("all-3g.40gb") > done_before, timeout_s=180)
    next_node = time.monotonic() - deleted
    incluster.wait("the whole rollout", lambda: incluster.mig_done("all-3g.40gb") == POOL_NODES,
                   timeout_s=180)
    return {"nodes done before the deletion": done_before, "deletion → Lease taken": lease,
            "deletion → next node done": next_node, "deletion → rollout finished": time.monotonic() - deleted}


def run(workdir: Path, commits: int) -> None:
    started = time.monotonic()
    with incluster_environment(workdir) as incluster:
        applied = time.monotonic()
        archive = incluster.workdir / "gpuctl-image.tar"
        print(f"image archive: {_mib(archive.stat().st_size)} (uncompressed layers)")
        print(f"environment up and deploy/ applied: {applied - started:.1f} s "
              "(image layer, control plane, node, image import)")
        firsts = _first_times(incluster, {
            "one Pod Ready": lambda: len(incluster.ready_pods()) >= 1,
            "both Pods Ready": lambda: len(incluster.ready_pods()) == 2,
            "leader elected": lambda: incluster.leader() is not None,
            "first revision applied": lambda: incluster.config_revision() == "one",
        })
        print("kubectl apply → " + "; ".join(f"{name}: {seconds:.1f} s" for name, seconds in firsts.items()))
        latencies = _commit_to_write(incluster, commits)
        print(f"commit → first write (from inside the cluster, {commits} commits, poll every 2 s): "
              f"median {statistics.median(latencies):.2f} s, max {max(latencies):.2f} s")
        for name, value in _resumed_rollout(incluster).items():
            print(f"rollout over {POOL_NODES} GPU nodes, leader deleted mid-rollout: {name}: "
                  + (f"{value:.0f}" if name.startswith("nodes") else f"{value:.1f} s"))
        incluster.wait("the replacement Pod Ready", lambda: len(incluster.ready_pods()) == 2, timeout_s=240)
        for pod in incluster.ready_pods():
            role = "leader" if pod.metadata.name == incluster.leader() else "follower"
            print(f"RSS of the {role} Pod's gpuctl: {_mib(incluster.rss_bytes(pod))}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--commits", type=int, default=5)
    options = parser.parse_args(argv)
    if reasons := why_not():
        print("in-cluster benchmark skipped: " + "; ".join(reasons))
        return
    with tempfile.TemporaryDirectory(prefix="gpuctl-bench-incluster-") as scratch:
        run(Path(scratch), options.commits)


if __name__ == "__main__":
    main()
