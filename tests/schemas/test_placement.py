"""The MIG placement solver against brute force and the reference's published counts."""

from __future__ import annotations

import itertools

from hypothesis import given, settings
from hypothesis import strategies as st

from schemas.catalogue import catalogue
from schemas.placement import fit_profiles

SEVEN_SLICE = "A100-SXM4-80GB"


def brute_force_fits(model: str, counts: dict[str, int]) -> bool:
    """Try every assignment of allowed starts; the reference answer for the solver."""
    cat = catalogue()
    geometry = cat.geometry(model)
    instances = [cat.profile(model, name) for name, n in counts.items() for _ in range(n)]
    if any(n > cat.profile(model, name).max_count for name, n in counts.items()):
        return False
    if sum(1 for p in instances if p.media_extension) > 1:
        return False
    if sum(p.sm_slices for p in instances) > geometry.compute_slices:
        return False
    for starts in itertools.product(*(p.starts for p in instances)):
        used = 0
        ok = True
        for profile, start in zip(instances, starts, strict=True):
            mask = ((1 << profile.memory_slices) - 1) << start
            if used & mask or start + profile.memory_slices > geometry.memory_slices:
                ok = False
                break
            used |= mask
        if ok:
            return True
    return False


def _counts_strategy(model: str) -> st.SearchStrategy[dict[str, int]]:
    names = sorted(catalogue().profiles(model))
    return st.fixed_dictionaries({name: st.integers(0, 3) for name in names}).map(
        lambda d: {k: v for k, v in d.items() if v}
    )


@settings(max_examples=300, deadline=None)
@given(counts=_counts_strategy(SEVEN_SLICE))
def test_solver_agrees_with_brute_force_on_seven_slice_gpu(counts: dict[str, int]) -> None:
    """The exact solver and brute force agree on every multiset of A100-80GB profiles."""
    assert fit_profiles(SEVEN_SLICE, counts).fits == brute_force_fits(SEVEN_SLICE, counts)


@settings(max_examples=200, deadline=None)
@given(counts=_counts_strategy("A30-24GB"))
def test_solver_agrees_with_brute_force_on_a30(counts: dict[str, int]) -> None:
    """The solver and brute force agree on the 4-slice A30 geometry."""
    assert fit_profiles("A30-24GB", counts).fits == brute_force_fits("A30-24GB", counts)


def test_returned_placement_uses_allowed_starts_without_overlap() -> None:
    """A successful fit returns a placement at allowed starts with disjoint memory slices."""
    result = fit_profiles("H100-SXM5-80GB", {"1g.10gb": 2, "2g.20gb": 1, "3g.40gb": 1})
    assert result.placement is not None
    used: set[int] = set()
    for inst in result.placement:
        profile = catalogue().profile("H100-SXM5-80GB", inst.profile)
        assert inst.start in profile.starts
        slices = set(range(inst.start, inst.start + inst.size))
        assert not used & slices
        used |= slices


def test_seven_slice_has_77_multisets_of_which_28_maximal() -> None:
    """Reproduces §1.6: 77 valid non-empty multisets (no +me), 28 of them maximal."""
    cat = catalogue()
    names = [n for n, p in cat.profiles(SEVEN_SLICE).items() if not p.media_extension]
    valid = []
    for counts in itertools.product(*(range(cat.profile(SEVEN_SLICE, n).max_count + 1) for n in names)):
        layout = {n: c for n, c in zip(names, counts, strict=True) if c}
        if layout and fit_profiles(SEVEN_SLICE, layout).fits:
            valid.append(layout)
    assert len(valid) == 77
    maximal = [
        layout
        for layout in valid
        if not any(fit_profiles(SEVEN_SLICE, {**layout, n: layout.get(n, 0) + 1}).fits for n in names)
    ]
    assert len(maximal) == 28


def test_name_differences_between_a100_40gb_and_80gb() -> None:
    """`1g.10gb` is a 2-memory-slice profile (max 4) on A100-40GB but max 7 on A100-80GB."""
    assert fit_profiles("A100-SXM4-40GB", {"1g.10gb": 4}).fits
    assert not fit_profiles("A100-SXM4-40GB", {"1g.10gb": 5}).fits
    assert fit_profiles("A100-SXM4-80GB", {"1g.10gb": 7}).fits


def test_errors_name_the_reason() -> None:
    """Unknown profiles, excess counts and overlaps each give a reason in words."""
    assert "not a MIG profile" in fit_profiles("H100-SXM5-80GB", {"1g.5gb": 1}).reason
    assert "exceeds the maximum" in fit_profiles("H100-SXM5-80GB", {"3g.40gb": 3}).reason
    assert "does not support MIG" in fit_profiles("T4", {"1g.5gb": 1}).reason
    assert not fit_profiles("H100-SXM5-80GB", {"4g.40gb": 1, "3g.40gb": 1, "1g.10gb": 1}).fits
    assert fit_profiles("H100-SXM5-80GB", {"4g.40gb": 1, "3g.40gb": 1}).fits  # R5: 4g+3g allowed
    assert not fit_profiles("A30-24GB", {"1g.6gb+me": 1, "2g.12gb+me": 1}).fits  # R6
