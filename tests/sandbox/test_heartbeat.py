"""The kubelet heartbeat on the in-process port: a first beat creates each node's Lease in
kube-node-lease (owned by the Node) and stamps the Ready condition; the next beat renews."""

from __future__ import annotations

import sandbox
from sandbox import SandboxSpec
from sandbox.gpu.heartbeat import NodeHeartbeat
from sandbox.gpu.port import LEASES, NODES, LocalPort
from tests.conformance.conftest import CONFORMANCE_POOLS


def test_beats_create_then_renew_the_lease_and_stamp_ready() -> None:
    """Two passes due one after the other: the Lease exists after the first, renewed by the second."""
    with sandbox.start(SandboxSpec(pools=list(CONFORMANCE_POOLS))) as sb:
        port = LocalPort(sb.api)
        beat = NodeHeartbeat(port, sb.clock, lambda: ["h100-0"], interval_s=0.0)
        beat.reconcile(sb.clock.now())
        lease = port.get(LEASES, "kube-node-lease", "h100-0")
        node = port.get(NODES, "", "h100-0")
        assert lease is not None and node is not None
        assert lease["spec"]["holderIdentity"] == "h100-0"
        assert lease["metadata"]["ownerReferences"][0]["uid"] == node["metadata"]["uid"]
        ready = next(c for c in node["status"]["conditions"] if c["type"] == "Ready")
        assert ready["status"] == "True" and ready["lastHeartbeatTime"]
        beat.reconcile(sb.clock.now())
        renewed = port.get(LEASES, "kube-node-lease", "h100-0")
        assert renewed is not None
        assert renewed["metadata"]["resourceVersion"] != lease["metadata"]["resourceVersion"]
