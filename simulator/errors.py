"""The simulator's error for bad input: terminal (the input must change), reported in the
run's result instead of raised. Anything else that escapes a run is a bug."""

from __future__ import annotations


class InputError(ValueError):
    """The cluster, workload or parameters cannot be simulated as given."""
