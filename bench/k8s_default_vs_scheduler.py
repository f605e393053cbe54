"""Benchmark: does the simulator's `k8s-default` predict the real kube-scheduler?

    KUBEBUILDER_ASSETS=DIR python -m bench.k8s_default_vs_scheduler [--nodes 100] [--seeds 3]
                                                                     [--trace default] [--arrived 1.0]

Puts one sequence of pods on a real control plane (etcd, kube-apiserver,
kube-controller-manager and the stock kube-scheduler from `KUBEBUILDER_ASSETS`) and on the
simulator, and compares where they end up. The cluster is the first `--nodes` openb GPU nodes,
emulated as Node objects (capacity and allocatable: CPU, memory, `nvidia.com/gpu`; a GPU-model
label; the Ready condition kept fresh); the pods are the whole-GPU pods of the openb pod list
(CPU, memory and whole GPUs; a `gpu_spec` becomes a required node affinity on the model label;
GPU fractions do not exist for kube-scheduler), in the inflate protocol's reference order until
`--arrived` × GPU capacity has been offered. Pods go one at a time: the next is created once
the scheduler has bound the previous one or marked it unschedulable (then it is deleted: with
pods that never leave it cannot fit later). The scheduler's choice is read from `spec.nodeName`.

Prints, per seed and pooled: the unallocated GPU % of the real scheduler, of `k8s-default` and
of `k8s-default-gpuctl` (the earlier model), and the total-variation distance between the
distributions of nodes by GPUs allocated (0 … 8).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from tempfile import TemporaryDirectory
from typing import Any

import numpy as np

from sandbox.controlplane import start_control_plane
from simulator.cluster import ClusterState, from_node_list
from simulator.cluster.spec import ClusterSpec
from simulator.inflate import reference_order, target_workload
from simulator.jobs import JobTable
from simulator.placement import TieBreaker, make_policy
from simulator.requests import BoundJobs, place_gang
from simulator.traces import NodeList, load_openb_nodes, load_openb_pods
from simulator.traces.locations import shared_traces_dir

MODEL_LABEL = "gpuctl.dev/gpu-model"
NAMESPACE = "default"
MAX_GPUS = 8


# ---------------------------------------------------------------- control plane


# The control plane comes from sandbox.controlplane (the same launcher as the tests).

# ---------------------------------------------------------------- emulated nodes


class EmulatedNodes:
    """Node objects for a `NodeList`, kept Ready by a heartbeat thread (the kubelet's job)."""

    def __init__(self, api: Any, nodes: NodeList, period: float = 8.0) -> None:
        self.api, self.nodes, self.period = api, nodes, period
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._beat, daemon=True)

    def _status(self, index: int) -> dict[str, Any]:
        now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        resources = {
            "cpu": f"{self.nodes.cpu_milli[index]}m",
            "memory": f"{self.nodes.memory_mib[index]}Mi",
            "pods": "1000",
            "nvidia.com/gpu": str(self.nodes.gpus[index]),
        }
        ready = {
            "type": "Ready", "status": "True", "reason": "KubeletReady", "message": "emulated",
            "lastHeartbeatTime": now, "lastTransitionTime": now,
        }  # fmt: skip
        return {"status": {"capacity": resources, "allocatable": resources, "conditions": [ready]}}

    def create(self) -> None:
        for index, name in enumerate(self.nodes.names):
            labels = {"kubernetes.io/hostname": name, MODEL_LABEL: self.nodes.models[index] or "none"}
            self.api.create_node(
                {"apiVersion": "v1", "kind": "Node", "metadata": {"name": name, "labels": labels}}
            )
            self.api.patch_node_status(name, self._status(index))
        self._thread.start()
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:  # the node lifecycle controller removes its not-ready taints
            listed = self.api.list_node().items
            if len(listed) == len(self.nodes) and not any(n.spec.taints for n in listed):
                return
            time.sleep(0.5)
        raise RuntimeError("emulated nodes still tainted after 60 s")

    def _beat(self) -> None:
        while not self._stop.wait(self.period):
            for index, name in enumerate(self.nodes.names):
                with contextlib.suppress(Exception):
                    self.api.patch_node_status(name, self._status(index))

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=30)


def _pod(name: str, jobs: JobTable, index: int) -> dict[str, Any]:
    gpus = str(int(jobs.gpus[index]))
    requests = {"cpu": f"{int(jobs.cpu_milli[index])}m", "memory": f"{int(jobs.memory_mib[index])}Mi"}
    spec: dict[str, Any] = {
        "containers": [
            {
                "name": "main",
                "image": "registry.invalid/none",
                "resources": {
                    "requests": {**requests, "nvidia.com/gpu": gpus},
                    "limits": {"nvidia.com/gpu": gpus},
                },
            }
        ],
        "restartPolicy": "Never",
        "automountServiceAccountToken": False,
    }
    mask = int(jobs.model_mask[index])
    if mask:
        models = [m for bit, m in enumerate(jobs.models) if mask >> bit & 1]
        term = {"matchExpressions": [{"key": MODEL_LABEL, "operator": "In", "values": models}]}
        spec["affinity"] = {
            "nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [term]}}
        }
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name}, "spec": spec}


def _outcome(pod: Any) -> str | None:
    """The node a pod was bound to, "" if the scheduler marked it unschedulable, None if undecided."""
    if pod.spec.node_name:
        return str(pod.spec.node_name)
    for condition in (pod.status.conditions or []) if pod.status else []:
        if (
            condition.type == "PodScheduled"
            and condition.status == "False"
            and condition.reason == "Unschedulable"
        ):
            return ""
    return None


def schedule_on_real(api: Any, watch_module: Any, jobs: JobTable, order: list[int], tag: str) -> list[str]:
    """Create the pods of `order` one at a time; each one's node ("" when unschedulable)."""
    placed: list[str] = []
    for position, index in enumerate(order):
        name = f"{tag}-{position:05d}"
        api.create_namespaced_pod(NAMESPACE, _pod(name, jobs, index))
        decided: str | None = None
        while decided is None:
            stream = watch_module.Watch().stream(
                api.list_namespaced_pod, NAMESPACE, field_selector=f"metadata.name={name}", timeout_seconds=30
            )
            for event in stream:
                decided = _outcome(event["object"])
                if decided is not None:
                    break
        if decided == "":
            api.delete_namespaced_pod(name, NAMESPACE, grace_period_seconds=0)
        placed.append(decided)
    return placed


def clear_pods(api: Any) -> None:
    api.delete_collection_namespaced_pod(NAMESPACE, grace_period_seconds=0)
    deadline = time.monotonic() + 120
    while api.list_namespaced_pod(NAMESPACE).items:
        if time.monotonic() > deadline:
            raise RuntimeError("pods still present 120 s after deleting them")
        time.sleep(0.3)


# ---------------------------------------------------------------- simulator side and comparison


def schedule_on_simulator(
    spec: ClusterSpec, jobs: JobTable, order: list[int], policy: str, seed: int
) -> list[str]:
    """The same sequence through the simulator's `policy`; each pod's node ("" when it fails)."""
    state = ClusterState(spec)
    chosen = make_policy(policy, target_workload(jobs, state))
    ties = TieBreaker(np.random.default_rng(seed))
    bound = BoundJobs(jobs, state)
    placed = []
    for index in order:
        done = place_gang(state, chosen, bound.request(index), int(jobs.pods[index]), ties)
        placed.append(spec.node_names[done[0].node] if done else "")
    return placed


def gpus_per_node(nodes: NodeList, jobs: JobTable, order: list[int], placed: list[str]) -> np.ndarray:
    """GPUs allocated on each node after the sequence."""
    where = {name: i for i, name in enumerate(nodes.names)}
    used = np.zeros(len(nodes), dtype=np.int64)
    for index, node in zip(order, placed, strict=True):
        if node:
            used[where[node]] += int(jobs.gpus[index])
    return used


def histogram(used: np.ndarray) -> np.ndarray:
    """Share of nodes by GPUs allocated, 0 … 8."""
    counts = np.bincount(np.minimum(used, MAX_GPUS), minlength=MAX_GPUS + 1).astype(np.float64)
    shares: np.ndarray = counts / max(1.0, counts.sum())
    return shares


def total_variation(a: np.ndarray, b: np.ndarray) -> float:
    return 0.5 * float(np.abs(a - b).sum())


def _subset(nodes: NodeList, count: int) -> NodeList:
    return NodeList(
        nodes.names[:count],
        nodes.cpu_milli[:count],
        nodes.memory_mib[:count],
        nodes.gpus[:count],
        nodes.models[:count],
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--nodes", type=int, default=100, help="first N openb GPU nodes (≤ 100: all are scored)"
    )
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--trace", default="default")
    parser.add_argument("--arrived", type=float, default=1.0, help="offer pods until this × GPU capacity")
    args = parser.parse_args()
    print(f"$ python -m bench.{Path(__file__).stem} {' '.join(sys.argv[1:])}".rstrip())
    assets_dir = os.environ.get("KUBEBUILDER_ASSETS")
    if not assets_dir or not (Path(assets_dir) / "kube-scheduler").is_file():
        parser.error("set KUBEBUILDER_ASSETS to a directory holding etcd, kube-apiserver, "
                     "kube-controller-manager and kube-scheduler")  # fmt: skip
    from kubernetes import client, config, watch

    openb = shared_traces_dir() / "openb"
    nodes = _subset(load_openb_nodes(openb / "openb_node_list_gpu_node.csv"), args.nodes)
    spec = from_node_list(nodes)
    pods = load_openb_pods(openb / f"openb_pod_list_{args.trace}.csv")
    jobs = pods.take(np.flatnonzero((pods.gpus > 0) & (pods.milli == 0)))
    request = jobs.gpu_request()
    capacity = spec.total_gpus
    print(f"cluster: {spec.nodes} nodes, {capacity} GPUs; pods: {len(jobs)} whole-GPU pods of {args.trace}")
    policies = ["k8s-default", "k8s-default-gpuctl"]
    pooled: dict[str, list[np.ndarray]] = {"real": [], **{p: [] for p in policies}}
    header = f"{'seed':>4}{'pods':>6}{'real unalloc%':>15}" + "".join(
        f"{p + ' %':>22}{'TV':>7}" for p in policies
    )
    with (
        TemporaryDirectory(prefix="k8s-bench-") as tmp,
        start_control_plane(Path(assets_dir), Path(tmp)) as plane,
    ):
        config.load_kube_config(str(plane.kubeconfig))
        api = client.CoreV1Api()
        deadline = time.monotonic() + 60
        while not api.list_namespaced_service_account(NAMESPACE).items:
            if time.monotonic() > deadline:
                raise RuntimeError("no default ServiceAccount after 60 s")
            time.sleep(0.3)
        emulated = EmulatedNodes(api, nodes)
        emulated.create()
        print(header)
        try:
            for seed in range(args.seeds):
                order = reference_order(
                    request, request, args.arrived * capacity, np.random.default_rng(seed)
                ).tolist()
                began = time.perf_counter()
                real = gpus_per_node(
                    nodes, jobs, order, schedule_on_real(api, watch, jobs, order, f"s{seed}")
                )
                seconds = time.perf_counter() - began
                clear_pods(api)
                pooled["real"].append(real)
                line = f"{seed:>4}{len(order):>6}{100 - 100 * real.sum() / capacity:>15.2f}"
                for policy in policies:
                    used = gpus_per_node(
                        nodes, jobs, order, schedule_on_simulator(spec, jobs, order, policy, seed)
                    )
                    pooled[policy].append(used)
                    tv = total_variation(histogram(used), histogram(real))
                    line += f"{100 - 100 * used.sum() / capacity:>22.2f}{tv:>7.3f}"
                print(f"{line}   ({seconds:.1f} s on the real scheduler)")
        finally:
            emulated.stop()
    real_all = np.concatenate(pooled["real"])
    print(
        f"pooled over {args.seeds} seeds: real {100 - 100 * real_all.sum() / (capacity * args.seeds):.2f} %"
    )
    print("nodes by GPUs allocated (share, 0 … 8): real " + " ".join(f"{v:.3f}" for v in histogram(real_all)))
    for policy in policies:
        mine = np.concatenate(pooled[policy])
        gap = 100 * (real_all.sum() - mine.sum()) / (capacity * args.seeds)
        tv = total_variation(histogram(mine), histogram(real_all))
        print(
            f"  {policy:<20} unallocated {100 - 100 * mine.sum() / (capacity * args.seeds):.2f} % "
            f"(diff {gap:+.2f} points), TV distance {tv:.3f}; "
            + " ".join(f"{v:.3f}" for v in histogram(mine))
        )


if __name__ == "__main__":
    main()
