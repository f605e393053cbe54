"""Benchmarks: each module `bench/<name>.py` has a `main()` printing its figures;
`python -m bench` runs them all, `python -m bench.<name>` runs one."""
