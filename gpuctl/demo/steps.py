"""The tour, one function per step: repository, cluster with GPU jobs, daemon and first
apply, a MIG layout change rolled out node by node, drift corrected, the pre-merge
simulation of a proposal, the audit log. Each step waits on real conditions with a
deadline and raises `DemoFailure` saying what did not happen."""

from __future__ import annotations

import shlex
import time
from collections import Counter
from typing import Any

from gpuctl.demo.errors import DemoFailure, wait_for
from gpuctl.demo.narration import LiveView
from gpuctl.demo.rollout_watch import NodeState, RolloutTracker
from gpuctl.demo.tour import Tour
from gpuctl.demo.workspace import BRANCH, DemoRepo, Edit, example_state
from reconciler.cluster.feeds import Stream, WatchFeed
from schemas.desired import DesiredState
from schemas.results import Action, ReconcileOutcome, Trigger

SUCCEEDED = ReconcileOutcome.SUCCEEDED

# The change the tour rolls out, and the one it proposes for the pre-merge simulation.
POOL = "h100-inference"
POOL_FILE = "pools/h100-inference.yaml"
MIG_FROM, MIG_TO, MIG_PROPOSED = "all-balanced", "inference-small", "half-split"
PROPOSAL_BRANCH = "proposal/h100-half-split"
JOB_RESOURCE = "nvidia.com/mig-1g.10gb"
JOB_NAMESPACE = "default"
# The managed object edited behind gpuctl's back.
QUOTA_NAMESPACE, QUOTA_NAME, QUOTA_KEY, QUOTA_EDIT = "team-research", "gpu-cap", "pods", "999"

FIRST_APPLY_TIMEOUT_S = 60.0
# The rollout's deadline: this much, plus per node its MIG reconfiguration (sandbox time at
# --speed) and a few engine polls; nodes go `maxUnavailable` at a time.
ROLLOUT_BASE_S, ROLLOUT_PER_NODE_S = 60.0, 5.0
FULL_READ_EVERY_S = 1.0
WATCH_READY_TIMEOUT_S = 15.0
DRIFT_TIMEOUT_S = 30.0
SIMULATION_SEEDS, SIMULATION_HORIZON = "3", "12h"
SIMULATION_GATE = "unschedulable > +10%"
EXIT_GATE_BREACHED = 1  # `gpuctl simulate` with a --fail-if rule breached


def create_repository(tour: Tour) -> None:
    source = tour.options.source or example_state()
    tour.repo = DemoRepo(tour.workdir / "repo", source)
    files = sum(1 for path in tour.repo.path.rglob("*.yaml") if ".git" not in path.parts)
    tour.narrator.say(f"copied {files} YAML files of {source.name}/ into a new Git repository "
                      f"({tour.repo.path}), branch {BRANCH}, commit {tour.repo.head[:7]}")


def _load_state(repo: DemoRepo) -> DesiredState:
    from reconciler.source import load_directory

    loaded = load_directory(repo.path)
    if loaded.state is None:
        first = loaded.errors[0] if loaded.errors else "unknown error"
        raise DemoFailure(f"the example desired state is invalid: {first}")
    return loaded.state


def start_cluster(tour: Tour) -> None:
    import sandbox

    state = _load_state(tour.need_repo())
    spec, speed = sandbox.SandboxSpec.from_state(state), tour.options.speed
    if tour.options.kubeconfig is not None:
        from gpuctl.demo.remote_cluster import RemoteCluster

        tour.cluster = RemoteCluster(tour.options.kubeconfig, spec, speed=speed)
        tour.stack.callback(tour.cluster.stop)
        tour.narrator.say(f"API server at {tour.cluster.url} (from {tour.options.kubeconfig}), its GPU nodes "
                          f"played by gpuctl's node agent, {speed:g}× faster than real time")
    else:
        tour.cluster = tour.stack.enter_context(sandbox.start(
            spec, speed=speed, kubeconfig_path=tour.workdir / "sandbox.kubeconfig",
        ))
        tour.narrator.say(f"sandbox API server at {tour.cluster.url} (GPU components run {speed:g}× "
                          "faster than real time)")
    rows = [(p.metadata.name, str(p.spec.nodes), f"{p.spec.gpu.per_node} × {p.spec.gpu.model}",
             p.spec.mig.config if p.spec.mig else "-") for p in state.pools]
    tour.narrator.table("GPU node pools", ("pool", "nodes", "GPUs per node", "MIG config"), rows)
    pool = next((p for p in state.pools if p.metadata.name == POOL), None)
    if pool is None or pool.spec.mig is None or pool.spec.mig.config != MIG_FROM:
        raise DemoFailure(f"the demo needs pool {POOL} with MIG config {MIG_FROM} in {POOL_FILE}")
    nodes = [f"{POOL}-{i}" for i in range(pool.spec.nodes)]
    toleration = {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}
    for node in nodes:
        tour.cluster.launch_gpu_pods(f"serve-{node}", tour.options.jobs_per_node, namespace=JOB_NAMESPACE,
                                     resource=JOB_RESOURCE, node_selector={"kubernetes.io/hostname": node},
                                     tolerations=[toleration])
    expected = len(nodes) * tour.options.jobs_per_node

    def running() -> int:
        pods = tour.connect().list_objects("v1", "Pod", namespace=JOB_NAMESPACE)
        count = sum(1 for p in pods if (p.get("status") or {}).get("phase") == "Running")
        return count if count == expected else 0

    wait_for(running, 30, f"{expected} GPU jobs to be Running on {POOL}")
    tour.narrator.ok(f"{expected} inference jobs running on {POOL} ({tour.options.jobs_per_node} per node, "
                     f"each on one {JOB_RESOURCE}), with no end time")


def start_daemon(tour: Tour) -> None:
    from gpuctl.assembly import assemble
    from reconciler.daemon.settings import load_settings

    repo = tour.need_repo()
    tour.route_logs_to_file()
    settings = load_settings({
        "repo": str(repo.path), "branch": BRANCH, "kubeconfig": tour.cluster.kubeconfig_path,
        "listen": "127.0.0.1:0", "audit_db": tour.audit_db, "cache_dir": tour.workdir / "cache",
        "leader_elect": False, "resync_interval": "10m",
        # Explicit, so that GPUCTL_* variables meant for `gpuctl run` cannot change the tour.
        "sandbox": False, "in_cluster": False, "working_tree": False, "prune": False, "capture": False,
        "path": "", "health_timeout": 0.0,
    })
    started = time.monotonic()
    tour.assembled = tour.stack.enter_context(assemble(settings, sinks=[tour.passes]))
    tour.assembled.daemon.start()
    tour.narrator.say(f"daemon following {repo.path} ({BRANCH}); health and metrics on "
                      f"http://127.0.0.1:{tour.assembled.daemon.http.port}; leader election off "
                      "(a single replica)")
    # A failed attempt is retried with back-off: wait for the one that succeeds.
    _, report = tour.passes.wait(lambda i, r: r.revision == repo.head and r.outcome is SUCCEEDED,
                                 FIRST_APPLY_TIMEOUT_S, f"the first apply of {repo.head[:7]} to succeed")
    objects = {(entry.ref.kind, entry.action.value, str(entry.ref)) for entry in report.changes.changed()}
    counts = Counter((kind, action) for kind, action, _ in objects)
    rows = [(kind, action, str(n)) for (kind, action), n in sorted(counts.items())]
    tour.narrator.table(f"First apply of {report.revision[:7]}", ("kind", "action", "objects"), rows)
    tour.narrator.ok(f"first apply: {len(objects)} objects created or configured, "
                     f"{len(report.changes.changed())} changes, in {time.monotonic() - started:.1f} s")


def rollout_timeout(nodes: int, budget: int, speed: float) -> float:
    """Seconds to allow for a rollout of `nodes` nodes, `budget` at a time, at `speed`."""
    from sandbox import GpuTimings

    waves = -(-nodes // max(budget, 1))
    return ROLLOUT_BASE_S + waves * (GpuTimings().mig_reconfigure_s / speed + ROLLOUT_PER_NODE_S)


def _follow_rollout(tracker: RolloutTracker, feed: WatchFeed, view: LiveView, timeout_s: float) -> None:
    """Update the live table from watch events (and a full read now and then) until every
    node is done; DemoFailure when a node fails or the deadline passes."""
    last_read = time.monotonic()
    view.update(tracker.table_rows())

    def progressed() -> bool:
        nonlocal last_read
        changes = [change for event in feed.take() for change in tracker.observe(*event)]
        if time.monotonic() - last_read >= FULL_READ_EVERY_S:  # covers a broken watch stream
            changes += tracker.poll()
            last_read = time.monotonic()
        view.update(tracker.table_rows())
        for name, _, new in changes:
            row = tracker.rows[name]
            view.event(f"  {name}: {new.value}" + (f" ({len(row.evicted)} pods evicted)"
                                                     if new is NodeState.DONE else ""))
        if tracker.failed:
            raise DemoFailure(f"the rollout failed on {', '.join(tracker.failed)}")
        return tracker.done

    wait_for(progressed, timeout_s, f"every node of {tracker.node_selector} to be reconfigured")


def roll_out_mig_change(tour: Tour) -> None:
    repo = tour.need_repo()
    state = _load_state(repo)
    pool = next(p for p in state.pools if p.metadata.name == POOL)
    tracker = RolloutTracker(tour.connect(), POOL, MIG_TO, JOB_NAMESPACE)
    budget = pool.spec.rollout.max_unavailable_for(len(tracker.rows))
    timeout_s = rollout_timeout(len(tracker.rows), budget, tour.options.speed)
    streams = [Stream("v1", "Node", {"label_selector": tracker.node_selector}),
               Stream("v1", "Pod", {"namespace": JOB_NAMESPACE})]
    live = tour.narrator.live(f"Rollout of {POOL} to {MIG_TO}", ("node", "state", "pods evicted"))
    with WatchFeed(tour.connection, streams) as feed:
        if not feed.wait_ready(WATCH_READY_TIMEOUT_S):
            raise DemoFailure(f"the watches of {POOL}'s nodes and pods did not start within "
                              f"{WATCH_READY_TIMEOUT_S:g} s")
        sha = repo.commit_edit(Edit(POOL_FILE, f"config: {MIG_FROM}", f"config: {MIG_TO}"),
                               f"{POOL}: MIG layout {MIG_FROM} -> {MIG_TO}")
        tour.narrator.say(f"committed {sha[:7]}: {POOL} MIG layout {MIG_FROM} → {MIG_TO} "
                          f"(maxUnavailable {budget} of {len(tracker.rows)} nodes)")
        started = time.monotonic()
        with live as view:
            _follow_rollout(tracker, feed, view, timeout_s)
    _, report = tour.passes.wait(
        lambda i, r: r.revision == sha and r.outcome is SUCCEEDED and not r.interrupted,
        timeout_s, f"the pass of {sha[:7]} to succeed",
    )
    if tracker.peak_unavailable > budget:
        raise DemoFailure(
            f"{tracker.peak_unavailable} nodes were unavailable at once (maxUnavailable {budget})"
        )
    for row in tracker.rows.values():
        tour.narrator.say(f"{row.name} reconfigured to {MIG_TO}, {len(row.evicted)} pods evicted")
    evictions = sum(1 for e in report.changes.entries if e.action is Action.EVICTED)
    took = time.monotonic() - started
    tour.narrator.ok(f"rollout done in {took:.1f} s, at most {tracker.peak_unavailable} node(s) unavailable "
                     f"at a time; {evictions} evictions recorded in the pass")


def _quota_value(tour: Tour) -> str | None:
    quota = tour.connect().get("v1", "ResourceQuota", QUOTA_NAME, QUOTA_NAMESPACE)
    hard: dict[str, Any] = (quota or {}).get("spec", {}).get("hard", {})
    value = hard.get(QUOTA_KEY)
    return None if value is None else str(value)


def correct_drift(tour: Tour) -> None:
    from reconciler.cluster.foreign import merge_patch_as

    desired = _quota_value(tour)
    if desired is None:
        raise DemoFailure(f"ResourceQuota {QUOTA_NAMESPACE}/{QUOTA_NAME} was not applied")
    before = tour.passes.count()
    merge_patch_as(tour.connection, "kubectl-edit", ("v1", "ResourceQuota", QUOTA_NAMESPACE, QUOTA_NAME),
                   {"spec": {"hard": {QUOTA_KEY: QUOTA_EDIT}}})
    edited = time.monotonic()
    tour.narrator.say(f"someone ran `kubectl edit`: ResourceQuota {QUOTA_NAMESPACE}/{QUOTA_NAME} "
                      f"hard.{QUOTA_KEY} {desired} → {QUOTA_EDIT}")
    wait_for(lambda: _quota_value(tour) == desired, DRIFT_TIMEOUT_S,
             f"hard.{QUOTA_KEY} to be put back to {desired}")
    took = time.monotonic() - edited
    tour.passes.wait(lambda i, r: i.trigger is Trigger.DRIFT and len(r.changes.changed()) > 0,
                     DRIFT_TIMEOUT_S, "the drift pass to be recorded", since=before)
    tour.narrator.ok(f"drift corrected in {took:.2f} s: hard.{QUOTA_KEY} is {desired} again "
                     "(trigger: drift, no resync needed)")


def _run_gpuctl(tour: Tour, args: list[str]) -> int:
    runner = tour.options.gpuctl
    if runner is None:
        raise DemoFailure("no gpuctl command runner was given to the demo (DemoOptions.gpuctl)")
    return runner(args)


def simulate_proposal(tour: Tour) -> None:
    repo = tour.need_repo()
    sha = repo.propose(PROPOSAL_BRANCH, Edit(POOL_FILE, f"config: {MIG_TO}", f"config: {MIG_PROPOSED}"),
                       f"{POOL}: try MIG layout {MIG_PROPOSED}")
    tour.narrator.say(f"proposed on branch {PROPOSAL_BRANCH} ({sha[:7]}): {POOL} {MIG_TO} → {MIG_PROPOSED}; "
                      f"before merging, replay the repository's workload on {BRANCH} and on the proposal, "
                      f"with the CI gate rule '{SIMULATION_GATE}':")
    args = ["simulate", "--repo", str(repo.path), "--base", BRANCH, "--head", PROPOSAL_BRANCH,
            "--seeds", SIMULATION_SEEDS, "--horizon", SIMULATION_HORIZON, "--fail-if", SIMULATION_GATE]
    tour.narrator.say("$ " + shlex.join(["gpuctl", *args]))
    code = _run_gpuctl(tour, args)
    if code == EXIT_GATE_BREACHED:
        verdict = "the gate fails: CI would block this merge"
    elif code == 0:
        verdict = "the gate passes: CI would allow this merge"
    else:
        raise DemoFailure(f"gpuctl simulate exited {code}")
    tour.narrator.ok(f"pre-merge simulation done, {verdict} (the daemon follows {BRANCH}, so it applied "
                     "nothing of the proposal)")


def show_audit_log(tour: Tour) -> None:
    tour.need_daemon().daemon.stop()
    tour.narrator.say("daemon stopped; its audit log:")
    db = str(tour.audit_db)
    for args in (["audit", "log", "--audit-db", db], ["audit", "verify", "--audit-db", db]):
        tour.narrator.say("$ " + shlex.join(["gpuctl", *args]))
        code = _run_gpuctl(tour, args)
        if code != 0:
            raise DemoFailure(f"gpuctl {' '.join(args[:2])} exited {code}")
    tour.narrator.ok("audit log verified: every change is in the hash chain")
