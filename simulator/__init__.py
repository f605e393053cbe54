"""The capacity simulator: a SimPy model of the GPU cluster a desired state describes,
replaying workloads to predict utilisation, queueing and fragmentation.
Imports `schemas`, never the reconciler's cluster code.

Entry point: `simulator.run(SimConfig) -> RunResult`."""

from simulator.config import SharingModel, SimConfig, SimParameters
from simulator.experiment import run, run_seeds
from simulator.result import RunResult

__all__ = ["RunResult", "SharingModel", "SimConfig", "SimParameters", "run", "run_seeds"]
