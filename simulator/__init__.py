"""The capacity simulator: a SimPy model of the GPU cluster a desired state describes,
replaying workloads to predict utilisation, queueing and fragmentation.
Imports `schemas`, never the reconciler's cluster code."""
