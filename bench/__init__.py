"""Benchmarks: runnable scripts (`python -m bench.<name>`) that print their figures."""
