"""The `pods/{name}/eviction` subresource and PodDisruptionBudget arithmetic.

An eviction deletes the pod unless a PDB that selects it has no disruption left, in which
case it answers 429 with a `DisruptionBudget` cause (kubectl drain retries on that). Pods
that are Pending, finished or already being deleted can always be evicted, as upstream.
"""

from __future__ import annotations

import math
from typing import Any

from sandbox.api import errors
from sandbox.api.handlers import Api, Request
from sandbox.api.selectors import selector_matches

PDB_RESOURCE = ("policy", "poddisruptionbudgets")
POD_RESOURCE = ("", "pods")


def is_healthy(pod: dict[str, Any]) -> bool:
    """Running, Ready and not being deleted."""
    if pod["metadata"].get("deletionTimestamp"):
        return False
    status = pod.get("status") or {}
    ready = any(
        c.get("type") == "Ready" and c.get("status") == "True" for c in status.get("conditions") or []
    )
    return status.get("phase") == "Running" and ready


def _scaled(value: int | str, total: int, round_up: bool) -> int:
    if isinstance(value, int):
        return value
    percent = int(str(value).rstrip("%"))
    exact = percent * total / 100
    return math.ceil(exact) if round_up else math.floor(exact)


def budget(pdb: dict[str, Any], pods: list[dict[str, Any]]) -> dict[str, int]:
    """The PDB's status numbers over the pods of its namespace."""
    spec = pdb.get("spec") or {}
    selected = [
        p
        for p in pods
        if selector_matches(spec.get("selector"), p["metadata"].get("labels") or {})
        and (p.get("status") or {}).get("phase") not in ("Succeeded", "Failed")
    ]
    expected = len(selected)
    healthy = sum(1 for p in selected if is_healthy(p))
    if "maxUnavailable" in spec:
        desired = max(0, expected - _scaled(spec["maxUnavailable"], expected, round_up=True))
    else:
        desired = _scaled(spec.get("minAvailable", 1), expected, round_up=True)
    return {
        "currentHealthy": healthy,
        "desiredHealthy": desired,
        "expectedPods": expected,
        "disruptionsAllowed": max(0, healthy - desired),
    }


def evict(api: Api, req: Request, body: Any) -> dict[str, Any]:
    """Handle POST .../pods/{name}/eviction."""
    if not isinstance(body, dict) or body.get("kind", "Eviction") != "Eviction":
        raise errors.bad_request("the body of an eviction must be an Eviction object")
    name = (body.get("metadata") or {}).get("name", req.name)
    if name != req.name:
        raise errors.bad_request(f"name in URL does not match name in Eviction object: {req.name} != {name}")
    store = api.store
    with store.lock:
        pod = api.get(req)
        pods, _ = store.list_objects(POD_RESOURCE, req.namespace)
        pdbs = [
            p
            for p in store.list_objects(PDB_RESOURCE, req.namespace)[0]
            if selector_matches((p.get("spec") or {}).get("selector"), pod["metadata"].get("labels") or {})
        ]
        phase = (pod.get("status") or {}).get("phase")
        exempt = phase in ("Pending", "Succeeded", "Failed") or bool(pod["metadata"].get("deletionTimestamp"))
        if pdbs and not exempt:
            if len(pdbs) > 1:
                raise errors.internal(
                    "This pod has more than one PodDisruptionBudget, which the eviction subresource does not "
                    "support."
                )
            numbers = budget(pdbs[0], pods)
            if numbers["disruptionsAllowed"] < 1 and is_healthy(pod):
                pdb_name = pdbs[0]["metadata"]["name"]
                raise errors.too_many_requests(
                    "Cannot evict pod as it would violate the pod's disruption budget.",
                    retry_after=0,
                    causes=[
                        {
                            "reason": "DisruptionBudget",
                            "message": f"The disruption budget {pdb_name} needs {numbers['desiredHealthy']} "
                            f"healthy pods and has {numbers['currentHealthy']} currently",
                        }
                    ],
                )
        delete_options = body.get("deleteOptions") or {}
        api.delete(
            Request(req.rtype, req.namespace, req.name, params=req.params, user_agent=req.user_agent),
            delete_options,
        )
    return {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "code": 201}
