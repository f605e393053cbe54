"""Soak: `gpuctl run` (a child process) against a real control plane (`KUBEBUILDER_ASSETS`)
with emulated GPU nodes, through the fault proxy, for a set time.

    python -m bench.soak [--minutes 30] [--fault-rate 0.05] [--seed 0]

A commit every 10 s to a real Git repository (ConfigMap edits and quota changes, a MIG change
of the GPU pool every 3 minutes), drift injected every 30 s (a managed object edited behind
gpuctl's back, straight at the server), every open watch stream cut every 60 s, and the given
share of API requests answered 500, 429 with Retry-After or left hanging. It prints reconciles,
commit → write p50/p95, rollouts completed, audit entries against cluster writes (from the
proxy's log of gpuctl's accepted mutating requests), RSS and open file descriptors, and exits
1 when an invariant breaks: a write without its audit entry or recorded twice, a commit never
applied, a rollout or drift never finished, growth of file descriptors, or RSS growth over
10 % after the warm-up (the first 5 minutes, or half of a shorter soak).
"""

from __future__ import annotations

import argparse
import contextlib
import random
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from kubernetes import client as k8s
from kubernetes import config as k8s_config

from bench.soak_report import Commit, Footprint, cluster_writes, read_audit, report
from reconciler.cluster.connection import USER_AGENT
from reconciler.source import load_directory
from sandbox import SandboxSpec
from sandbox.controlplane import ASSETS_ENV, assets_dir, start_control_plane
from sandbox.faultproxy import FaultProxy, Upstream
from sandbox.remote import GpuNodes
from sandbox.remote.operators import install_operators
from tests.reliability.daemon_process import GpuctlRun
from tests.reliability.rig import MIG_CONFIG, MIG_STATE, GitRepo, Pool, RepoSpec
from tests.reliability.test_crashes import verify_audit

POOL = "soak"
NAMESPACE = "team-00"
MIG_LAYOUTS = ("all-balanced", "all-1g.10gb")
SETTLE_TIMEOUT_S = 180.0
EDITOR = "kubectl-edit"


@dataclass
class SoakSpec(RepoSpec):
    """The reliability rig's repository plus `edited` ConfigMaps whose values the soak edits."""

    edited: int = 10
    values: dict[int, str] = field(default_factory=dict)

    def write(self, root: Path) -> None:
        super().write(root)
        docs = [{"apiVersion": "v1", "kind": "ConfigMap",
                 "metadata": {"name": f"soak-{i:02d}", "namespace": NAMESPACE},
                 "data": {"value": self.values.get(i, "0")}} for i in range(self.edited)]
        (root / "soak.yaml").write_text(yaml.safe_dump_all(docs))


@dataclass
class Schedule:
    minutes: float
    commit_every: float = 10.0
    drift_every: float = 30.0
    mig_every: float = 180.0
    cut_every: float = 60.0

    @property
    def seconds(self) -> float:
        return self.minutes * 60

    @property
    def warm_up(self) -> float:
        return min(300.0, self.seconds / 2)


@dataclass
class Drift:
    at: float
    what: str  # configmap index, or "quota"


class Soak:
    """One soak run: the cluster, proxy, repository and daemon, and what happened so far."""

    def __init__(self, work: Path, plane: Any, proxy: FaultProxy, schedule: Schedule, seed: int) -> None:
        self.work = work
        self.proxy = proxy
        self.schedule = schedule
        self.rng = random.Random(seed)
        self.spec = SoakSpec(pools=[Pool(POOL, 4, max_unavailable=2)], configmaps=10)
        self.repo = GitRepo(work / "repo", self.spec)
        self.api = k8s_config.new_client_from_config(str(plane.kubeconfig))  # type: ignore[no-untyped-call]
        self.core = k8s.CoreV1Api(self.api)
        self.commits: list[Commit] = []
        self.drifts: list[Drift] = []
        self.corrected = 0
        self.rollout: str | None = None
        self.rollouts = [0, 0]
        self.footprint = Footprint()
        self.started = time.time()

    # -------------------------------------------------------------- actions

    def commit(self) -> None:
        at = time.time()
        mig_due = self.rollout is None and at - self._last("mig") >= self.schedule.mig_every
        n = len(self.commits)
        if mig_due and n:
            layout = MIG_LAYOUTS[(self.rollouts[1] + 1) % len(MIG_LAYOUTS)]
            self.spec.pools[0].mig = layout
            kind, path = "mig", f"/api/v1/nodes/{POOL}-"
            self.rollout = layout
            self.rollouts[1] += 1
        elif n % 3 == 2:
            self.spec.quota_pods = 64 + n
            kind, path = "quota", f"/api/v1/namespaces/{NAMESPACE}/resourcequotas/gpu-cap"
        else:
            index = self.rng.randrange(self.spec.edited)
            self.spec.values[index] = f"v{n}"
            kind, path = "configmap", f"/api/v1/namespaces/{NAMESPACE}/configmaps/soak-{index:02d}"
        sha = self.repo.commit(f"soak commit {n}: {kind}")
        self.commits.append(Commit(sha, kind, at, path))

    def _last(self, kind: str) -> float:
        return max((c.at for c in self.commits if c.kind == kind), default=self.started)

    def drift(self, now: float) -> None:
        if len(self.drifts) % 2:
            body: dict[str, Any] = {"spec": {"hard": {"pods": "999"}}}
            self.core.patch_namespaced_resource_quota("gpu-cap", NAMESPACE, body, field_manager=EDITOR)
            self.drifts.append(Drift(now, "quota"))
        else:
            index = self.rng.randrange(self.spec.edited)
            body = {"data": {"value": "drifted"}}
            self.core.patch_namespaced_config_map(f"soak-{index:02d}", NAMESPACE, body, field_manager=EDITOR)
            self.drifts.append(Drift(now, str(index)))

    def _drift_undone(self, drift: Drift) -> bool:
        if drift.what == "quota":
            quota = self.core.read_namespaced_resource_quota("gpu-cap", NAMESPACE)
            return bool(quota.spec is None or (quota.spec.hard or {}).get("pods") != "999")
        cm = self.core.read_namespaced_config_map(f"soak-{int(drift.what):02d}", NAMESPACE)
        return bool((cm.data or {}).get("value") != "drifted")

    def observe(self) -> None:
        """Count corrected drifts and a finished rollout (read straight from the server)."""
        for drift in [d for d in self.drifts if d.at > 0]:
            if self._drift_undone(drift):
                self.corrected += 1
                drift.at = 0.0
        if self.rollout is not None and self._rolled_out(self.rollout):
            self.rollouts[0] += 1
            self.rollout = None

    def _rolled_out(self, layout: str) -> bool:
        nodes = self.core.list_node(label_selector=f"gpuctl.dev/pool={POOL}").items
        return bool(nodes) and all(_node_done(n, layout) for n in nodes)

    def settled(self) -> bool:
        if not (self.work / "audit.db").exists():
            return False
        applied = read_audit(self.work / "audit.db").applied_revisions
        head = self.commits[-1].sha if self.commits else self.repo.repo.head.commit.hexsha
        self.observe()
        return head in applied and self.rollout is None and all(d.at == 0 for d in self.drifts)

    # -------------------------------------------------------------- the run

    def run(self, daemon: GpuctlRun) -> None:
        pid = daemon.proc.pid
        self.started = time.time()
        wait_for(self.settled, SETTLE_TIMEOUT_S, "the first pass", daemon)
        self.footprint.take("start", pid)
        begin = time.monotonic()
        next_commit = begin + self.schedule.commit_every
        next_drift = begin + self.schedule.drift_every / 2 + 5.0
        next_cut = begin + self.schedule.cut_every
        warm_taken = False
        while (now := time.monotonic()) < begin + self.schedule.seconds:
            if daemon.proc.poll() is not None:
                raise SystemExit(f"gpuctl run exited with {daemon.proc.returncode}; see {self.work}")
            if now >= next_commit:
                self.commit()
                next_commit += self.schedule.commit_every
            if now >= next_drift:
                self.drift(now)
                next_drift += self.schedule.drift_every
            if now >= next_cut:
                self.proxy.cut_watches()
                next_cut += self.schedule.cut_every
            if not warm_taken and now - begin >= self.schedule.warm_up:
                self.footprint.take("warm", pid)
                warm_taken = True
            self.observe()
            time.sleep(0.5)
        self.proxy.faults.clear()
        wait_for(self.settled, SETTLE_TIMEOUT_S, "the last commit, rollout and drift correction", daemon)
        self.footprint.take("end", pid)


def _node_done(node: k8s.V1Node, layout: str) -> bool:
    meta = node.metadata or k8s.V1ObjectMeta()
    labels = meta.labels or {}
    return (labels.get(MIG_CONFIG) == layout and labels.get(MIG_STATE) == "success"
            and not (node.spec and node.spec.unschedulable)
            and "gpuctl.dev/rollout-phase" not in (meta.annotations or {}))


def wait_for(done: Any, timeout_s: float, what: str, daemon: GpuctlRun) -> None:
    deadline = time.monotonic() + timeout_s
    while not done():
        if daemon.proc.poll() is not None or time.monotonic() > deadline:
            raise SystemExit(f"soak: gave up waiting for {what}")
        time.sleep(0.5)


@contextlib.contextmanager
def soak_cluster(work: Path, state: Any) -> Iterator[tuple[Any, FaultProxy]]:
    """A real control plane with the operators' CRDs, the pool's GPU nodes and the proxy."""
    assets = assets_dir()
    if assets is None:
        raise SystemExit(f"{ASSETS_ENV} must name a directory holding etcd and kube-apiserver")
    with start_control_plane(assets, work / "control-plane") as plane:
        install_operators(plane.kubeconfig)
        with (GpuNodes(plane.kubeconfig, SandboxSpec.from_state(state), speed=50),
              FaultProxy(Upstream.admin_of(plane), work / "proxy") as proxy):
            yield plane, proxy


def soak(work: Path, schedule: Schedule, fault_rate: float, seed: int) -> int:
    """Run one soak in `work`; prints the figures and returns the exit code (0: invariants held)."""
    SoakSpec(pools=[Pool(POOL, 4)], configmaps=10).write(work / "initial")
    loaded = load_directory(work / "initial")
    if loaded.state is None:
        raise SystemExit(f"the soak's repository does not load: {[str(e) for e in loaded.errors]}")
    with soak_cluster(work, loaded.state) as (plane, proxy):
        run = Soak(work, plane, proxy, schedule, seed)
        run.core.create_namespace(k8s.V1Namespace(metadata=k8s.V1ObjectMeta(name="gpuctl-system")))
        proxy.faults.reseed(seed)
        proxy.faults.error_rate = proxy.faults.throttle_rate = fault_rate * 0.4
        proxy.faults.timeout_rate = fault_rate * 0.2
        proxy.faults.timeout_seconds = 3.0
        daemon = GpuctlRun(run.repo.path, proxy.kubeconfig, work / "audit.db", work / "gpuctl.log")
        try:
            run.run(daemon)
        finally:
            code = daemon.terminate()
            run.api.close()
        verified = verify_audit(work / "audit.db").returncode == 0
        writes = cluster_writes(proxy.requests(), USER_AGENT)
        result = report(run.commits, writes, read_audit(work / "audit.db"), run.footprint,
                        (run.rollouts[0], run.rollouts[1]), proxy.served(),
                        (run.corrected, len(run.drifts)), verified)
    print(f"soak: {schedule.minutes:g} min, gpuctl run exit code {code} after SIGTERM")
    for line in result.lines:
        print("  " + line)
    for failure in result.failures:
        print("  INVARIANT BROKEN: " + failure)
    print("soak: " + ("passed" if not result.failures else "FAILED"))
    return 1 if result.failures else 0


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.soak", description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=30.0)
    parser.add_argument("--fault-rate", type=float, default=0.05)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--commit-every", type=float, default=10.0, help="seconds between commits")
    parser.add_argument("--drift-every", type=float, default=30.0, help="seconds between drift injections")
    parser.add_argument("--mig-every", type=float, default=180.0, help="seconds between MIG changes")
    parser.add_argument("--keep", type=Path, help="run in this directory and keep it (logs, audit log)")
    args = parser.parse_args(argv)
    schedule = Schedule(args.minutes, args.commit_every, args.drift_every, args.mig_every)
    if args.keep is not None:
        args.keep.mkdir(parents=True, exist_ok=True)
        code = soak(args.keep, schedule, args.fault_rate, args.seed)
    else:
        with tempfile.TemporaryDirectory(prefix="gpuctl-soak-") as tmp:
            code = soak(Path(tmp), schedule, args.fault_rate, args.seed)
    if code:  # a broken invariant fails the run; success returns (`python -m bench` goes on)
        raise SystemExit(code)


if __name__ == "__main__":
    main()
