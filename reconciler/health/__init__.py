"""Health assessment: one assessor per kind and an aggregate with timeouts."""
