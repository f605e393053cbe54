"""The gpuctl application: the command line (`gpuctl.cli`) and the guided tour (`gpuctl.demo`).

It sits on top of the library packages and wires them together: `schemas` (the contract),
`reconciler` (load, validate, render, plan, apply, audit, the daemon), `simulator` and
`sandbox`. None of those imports this package.
"""
