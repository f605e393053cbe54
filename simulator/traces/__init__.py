"""Workload and node-list loaders: CSV traces and synthetic generators → `JobTable`.

No SimPy here: loaders only read files or draw numbers. Every bad row is reported as a
`TraceError` carrying the file and line.
"""

from simulator.traces.errors import TraceError
from simulator.traces.gpuctl_csv import load_gpuctl_csv
from simulator.traces.itp import load_itp
from simulator.traces.openb import NodeList, load_openb_nodes, load_openb_pods
from simulator.traces.synthetic import generate_from_profile

__all__ = [
    "NodeList",
    "TraceError",
    "generate_from_profile",
    "load_gpuctl_csv",
    "load_itp",
    "load_openb_nodes",
    "load_openb_pods",
]
