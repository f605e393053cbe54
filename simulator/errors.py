"""The simulator's errors, one tree under `schemas.errors.Terminal`: bad input must change
before a run can succeed. `InputError` (the cluster, workload or parameters) is reported in
the run's result instead of raised; the others (a gate rule, a standing workload, a sweep's
`--vary`, a backend) stop the command. Anything else that escapes a run is a bug."""

from __future__ import annotations

from schemas.errors import Terminal


class SimulatorError(Terminal):
    """Base of every error the simulator raises on purpose (terminal)."""


class InputError(ValueError, SimulatorError):
    """The cluster, workload or parameters cannot be simulated as given."""
