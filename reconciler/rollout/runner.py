"""Rollouts of disruptive GPU node changes, pool by pool, at most `maxUnavailable` nodes of a
pool at a time (nodes left cordoned by a failure count against that budget).

Each pass reads the nodes in flight, steps each as far as it can go, starts new nodes while
the budget allows, and sleeps one poll interval only when nothing moved. Nodes
already in flight (annotated by an earlier, interrupted gpuctl) are resumed first. A
`failed` node halts its pool (`onFailure: halt`) or not (`continue`).

Called by `reconciler.pipeline` after the apply stages.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from reconciler.apply.recorder import ChangeRecorder
from reconciler.protocols import ChangeHistory, Clock, ClusterClient
from reconciler.rollout.progress import Phase, Progress, clear_patch
from reconciler.rollout.recovery import record_lost_node_writes
from reconciler.rollout.steps import NodeStepper, StepState, node_ref
from reconciler.rollout.targets import NodeTarget, assign_nodes, needs_rollout, target_for
from schemas.kinds import GPUNodePool
from schemas.results import Action, ChangeEntry

GET_LIMIT = 16


@dataclass
class PoolRollout:
    """The rollout of one pool during one pass, and its report."""

    pool: str
    budget: int
    queue: list[str] = field(default_factory=list)
    in_flight: list[str] = field(default_factory=list)
    rolled: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)
    halted: bool = False
    max_in_flight_seen: int = 0

    @property
    def finished(self) -> bool:
        return not self.in_flight and (not self.queue or self.halted or self.blocked)

    @property
    def blocked(self) -> bool:
        return len(self.in_flight) + len(self.failed) >= self.budget

    @property
    def ok(self) -> bool:
        return not self.failed and not self.queue and not self.in_flight


class RolloutRunner:
    def __init__(
        self,
        client: ClusterClient,
        clock: Clock,
        recorder: ChangeRecorder,
        *,
        poll_interval: float = 1.0,
    ) -> None:
        self.client = client
        self.clock = clock
        self.recorder = recorder
        self.poll_interval = poll_interval

    def pending(self, pools: list[GPUNodePool], nodes: list[dict[str, Any]]) -> dict[str, list[str]]:
        """Nodes each pool would roll out (for dry runs and diffs; no writes)."""
        assigned = assign_nodes(pools, nodes)
        out: dict[str, list[str]] = {}
        for pool in pools:
            target = target_for(pool)
            names = [_name(n) for n in assigned[pool.metadata.name] if _wants_work(n, target)]
            if names:
                out[pool.metadata.name] = names
        return out

    def run(self, pools: list[GPUNodePool]) -> list[PoolRollout]:
        """Roll out every pool until each is done, halted or blocked."""
        nodes = {_name(n): n for n in self.client.list_objects("v1", "Node")}
        assigned = assign_nodes(pools, list(nodes.values()))
        rollouts: list[tuple[PoolRollout, NodeStepper]] = []
        members_anywhere = {_name(n) for group in assigned.values() for n in group}
        if isinstance(self.recorder.audit, ChangeHistory):
            members = [n for group in assigned.values() for n in group]
            record_lost_node_writes(members, self.recorder.audit, self.recorder)
        restarted = self._release_orphans([n for name, n in nodes.items() if name not in members_anywhere])
        for pool in pools:
            target = target_for(pool)
            members = assigned[pool.metadata.name]
            budget = pool.spec.rollout.max_unavailable_for(len(members))
            rollout = PoolRollout(pool.metadata.name, budget)
            stepper = NodeStepper(self.client, self.clock, self.recorder, target, settle=self.poll_interval)
            for node in members:
                restarted |= self._classify(rollout, stepper, node, target)
            if rollout.queue or rollout.in_flight or rollout.failed:
                rollouts.append((rollout, stepper))
        if restarted:
            nodes = {_name(n): n for n in self.client.list_objects("v1", "Node")}
        while not all(r.finished for r, _ in rollouts):
            progressed = False
            for rollout, stepper in rollouts:
                progressed |= self._advance(rollout, stepper, nodes)
            if all(r.finished for r, _ in rollouts):
                break
            if not progressed:
                self.clock.sleep(self.poll_interval)
            nodes = self._refresh([name for r, _ in rollouts for name in r.in_flight])
        return [r for r, _ in rollouts]

    def _refresh(self, names: list[str]) -> dict[str, dict[str, Any]]:
        """The current state of the nodes in flight: one GET each while they are few (cheaper
        than listing a large cluster's nodes on every poll), one LIST otherwise."""
        if len(names) > GET_LIMIT:
            return {_name(n): n for n in self.client.list_objects("v1", "Node")}
        fresh = (self.client.get("v1", "Node", name) for name in names)
        return {_name(node): node for node in fresh if node is not None}

    def _release_orphans(self, outside: list[dict[str, Any]]) -> bool:
        """Nodes left mid-rollout by a pool that no longer selects them (the pool was removed
        or its selector changed): end that rollout, and uncordon them if gpuctl cordoned them.
        Their labels are not touched. True when it wrote."""
        wrote = False
        for node in outside:
            progress = Progress.of(node)
            if progress.phase is None and not progress.cordoned_by_gpuctl:
                continue
            name = _name(node)
            patch = clear_patch()
            if progress.cordoned_by_gpuctl:
                patch["spec"] = {"unschedulable": None}
            self.client.patch_node(name, patch)
            action = Action.UNCORDONED if progress.cordoned_by_gpuctl else Action.CONFIGURED
            message = "no GPUNodePool selects this node any more; its rollout is abandoned"
            self.recorder.record(ChangeEntry(node_ref(name), action, message=message))
            wrote = True
        return wrote

    def _classify(
        self, rollout: PoolRollout, stepper: NodeStepper, node: dict[str, Any], target: NodeTarget
    ) -> bool:
        """Sort a pool member into failed / in flight / queued; True when it wrote (a restart)."""
        name = _name(node)
        progress = Progress.of(node)
        if progress.phase is Phase.FAILED:
            if progress.target == target.disruptive:
                rollout.failed[name] = progress.failure
                rollout.halted |= target.pool.spec.rollout.on_failure == "halt"
                return False
            # A new target for a node left cordoned by a failure: it is unavailable already.
            stepper.restart(name, node)
            rollout.in_flight.append(name)
            return True
        if progress.phase is not None:
            rollout.in_flight.append(name)
        elif needs_rollout(node, target):
            rollout.queue.append(name)
        return False

    def _advance(self, rollout: PoolRollout, stepper: NodeStepper, nodes: dict[str, dict[str, Any]]) -> bool:
        progressed = False
        for name in list(rollout.in_flight):
            node = nodes.get(name)
            if node is None:
                rollout.in_flight.remove(name)
                rollout.failed[name] = "node disappeared during the rollout"
                continue
            result = stepper.step(node)
            progressed |= result.progressed
            if result.state is StepState.DONE:
                rollout.in_flight.remove(name)
                rollout.rolled.append(name)
            elif result.state is StepState.FAILED:
                rollout.in_flight.remove(name)
                rollout.failed[name] = result.message
                rollout.halted |= stepper.rollout.on_failure == "halt"
        while rollout.queue and not rollout.halted and not rollout.blocked:
            name = rollout.queue.pop(0)
            node = self.client.get("v1", "Node", name)  # fresh, right before cordoning it
            if node is None:
                continue
            rollout.in_flight.append(name)
            stepper.step(node)
            progressed = True
        rollout.max_in_flight_seen = max(rollout.max_in_flight_seen, len(rollout.in_flight))
        return progressed


def _name(node: dict[str, Any]) -> str:
    return str(node["metadata"]["name"])


def _wants_work(node: dict[str, Any], target: NodeTarget) -> bool:
    progress = Progress.of(node)
    if progress.phase is Phase.FAILED:
        return progress.target != target.disruptive
    return progress.phase is not None or needs_rollout(node, target)
