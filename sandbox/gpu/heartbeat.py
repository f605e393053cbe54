"""The kubelet's heartbeats, for GPU nodes on a real cluster: about every 10 s (real time,
whatever the sandbox speed) each node's Lease in `kube-node-lease` is renewed and its
`Ready` condition's `lastHeartbeatTime` written through the status subresource, as a
kubelet does. So a Node's resourceVersion changes every few seconds, as in a cluster, and
the node lifecycle controller keeps the node Ready. A write that loses a race is retried
on the next pass, soon."""

from __future__ import annotations

import copy
import time
from collections.abc import Callable
from datetime import UTC, datetime

from sandbox.clock import SandboxClock
from sandbox.gpu.port import LEASES, NODES, ClusterPort, Obj

NODE_LEASE_NAMESPACE = "kube-node-lease"
LEASE_DURATION_S = 40
KUBELET = "kubelet"
RETRY_S = 1.0


def _micro_time(moment: float) -> str:
    """MicroTime: the server wants the fraction, even when it is zero."""
    return datetime.fromtimestamp(moment, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _time(moment: float) -> str:
    return datetime.fromtimestamp(moment, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class NodeHeartbeat:
    watched: frozenset[tuple[str, str]] = frozenset()  # time-driven only

    def __init__(
        self,
        port: ClusterPort,
        clock: SandboxClock,
        nodes: Callable[[], list[str]],
        interval_s: float = 10.0,
    ) -> None:
        self._port = port
        self._clock = clock
        self._nodes = nodes
        self._interval = interval_s
        self._due: dict[str, float] = {}  # real time of each node's next beat

    def reconcile(self, now: float) -> float | None:
        real = time.time()
        pending: list[float] = []
        for name in self._nodes():
            due = self._due.get(name, 0.0)
            if real >= due:
                ok = self._beat(name, real)
                due = real + (self._interval if ok else RETRY_S)
                self._due[name] = due
            pending.append(due)
        if not pending:
            return None
        return now + self._clock.speed * max(0.0, min(pending) - real)

    def _beat(self, name: str, real: float) -> bool:
        node = self._port.get(NODES, "", name)
        if node is None:
            return False
        return self._renew_lease(node, real) and self._post_status(node, real)

    def _renew_lease(self, node: Obj, real: float) -> bool:
        name = node["metadata"]["name"]
        lease = self._port.get(LEASES, NODE_LEASE_NAMESPACE, name)
        if lease is None:
            created = self._port.create(
                LEASES,
                {
                    "apiVersion": "coordination.k8s.io/v1",
                    "kind": "Lease",
                    "metadata": {
                        "name": name,
                        "namespace": NODE_LEASE_NAMESPACE,
                        "ownerReferences": [
                            {
                                "apiVersion": "v1",
                                "kind": "Node",
                                "name": name,
                                "uid": node["metadata"].get("uid", ""),
                            }
                        ],
                    },
                    "spec": {
                        "holderIdentity": name,
                        "leaseDurationSeconds": LEASE_DURATION_S,
                        "renewTime": _micro_time(real),
                    },
                },
                KUBELET,
            )
            return created is not None
        renewed = copy.deepcopy(lease)
        renewed.setdefault("spec", {})["renewTime"] = _micro_time(real)
        return self._port.update(LEASES, renewed, KUBELET) is not None

    def _post_status(self, node: Obj, real: float) -> bool:
        updated = copy.deepcopy(node)
        stamp = _time(real)
        conditions = updated.setdefault("status", {}).setdefault("conditions", [])
        ready = next((c for c in conditions if c.get("type") == "Ready"), None)
        if ready is None:
            ready = {"type": "Ready", "lastTransitionTime": stamp}
            conditions.append(ready)
        if ready.get("status") != "True":
            ready["lastTransitionTime"] = stamp
        ready |= {
            "status": "True",
            "reason": "KubeletReady",
            "message": "kubelet is posting ready status",
            "lastHeartbeatTime": stamp,
        }
        return self._port.update(NODES, updated, KUBELET, "status") is not None


def _owner(node: Obj) -> Obj:
    """The Node owns its Lease: deleting the Node lets the garbage collector remove it."""
    meta = node["metadata"]
    return {"apiVersion": "v1", "kind": "Node", "name": meta["name"], "uid": meta.get("uid", "")}
