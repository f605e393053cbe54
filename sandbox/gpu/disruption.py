"""The disruption controller: keeps every PodDisruptionBudget's status (currentHealthy,
desiredHealthy, expectedPods, disruptionsAllowed, the DisruptionAllowed condition) in step
with the pods it selects."""

from __future__ import annotations

import copy

from sandbox.api.eviction import PDB_RESOURCE, POD_RESOURCE, budget
from sandbox.api.handlers import Api
from sandbox.clock import SandboxClock
from sandbox.gpu.writer import ComponentWriter


class DisruptionController:
    watched = frozenset({PDB_RESOURCE, POD_RESOURCE})

    def __init__(self, api: Api, clock: SandboxClock) -> None:
        self._api = api
        self._clock = clock
        self._writer = ComponentWriter(api, "kube-controller-manager")
        self._pdb_type = self._writer.rtype("policy", "v1", "poddisruptionbudgets")

    def reconcile(self, now: float) -> float | None:
        pdbs, _ = self._api.store.list_objects(PDB_RESOURCE)
        for pdb in pdbs:
            pods, _ = self._api.store.list_objects(POD_RESOURCE, pdb["metadata"].get("namespace", ""))
            numbers = budget(pdb, pods)
            old = pdb.get("status") or {}
            allowed = numbers["disruptionsAllowed"] > 0
            condition = {
                "type": "DisruptionAllowed",
                "status": "True" if allowed else "False",
                "reason": "SufficientPods" if allowed else "InsufficientPods",
                "message": "",
                "observedGeneration": pdb["metadata"].get("generation", 1),
            }
            wanted = {**numbers, "observedGeneration": pdb["metadata"].get("generation", 1)}
            old_condition = next(
                (c for c in old.get("conditions") or [] if c.get("type") == "DisruptionAllowed"), None
            )
            same_condition = old_condition is not None and all(
                old_condition.get(k) == v for k, v in condition.items()
            )
            if all(old.get(k) == v for k, v in wanted.items()) and same_condition:
                continue
            condition["lastTransitionTime"] = (
                old_condition["lastTransitionTime"]
                if old_condition and old_condition.get("status") == condition["status"]
                else self._clock.timestamp(now)
            )
            updated = copy.deepcopy(pdb)
            updated["status"] = {**old, **wanted, "conditions": [condition]}
            self._writer.update(self._pdb_type, updated, "status")
        return None
