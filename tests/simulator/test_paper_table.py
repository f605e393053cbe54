"""The FGD paper's table: tasks cover every trace × policy × seed in order, and the
reference-faithful policies land near the published means on openb `default`."""

from __future__ import annotations

from pathlib import Path

import pytest

from simulator.backends import InlineBackend
from simulator.paper import PUBLISHED, fgd_table, tasks_for
from simulator.placement import FGD_PAPER_POLICIES


def test_published_rows_name_every_paper_policy() -> None:
    """Each published trace has a figure for each of the six policies, FGD the lowest."""
    for trace, row in PUBLISHED.items():
        assert set(row) == set(FGD_PAPER_POLICIES), trace
        assert min(row, key=row.__getitem__) == "fgd", trace


def test_tasks_cover_every_combination_traces_outermost() -> None:
    """Two traces × two policies × three seeds give twelve tasks, seeds innermost."""
    tasks = tasks_for(Path("x"), ["default", "gpuspec10"], ["fgd", "random"], 3)
    assert len(tasks) == 12
    assert [(t.trace, t.policy, t.seed) for t in tasks[:4]] == [
        ("default", "fgd", 0),
        ("default", "fgd", 1),
        ("default", "fgd", 2),
        ("default", "random", 0),
    ]


@pytest.mark.slow
def test_reference_policies_land_near_the_published_means(traces: Path) -> None:
    """On openb `default`, two seeds: fgd, best-fit and gpu-packing within 0.6 points of the
    paper's means, and fgd the best of the three (the paper's ranking)."""
    rows = fgd_table(
        traces / "openb", ["default"], InlineBackend(), seeds=2, policies=["fgd", "best-fit", "gpu-packing"]
    )
    for row in rows:
        assert row.difference is not None and abs(row.difference) < 0.6, row
    assert min(rows, key=lambda r: r.mean).policy == "fgd"
