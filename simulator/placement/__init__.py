"""Placement policies behind one small interface (`PlacementPolicy`), and their registry."""

from __future__ import annotations

from collections.abc import Callable

from simulator.errors import InputError
from simulator.placement.base import Placement, PlacementPolicy, TieBreaker, pick_highest
from simulator.placement.fgd import FragmentationGradient
from simulator.placement.fragmentation import FragmentationTracker, TargetWorkload
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
    "k8s-default": LeastAllocated,
    "bin-pack": MostAllocated,
    "random": RandomPolicy,
    "best-fit": BestFit,
    "dot-product": DotProduct,
    "gpu-packing": GpuPacking,
    "gpu-clustering": GpuClustering,
}
POLICY_NAMES = (*_SIMPLE, "fgd")


def make_policy(name: str, target: TargetWorkload) -> PlacementPolicy:
    """A fresh policy called `name`; `target` is the workload FGD measures fragmentation against."""
    if name == "fgd":
        return FragmentationGradient(target)
    if name not in _SIMPLE:
        raise InputError(f"unknown placement policy {name!r}; choose one of {', '.join(POLICY_NAMES)}")
    return _SIMPLE[name]()


__all__ = [
    "POLICY_NAMES",
    "FragmentationTracker",
    "Placement",
    "PlacementPolicy",
    "TargetWorkload",
    "TieBreaker",
    "make_policy",
    "pick_highest",
]
