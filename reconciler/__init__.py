"""The reconciler: loading desired state from Git, rendering, planning, cluster access
(the only package that imports `kubernetes`), apply and rollouts, health, audit, the
daemon's triggers, and the CLI."""
