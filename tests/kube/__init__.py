"""Test fixtures for the two cluster backends: the embedded sandbox and a real control plane."""
