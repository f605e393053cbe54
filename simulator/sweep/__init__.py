"""Sweeps: every combination of varied settings (placement policy, queue discipline, pool
fields) × seeds, run on a backend (inline, local process pool, or Ray)."""
