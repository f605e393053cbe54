"""Placement policies behind one small interface (`PlacementPolicy`), and their registry.

`random`, `best-fit`, `dot-product`, `gpu-packing`, `gpu-clustering` and `fgd` score as the FGD
paper's reference simulator does (integer scores, one fixed node order per run for ties; see
`reference.py`). The same names with `-gpuctl` are gpuctl's own earlier variants (float scores,
random ties; `dot-product-gpuctl` maximises the alignment, `fgd-gpuctl` breaks ties by less
free GPU), kept for comparison. `k8s-default` models stock kube-scheduler's default scoring
(`kube.py`); `k8s-default-gpuctl` is the earlier float LeastAllocated over CPU, memory and GPU;
`bin-pack` is MostAllocated over the same three.
"""

from __future__ import annotations

from collections.abc import Callable

from simulator.errors import InputError
from simulator.placement.base import Placement, PlacementPolicy, TieBreaker, pick_first_best, pick_highest
from simulator.placement.fgd import FragmentationGradient
from simulator.placement.fragmentation import FragmentationTracker, TargetWorkload
from simulator.placement.kube import KubeDefault
from simulator.placement.reference import REFERENCE_POLICIES
from simulator.placement.scoring import (
    BestFit,
    DotProduct,
    GpuClustering,
    GpuPacking,
    LeastAllocated,
    MostAllocated,
    RandomPolicy,
)

_SIMPLE: dict[str, Callable[[], PlacementPolicy]] = {
    "k8s-default": KubeDefault,
    "bin-pack": MostAllocated,
    **REFERENCE_POLICIES,
    "k8s-default-gpuctl": LeastAllocated,
    "random-gpuctl": RandomPolicy,
    "best-fit-gpuctl": BestFit,
    "dot-product-gpuctl": DotProduct,
    "gpu-packing-gpuctl": GpuPacking,
    "gpu-clustering-gpuctl": GpuClustering,
}
POLICY_NAMES = (*_SIMPLE, "fgd", "fgd-gpuctl")
# The six policies of the FGD paper's comparison, in its order.
FGD_PAPER_POLICIES = ("random", "dot-product", "gpu-clustering", "gpu-packing", "best-fit", "fgd")


def make_policy(name: str, target: TargetWorkload) -> PlacementPolicy:
    """A fresh policy called `name`; `target` is the workload FGD measures fragmentation against."""
    if name in ("fgd", "fgd-gpuctl"):
        return FragmentationGradient(target, integer=name == "fgd")
    if name not in _SIMPLE:
        raise InputError(f"unknown placement policy {name!r}; choose one of {', '.join(POLICY_NAMES)}")
    return _SIMPLE[name]()


__all__ = [
    "FGD_PAPER_POLICIES",
    "POLICY_NAMES",
    "FragmentationTracker",
    "Placement",
    "PlacementPolicy",
    "TargetWorkload",
    "TieBreaker",
    "make_policy",
    "pick_first_best",
    "pick_highest",
]
