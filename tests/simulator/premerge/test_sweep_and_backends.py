"""Sweeps and backends: the --vary grammar, combinations applied to the desired state, the
same numbers from every backend (inline, local process pool, Ray), and common random numbers."""

from __future__ import annotations

import importlib.util
import json
import os
from dataclasses import replace
from pathlib import Path

import pytest
from typer.testing import CliRunner

from gpuctl.cli import app
from simulator import SimConfig, SimParameters, run
from simulator.backends import InlineBackend, ProcessPoolBackend, RayBackend
from simulator.compare import CompareInputs, compare
from simulator.sweep.grid import SweepError, apply, combinations, parse_vary
from simulator.sweep.run import sweep
from tests.simulator.premerge.conftest import EXAMPLE, example_state

SHORT = 12 * 3600.0


def _sweep(backend: object) -> list[dict[str, object]]:
    state = example_state()
    axes = [
        parse_vary("policy=best-fit,fgd"),
        parse_vary("pool.h100-inference.mig.config=all-balanced,half-split"),
    ]
    rows = sweep(
        state,
        state.workloads[0],
        SimParameters(seed=7, horizon=SHORT),
        axes,
        seeds=2,
        backend=backend,  # type: ignore[arg-type]
    )
    return [row.to_dict() for row in rows]


def test_vary_grammar_and_combinations() -> None:
    """KEY=V1,V2 axes multiply out in the order given; bad keys and values are errors."""
    axes = [parse_vary("policy=fgd,best-fit"), parse_vary("queue=fifo")]
    assert combinations(axes) == [{"policy": "fgd", "queue": "fifo"}, {"policy": "best-fit", "queue": "fifo"}]
    for bad in ("policy", "policy=", "speed=1", "policy=fastest", "queue=lifo"):
        with pytest.raises(SweepError):
            parse_vary(bad)


def test_apply_sets_pool_fields_with_validation() -> None:
    """A pool field is set through the repository model; an invalid value names the field."""
    state = example_state()
    varied, params = apply(
        state, SimParameters(), {"pool.h100-inference.mig.config": "half-split", "policy": "fgd"}
    )
    assert varied.pool("h100-inference").spec.mig.config == "half-split"
    assert state.pool("h100-inference").spec.mig.config == "all-balanced"
    assert params.policy == "fgd"
    with pytest.raises(SweepError, match=r"mig\.strategy"):
        apply(state, SimParameters(), {"pool.h100-inference.mig.strategy": "sometimes"})
    with pytest.raises(SweepError, match="no GPUNodePool 'gpu'"):
        apply(state, SimParameters(), {"pool.gpu.nodes": "2"})


@pytest.mark.slow
def test_process_pool_gives_the_inline_numbers() -> None:
    """A local process pool returns exactly the numbers of running every task inline."""
    assert _sweep(ProcessPoolBackend(2)) == _sweep(InlineBackend())


@pytest.mark.slow
def test_ray_backend_gives_the_local_numbers() -> None:
    """Each run as a Ray task on a local Ray instance gives the local backend's numbers."""
    if importlib.util.find_spec("ray") is None:
        if os.environ.get("CI") == "true":
            pytest.fail("CI must install the ray extra: pip install '.[ray]'")
        pytest.skip("ray is not installed (pip install 'gpuctl[ray]')")
    import ray

    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        assert _sweep(RayBackend()) == _sweep(ProcessPoolBackend(2))
    finally:
        ray.shutdown()


def test_common_random_numbers_and_plain_run_agree() -> None:
    """Base against itself differs by exactly zero, and each side equals `simulator.run` with that seed."""
    state = example_state()
    params = SimParameters(seed=3, horizon=SHORT)
    inputs = CompareInputs(state, state, state.workloads[0], params, 2, standing=False, rollout=False)
    comparison = compare(inputs, InlineBackend())
    assert all(d.diff == 0.0 for d in comparison.metrics.values() if d.diff is not None)
    plain = [run(SimConfig(state, state.workloads[0], params.model_copy(update={"seed": s}))) for s in (3, 4)]
    mean_completed = sum(r.metrics["jobs"]["completed"] for r in plain) / 2
    assert comparison.metrics["completed"].base == mean_completed


def test_sweep_cli_writes_a_table_and_json(tmp_path: Path) -> None:
    """`gpuctl simulate sweep` prints one row per combination and writes sweep.json."""
    done = CliRunner().invoke(
        app,
        [
            "simulate",
            "sweep",
            "--repo",
            str(EXAMPLE),
            "--vary",
            "policy=best-fit,bin-pack",
            "--seeds",
            "2",
            "--horizon",
            "6h",
            "--backend",
            "inline",
            "--out",
            str(tmp_path),
        ],
    )
    assert done.exit_code == 0, done.output
    rows = json.loads((tmp_path / "sweep.json").read_text())["rows"]
    assert [r["combination"] for r in rows] == [{"policy": "best-fit"}, {"policy": "bin-pack"}]
    assert all(r["figures"]["gpu_allocation"]["seeds"] == 2 for r in rows)


def test_sweep_cli_bad_vary_exits_2() -> None:
    """A --vary naming a pool the repository lacks is an error (exit 2) naming the pools."""
    done = CliRunner().invoke(
        app,
        ["simulate", "sweep", "--repo", str(EXAMPLE), "--vary", "pool.gpu.nodes=1,2", "--backend", "inline"],
    )
    assert done.exit_code == 2
    assert "no GPUNodePool 'gpu'" in done.stderr


def test_removed_pool_is_warned_about_in_words() -> None:
    """Dropping the T4 pool: the pool's removal and the notebooks' lost resource are both named."""
    state = example_state()
    head = replace(state, pools=[p for p in state.pools if p.metadata.name != "t4-notebooks"])
    params = SimParameters(seed=1, horizon=6 * 3600.0)
    comparison = compare(CompareInputs(state, head, state.workloads[0], params, 5), InlineBackend())
    assert "pool t4-notebooks is removed by this change: 16 GPUs of capacity go away" in comparison.warnings
    assert any(
        w.startswith(
            "team research requests nvidia.com/gpu.shared but no pool advertises it after this change"
        )
        for w in comparison.warnings
    )
    assert comparison.teams["research"]["unschedulable"].significant
    assert comparison.pools["t4-notebooks"].head is None


def test_sweep_reports_a_combination_whose_cluster_cannot_be_built() -> None:
    """A MIG config the repository does not define fails its own row; the other rows still run."""
    state = example_state()
    axes = [parse_vary("pool.h100-inference.mig.config=all-balanced,no-such-layout")]
    params = SimParameters(seed=1, horizon=3600.0)
    rows = sweep(state, state.workloads[0], params, axes, seeds=2, backend=InlineBackend())
    assert rows[0].errors == [] and rows[0].figures["gpu_allocation"].seeds == 2
    assert "no-such-layout" in rows[1].errors[0]
