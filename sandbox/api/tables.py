"""Server-side printing: the `meta.k8s.io/v1 Table` kubectl asks for (`Accept: ...;as=Table`)
with the columns `kubectl get` shows for nodes, pods, namespaces, CRDs, PDBs, Deployments and
Events (the real server's, checked against kube-apiserver v1.36), and NAME/AGE for everything
else (plus CREATED AT for cluster-scoped custom resources)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sandbox.clock import SandboxClock, parse_timestamp

Row = list[Any]
_Column = tuple[str, str, str, int]  # name, type, description, priority (1 = -o wide only)


def _age(clock: SandboxClock, obj: dict[str, Any]) -> str:
    return _since(clock, obj["metadata"].get("creationTimestamp"))


def _since(clock: SandboxClock, timestamp: str | None) -> str:
    """kubectl's short duration since `timestamp` (`<unknown>` without one)."""
    if not timestamp:
        return "<unknown>"
    seconds = max(0, int(clock.now() - parse_timestamp(timestamp)))
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size * (2 if unit != "m" else 1):
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def _node_row(obj: dict[str, Any], age: str) -> Row:
    conditions = (obj.get("status") or {}).get("conditions") or []
    ready = any(c.get("type") == "Ready" and c.get("status") == "True" for c in conditions)
    status = "Ready" if ready else "NotReady"
    if (obj.get("spec") or {}).get("unschedulable"):
        status += ",SchedulingDisabled"
    labels = obj["metadata"].get("labels") or {}
    roles = ",".join(sorted(k.split("/", 1)[1] for k in labels if k.startswith("node-role.kubernetes.io/")))
    info = (obj.get("status") or {}).get("nodeInfo") or {}
    addresses = (obj.get("status") or {}).get("addresses") or []
    internal = next((a["address"] for a in addresses if a.get("type") == "InternalIP"), "<none>")
    return [
        obj["metadata"]["name"],
        status,
        roles or "<none>",
        age,
        info.get("kubeletVersion", ""),
        internal,
        labels.get("nvidia.com/gpu.product", "<none>"),
        labels.get("nvidia.com/mig.config.state", "<none>"),
    ]


def _pod_row(obj: dict[str, Any], age: str) -> Row:
    status = obj.get("status") or {}
    statuses = status.get("containerStatuses") or []
    containers = (obj.get("spec") or {}).get("containers") or []
    ready = sum(1 for s in statuses if s.get("ready"))
    restarts = sum(int(s.get("restartCount", 0)) for s in statuses)
    phase = status.get("phase", "Pending")
    if obj["metadata"].get("deletionTimestamp"):
        phase = "Terminating"
    elif phase == "Succeeded":
        phase = "Completed"
    return [
        obj["metadata"]["name"],
        f"{ready}/{len(containers)}",
        phase,
        restarts,
        age,
        status.get("podIP", "<none>"),
        (obj.get("spec") or {}).get("nodeName", "<none>"),
    ]


def _pdb_row(obj: dict[str, Any], age: str) -> Row:
    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    return [
        obj["metadata"]["name"],
        str(spec.get("minAvailable", "N/A")),
        str(spec.get("maxUnavailable", "N/A")),
        status.get("disruptionsAllowed", 0),
        age,
    ]


def _crd_row(obj: dict[str, Any], age: str) -> Row:
    return [obj["metadata"]["name"], obj["metadata"].get("creationTimestamp", "")]


def _namespace_row(obj: dict[str, Any], age: str) -> Row:
    return [obj["metadata"]["name"], (obj.get("status") or {}).get("phase", "Active"), age]


def _deployment_row(obj: dict[str, Any], age: str) -> Row:
    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    pod = (spec.get("template") or {}).get("spec") or {}
    containers = pod.get("containers") or []
    selector = (spec.get("selector") or {}).get("matchLabels") or {}
    return [
        obj["metadata"]["name"],
        f"{status.get('readyReplicas', 0)}/{spec.get('replicas', 1)}",
        status.get("updatedReplicas", 0),
        status.get("availableReplicas", 0),
        age,
        ",".join(str(c.get("name", "")) for c in containers),
        ",".join(str(c.get("image", "")) for c in containers),
        ",".join(f"{k}={v}" for k, v in sorted(selector.items())) or "<none>",
    ]


def _event_row(clock: SandboxClock) -> Callable[[dict[str, Any], str], Row]:
    def row(obj: dict[str, Any], age: str) -> Row:
        involved = obj.get("involvedObject") or {}
        source = obj.get("source") or {}
        last = obj.get("lastTimestamp") or obj.get("eventTime") or obj["metadata"].get("creationTimestamp")
        first = obj.get("firstTimestamp") or obj.get("eventTime") or obj["metadata"].get("creationTimestamp")
        origin = ", ".join(str(v) for v in (source.get("component"), source.get("host")) if v)
        return [
            _since(clock, last),
            obj.get("type", ""),
            obj.get("reason", ""),
            f"{str(involved.get('kind', '')).lower()}/{involved.get('name', '')}",
            involved.get("fieldPath", ""),
            origin or obj.get("reportingComponent", ""),
            str(obj.get("message", "")).strip(),
            _since(clock, first),
            obj.get("count", 1),
            obj["metadata"]["name"],
        ]

    return row


def _strings(*columns: tuple[str, int]) -> list[_Column]:
    """String columns from (name, priority) pairs."""
    return [(name, "string", "", priority) for name, priority in columns]


_EVENT_COLUMNS = _strings(
    ("Last Seen", 0), ("Type", 0), ("Reason", 0), ("Object", 0), ("Subobject", 1), ("Source", 1),
    ("Message", 0), ("First Seen", 1), ("Count", 1), ("Name", 1),
)


def _default_row(obj: dict[str, Any], age: str) -> Row:
    return [obj["metadata"]["name"], age]


_NAME: _Column = ("Name", "string", "Name must be unique within a namespace.", 0)
_AGE: _Column = ("Age", "string", "Time since creation.", 0)
_LAYOUTS: dict[str, tuple[list[_Column], Callable[[dict[str, Any], str], Row]]] = {
    "Node": (
        [
            _NAME,
            ("Status", "string", "", 0),
            ("Roles", "string", "", 0),
            _AGE,
            ("Version", "string", "", 0),
            ("Internal-IP", "string", "", 1),
            ("GPU-Product", "string", "", 1),
            ("MIG-State", "string", "", 1),
        ],
        _node_row,
    ),
    "Pod": (
        [
            _NAME,
            ("Ready", "string", "", 0),
            ("Status", "string", "", 0),
            ("Restarts", "integer", "", 0),
            _AGE,
            ("IP", "string", "", 1),
            ("Node", "string", "", 1),
        ],
        _pod_row,
    ),
    "PodDisruptionBudget": (
        [
            _NAME,
            ("Min Available", "string", "", 0),
            ("Max Unavailable", "string", "", 0),
            ("Allowed Disruptions", "integer", "", 0),
            _AGE,
        ],
        _pdb_row,
    ),
    "CustomResourceDefinition": ([_NAME, ("Created At", "date", "", 0)], _crd_row),
    "Namespace": ([_NAME, ("Status", "string", "", 0), _AGE], _namespace_row),
    "Deployment": (
        [_NAME, *_strings(("Ready", 0), ("Up-to-date", 0), ("Available", 0)), _AGE,
         *_strings(("Containers", 1), ("Images", 1), ("Selector", 1))],
        _deployment_row,
    ),
}


def wants_table(accept: str) -> bool:
    return "as=Table" in accept


def table(
    kind: str,
    objects: list[dict[str, Any]],
    clock: SandboxClock,
    list_meta: dict[str, Any],
    include_object: str = "Metadata",
) -> dict[str, Any]:
    columns, row_of = _LAYOUTS.get(kind, ([_NAME, _AGE], _default_row))
    if kind == "Event":  # its ages are of its own timestamps, read with the sandbox's clock
        columns, row_of = _EVENT_COLUMNS, _event_row(clock)
    rows = []
    for obj in objects:
        row: dict[str, Any] = {"cells": row_of(obj, _age(clock, obj))}
        if include_object == "Object":
            row["object"] = obj
        elif include_object != "None":
            row["object"] = {
                "kind": "PartialObjectMetadata",
                "apiVersion": "meta.k8s.io/v1",
                "metadata": obj["metadata"],
            }
        rows.append(row)
    return {
        "kind": "Table",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": list_meta,
        "columnDefinitions": [
            {"name": n, "type": t, "format": "name" if n == "Name" else "", "description": d, "priority": p}
            for n, t, d, p in columns
        ],
        "rows": rows,
    }
