"""The simulated cluster: its static shape (`ClusterSpec`, built from a desired state, a
trace's node list or a uniform size) and its mutable free capacity (`ClusterState`).
Plain numpy; no SimPy here."""

from simulator.cluster.builders import from_desired_state, from_node_list, uniform
from simulator.cluster.spec import ClusterSpec, DeviceKind, ModelError
from simulator.cluster.state import ClusterState, PodRequest

__all__ = [
    "ClusterSpec",
    "ClusterState",
    "DeviceKind",
    "ModelError",
    "PodRequest",
    "from_desired_state",
    "from_node_list",
    "uniform",
]
