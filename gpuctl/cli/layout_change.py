"""One line per GPU node pool whose layout differs between two desired states, for the
pre-merge comparison's output: which pool, which field, from what to what. With a per-cluster
`--path` (a kustomize overlay) it says whether this cluster's GPUs change at all."""

from __future__ import annotations

from schemas.desired import DesiredState
from schemas.kinds import GPUNodePool


def _fields(pool: GPUNodePool) -> dict[str, str]:
    spec = pool.spec
    return {
        "gpu": f"{spec.gpu.per_node}× {spec.gpu.model}",
        "nodes": str(spec.nodes),
        "mig.config": spec.mig.config,
        "mig.strategy": spec.mig.strategy,
        "devicePlugin.config": spec.device_plugin.config if spec.device_plugin else "(none)",
    }


def layout_changes(base: DesiredState, head: DesiredState) -> list[str]:
    """`pool: field old → new` for every changed field, added and removed pools; sorted."""
    before = {p.metadata.name: _fields(p) for p in base.pools}
    after = {p.metadata.name: _fields(p) for p in head.pools}
    lines: list[str] = []
    for name in sorted(before.keys() | after.keys()):
        if name not in after:
            lines.append(f"{name}: removed")
        elif name not in before:
            lines.append(f"{name}: added ({after[name]['gpu']}, mig.config {after[name]['mig.config']})")
        else:
            lines.extend(
                f"{name}: {field} {old} → {after[name][field]}"
                for field, old in before[name].items()
                if after[name][field] != old
            )
    return lines


def describe_layout_change(base: DesiredState, head: DesiredState) -> str:
    """The lines above under a heading, or that the GPU layout does not change."""
    changes = layout_changes(base, head)
    if not changes:
        return "GPU layout: no change (same pools, MIG and device-plugin configs)"
    return "GPU layout changes:\n" + "\n".join(f"  {line}" for line in changes)
