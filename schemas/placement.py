"""MIG placement: does a multiset of profiles fit one GPU, and where does each instance go?

The solver is exact: it searches over the allowed placement starts of every instance
(memory-slice units, as NVML places them) and accepts a layout only when no two instances
overlap on the memory-slice axis, the compute slices add up to at most the GPU's, and at
most one media-extension (`+me`) instance is present. Largest instances are placed first,
which keeps the search tiny (at most 7 instances on any catalogue GPU).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache

from schemas.catalogue import Catalogue, MigProfile, catalogue


@dataclass(frozen=True, order=True)
class PlacedInstance:
    """One GPU instance at its placement: `{start}:size` in memory slices."""

    start: int
    size: int
    profile: str


@dataclass(frozen=True)
class FitResult:
    """The answer of the solver: a placement when the layout fits, else the reason it does not."""

    placement: tuple[PlacedInstance, ...] | None
    reason: str = ""

    @property
    def fits(self) -> bool:
        return self.placement is not None


def fit_profiles(model: str, counts: Mapping[str, int], cat: Catalogue | None = None) -> FitResult:
    """Decide whether `counts` (profile name → instance count) fits one GPU of `model`."""
    cat = cat or catalogue()
    key = tuple(sorted((name, n) for name, n in counts.items() if n))
    if cat is catalogue():
        return _fit_cached(model, key)
    return _fit(cat, model, key)


@lru_cache(maxsize=4096)
def _fit_cached(model: str, key: tuple[tuple[str, int], ...]) -> FitResult:
    return _fit(catalogue(), model, key)


def _fit(cat: Catalogue, model: str, key: tuple[tuple[str, int], ...]) -> FitResult:
    if not cat.has_model(model):
        return FitResult(None, f"unknown GPU model {model!r}")
    if not cat.is_mig_capable(model):
        return FitResult(None, f"{model} does not support MIG")
    geometry = cat.geometry(model)
    known = cat.profiles(model)
    instances: list[MigProfile] = []
    for name, count in key:
        if count < 0:
            return FitResult(None, f"negative count {count} for {name}")
        profile = known.get(name)
        if profile is None:
            return FitResult(None, f"{name} is not a MIG profile of {model} (valid: {', '.join(known)})")
        if count > profile.max_count:
            return FitResult(None, f"{count} × {name} exceeds the maximum of {profile.max_count} on {model}")
        instances.extend([profile] * count)
    if sum(1 for p in instances if p.media_extension) > 1:
        return FitResult(None, "at most one media-extension (+me) instance fits on a GPU")
    compute = sum(p.sm_slices for p in instances)
    if compute > geometry.compute_slices:
        return FitResult(
            None,
            f"the instances need {compute} compute slices; {model} has {geometry.compute_slices}",
        )
    memory = sum(p.memory_slices for p in instances)
    if memory > geometry.memory_slices:
        return FitResult(
            None,
            f"the instances need {memory} memory slices; {model} has {geometry.memory_slices}",
        )
    instances.sort(key=lambda p: (-p.memory_slices, len(p.starts), p.name))
    placed = _search(instances, 0, 0, [])
    if placed is None:
        return FitResult(None, "no placement of these instances avoids overlapping memory slices")
    return FitResult(tuple(sorted(placed)))


def _search(
    instances: list[MigProfile], index: int, used: int, placed: list[PlacedInstance]
) -> list[PlacedInstance] | None:
    """Depth-first search over allowed starts; `used` is a bitmask of memory slices."""
    if index == len(instances):
        return list(placed)
    profile = instances[index]
    # Identical consecutive instances are placed at increasing starts (symmetry pruning).
    min_start = -1
    if index and instances[index - 1].name == profile.name and placed:
        min_start = placed[-1].start
    for start in profile.starts:
        if start <= min_start:
            continue
        mask = ((1 << profile.memory_slices) - 1) << start
        if used & mask:
            continue
        placed.append(PlacedInstance(start, profile.memory_slices, profile.name))
        found = _search(instances, index + 1, used | mask, placed)
        if found is not None:
            return found
        placed.pop()
    return None


def max_fitting_count(model: str, profile: str, cat: Catalogue | None = None) -> int:
    """The most instances of one profile that fit one GPU (used by `all-<profile>`)."""
    cat = cat or catalogue()
    best = 0
    for n in range(1, cat.profile(model, profile).max_count + 1):
        if fit_profiles(model, {profile: n}, cat).fits:
            best = n
    return best
