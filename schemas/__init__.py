"""The contract: pydantic models of the desired-state repository, the GPU catalogue and
the result types shared by the reconciler and the simulator. Imports nothing else of ours."""
