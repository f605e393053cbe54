"""One node's rollout as a re-entrant step function: each call reads the node's progress
annotations, does what can be done now without waiting, and says whether it is waiting,
done or failed. Every write is recorded at once (cordoned, evicted, relabelled,
uncordoned, rollout-failed).

A node is relabelled only once no unfinished GPU pod is bound to it, seen by a fresh list at
least `settle` seconds (the rollout's poll interval) after the cordon and after the last pod
seen there: on a real cluster the scheduler binds from its own cache, so a replacement of an
evicted pod can still land on the node just after the cordon. Pods that arrived since the
evictions are evicted in turn."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from reconciler.apply.recorder import ChangeRecorder
from reconciler.crashpoints import crash_point
from reconciler.protocols import Clock, ClusterClient
from reconciler.rollout.pods import gpu_pods
from reconciler.rollout.progress import CORDONED_BY, FAILURE, Phase, Progress, clear_patch, phase_patch
from reconciler.rollout.targets import MIG_CONFIG, MIG_CONFIG_STATE, NodeTarget
from schemas.refs import ObjectRef
from schemas.results import Action, ChangeEntry

# Seconds a node must have been seen cordoned and free of GPU pods before it is relabelled
# (default; the runner passes its poll interval): longer than a scheduler's cache lags.
DRAIN_SETTLE = 1.0

# Crash point names (reconciler.crashpoints) of the node writes.
_CRASH_NAMES = {Action.CORDONED: "cordon", Action.RELABELLED: "relabel", Action.UNCORDONED: "uncordon"}


class StepState(StrEnum):
    WAITING = "waiting"
    DONE = "done"
    FAILED = "failed"


@dataclass(frozen=True)
class StepResult:
    state: StepState
    progressed: bool
    message: str = ""


def node_ref(name: str) -> ObjectRef:
    return ObjectRef("", "Node", "", name)


class NodeStepper:
    """Moves nodes of one pool through cordon → drain → relabel → wait for MIG → uncordon."""

    def __init__(
        self,
        client: ClusterClient,
        clock: Clock,
        recorder: ChangeRecorder,
        target: NodeTarget,
        *,
        settle: float = DRAIN_SETTLE,
    ):
        self.client = client
        self.clock = clock
        self.recorder = recorder
        self.target = target
        self.rollout = target.pool.spec.rollout
        self.settle = settle
        # When a GPU pod was last seen on each draining node (in memory: after a restart the
        # cordon time recorded on the node stands in for it, which only waits longer).
        self._busy_at: dict[str, float] = {}

    def step(self, node: dict[str, Any]) -> StepResult:
        name = str(node["metadata"]["name"])
        progress = Progress.of(node)
        if progress.phase is None:
            return self._start(name, node)
        if progress.phase is Phase.DRAINING:
            return self._drain(name, node, progress)
        if progress.phase is Phase.CONFIGURING:
            return self._await_mig(name, node, progress)
        return StepResult(StepState.FAILED, False, progress.failure)

    def restart(self, name: str, node: dict[str, Any]) -> None:
        """Start over on a node whose earlier rollout failed, towards the current target."""
        progress = Progress.of(node)
        patch = phase_patch(Phase.DRAINING, self.target.disruptive, self.clock.now(), self.target.pool_name)
        patch["metadata"]["annotations"][FAILURE] = None
        if not (node.get("spec") or {}).get("unschedulable"):
            patch["spec"] = {"unschedulable": True}
            patch["metadata"]["annotations"][CORDONED_BY] = "gpuctl"
        elif progress.cordoned_by_gpuctl:
            patch["metadata"]["annotations"][CORDONED_BY] = "gpuctl"
        self._write(name, patch, Action.CORDONED, f"restarting rollout: {_describe(self.target.disruptive)}")

    def _write(
        self, name: str, patch: dict[str, Any], action: Action, message: str = "", error: str | None = None
    ) -> None:
        self.client.patch_node(name, patch)
        crash_point(f"{_CRASH_NAMES.get(action, action.value)}-write")
        self.recorder.record(ChangeEntry(node_ref(name), action, _as_json_patch(patch), message, error))
        crash_point(f"{_CRASH_NAMES.get(action, action.value)}-recorded")

    def _start(self, name: str, node: dict[str, Any]) -> StepResult:
        """Cordon (unless already cordoned), then go straight on to draining: no reason to wait."""
        already = bool((node.get("spec") or {}).get("unschedulable"))
        since = self.clock.now()
        patch = phase_patch(Phase.DRAINING, self.target.disruptive, since, self.target.pool_name)
        if not already:
            patch["spec"] = {"unschedulable": True}
            patch["metadata"]["annotations"][CORDONED_BY] = "gpuctl"
        message = f"rollout of pool {self.target.pool_name}: {_describe(self.target.disruptive)}"
        self._write(name, patch, Action.CORDONED, message if not already else message + " (already cordoned)")
        self._drain(
            name, node, Progress(Phase.DRAINING, dict(self.target.disruptive), since, "", not already)
        )
        return StepResult(StepState.WAITING, True)

    def _drain(self, name: str, node: dict[str, Any], progress: Progress) -> StepResult:
        remaining = gpu_pods(self.client, name)
        now = self.clock.now()
        if remaining:
            self._busy_at[name] = now
        elif now - max(progress.since, self._busy_at.get(name, progress.since)) < self.settle:
            # Empty now, but not for long enough: look again on the next poll.
            return StepResult(StepState.WAITING, False)
        if not remaining:
            self._busy_at.pop(name, None)
            labels: dict[str, Any] = dict(self.target.disruptive)
            current = ((node.get("metadata") or {}).get("labels") or {}).get(MIG_CONFIG)
            if MIG_CONFIG in self.target.disruptive and current != self.target.disruptive[MIG_CONFIG]:
                # The MIG manager writes the state anew for this change; until then, we wait.
                # (Unchanged mig.config: the manager does nothing, and the old `success` stands.)
                labels[MIG_CONFIG_STATE] = None
            patch = phase_patch(
                Phase.CONFIGURING, self.target.disruptive, self.clock.now(), self.target.pool_name
            )
            patch["metadata"]["labels"] = labels
            self._write(name, patch, Action.RELABELLED, _describe(self.target.disruptive))
            return StepResult(StepState.WAITING, True)
        elapsed = self.clock.now() - progress.since
        if elapsed > self.rollout.drain_timeout:
            return self._fail(
                name,
                f"drain timed out after {self.rollout.drain_timeout:g}s: {len(remaining)} GPU pods remain",
            )
        progressed = False
        for pod in remaining:
            meta = pod["metadata"]
            if meta.get("deletionTimestamp"):
                continue
            namespace, pod_name = str(meta.get("namespace") or ""), str(meta["name"])
            crash_point("evict")
            if self.client.evict(namespace, pod_name):
                progressed = True
                self.recorder.record(
                    ChangeEntry(
                        ObjectRef("", "Pod", namespace, pod_name),
                        Action.EVICTED,
                        message=f"draining Node/{name}",
                    )
                )
        return StepResult(StepState.WAITING, progressed)

    def _await_mig(self, name: str, node: dict[str, Any], progress: Progress) -> StepResult:
        if MIG_CONFIG in progress.target:
            state = ((node.get("metadata") or {}).get("labels") or {}).get(MIG_CONFIG_STATE)
            if state == "failed":
                return self._fail(
                    name, f"MIG manager reported failed for {MIG_CONFIG}={progress.target[MIG_CONFIG]}"
                )
            if state != "success":
                if self.clock.now() - progress.since > self.rollout.mig_timeout:
                    return self._fail(
                        name,
                        f"MIG manager did not report success within "
                        f"{self.rollout.mig_timeout:g}s (state {state or 'unset'})",
                    )
                crash_point("mig-wait")
                return StepResult(StepState.WAITING, False)
        patch = clear_patch()
        if progress.cordoned_by_gpuctl:
            patch["spec"] = {"unschedulable": None}
        self._write(
            name,
            patch,
            Action.UNCORDONED if progress.cordoned_by_gpuctl else Action.CONFIGURED,
            f"rollout of pool {self.target.pool_name} done on this node",
        )
        return StepResult(StepState.DONE, True)

    def _fail(self, name: str, reason: str) -> StepResult:
        patch = phase_patch(
            Phase.FAILED, self.target.disruptive, self.clock.now(), self.target.pool_name, reason
        )
        self._write(name, patch, Action.ROLLOUT_FAILED, error=reason)
        return StepResult(StepState.FAILED, True, reason)


def _describe(labels: dict[str, str]) -> str:
    return ", ".join(f"{k}={v}" for k, v in sorted(labels.items()))


def _as_json_patch(merge_patch: dict[str, Any], prefix: str = "") -> list[dict[str, Any]]:
    """The merge patch as RFC 6902 operations (null → remove), for the audit record."""
    ops: list[dict[str, Any]] = []
    for key, value in merge_patch.items():
        path = f"{prefix}/{key.replace('~', '~0').replace('/', '~1')}"
        if isinstance(value, dict):
            ops.extend(_as_json_patch(value, path))
        elif value is None:
            ops.append({"op": "remove", "path": path})
        else:
            ops.append({"op": "add", "path": path, "value": value})
    return ops
