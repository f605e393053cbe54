"""The SimPy event type, for processes written outside this package on top of the engine
(the comparison's rollout outages, `simulator.compare.engine`): only `simulator.engine`
imports simpy, so that the discrete-event library stays behind one package."""

from simpy import Event

__all__ = ["Event"]
