"""`gpuctl simulate calibrate PATH --trace captured:7d`: replay what the cluster ran against the
desired state at PATH and print, per team and per pool, how far the simulated queue waits and
GPU allocation are from what was observed. Exit codes: 0 report printed; 1 invalid repository or
a trace the cluster cannot run; 2 usage, missing store or malformed trace."""

from __future__ import annotations

import json
from contextlib import ExitStack
from pathlib import Path
from typing import Annotated, Any

import typer

from gpuctl.cli.captured import CaptureInputError, capture_db, captured_trace, is_captured
from gpuctl.cli.console import make_console
from gpuctl.cli.errors import fail
from gpuctl.cli.loading import EXIT_INVALID, EXIT_USAGE, echo_errors, load_path
from gpuctl.cli.output import LegacyJsonOption, Output, OutputOption, chosen, reformat
from gpuctl.cli.simulate_inputs import QueueOption


def _fail(message: str, code: int = EXIT_USAGE) -> typer.Exit:
    return fail(message, code)


def _seconds(value: float | None) -> str:
    return "-" if value is None else f"{value:,.0f}s"


def _print(report: dict[str, Any], label: str) -> None:
    from rich.table import Table

    console = make_console()
    console.print(
        f"[bold]calibration[/bold] · {label}: {report['jobs']} jobs "
        f"over {report['window_s']:,.0f}s; "
        f"{report['not_started_in_simulation']} never started in the simulation; "
        f"mean |simulated − observed| wait {_seconds(report['wait_mae_s'])}"
    )
    teams = Table(
        "team",
        "jobs",
        "observed wait mean / p95",
        "simulated mean / p95",
        "error mean / p95",
        title="queue wait per team",
    )
    for team, row in report["by_team"].items():
        obs, sim = row["observed_wait_s"], row["simulated_wait_s"]
        teams.add_row(
            team,
            str(obs.get("jobs", 0)),
            f"{_seconds(obs.get('mean'))} / {_seconds(obs.get('p95'))}",
            f"{_seconds(sim.get('mean'))} / {_seconds(sim.get('p95'))}",
            f"{_seconds(row.get('wait_error_s'))} / {_seconds(row.get('wait_p95_error_s'))}",
        )
    console.print(teams)
    pools = Table(
        "pool",
        "jobs obs / sim",
        "devices held obs",
        "sim",
        "mean abs error",
        "relative",
        title=f"GPU devices held per pool ({report['buckets']} time buckets)",
    )
    for pool, row in report["by_pool"].items():
        relative = row["allocation_mae_relative"]
        pools.add_row(
            pool,
            f"{row['jobs_observed']} / {row['jobs_simulated']}",
            f"{row['observed_devices_mean']:.2f}",
            f"{row['simulated_devices_mean']:.2f}",
            f"{row['allocation_mae_devices']:.2f}",
            "-" if relative is None else f"{100 * relative:.0f}%",
        )
    console.print(pools)


def calibrate_command(  # noqa: PLR0917 - typer maps each option to a parameter
    path: Annotated[
        Path, typer.Argument(metavar="PATH", help="Desired-state repository (the current cluster).")
    ],
    trace: Annotated[
        str, typer.Option("--trace", help="captured:<window> (the capture store) or an exported CSV file.")
    ] = "captured:7d",
    db: Annotated[Path | None, typer.Option("--capture-db", help="Capture store for captured:.")] = None,
    policy: Annotated[str, typer.Option("--policy", "-p", help="Placement policy.")] = "k8s-default",
    queue: QueueOption = "fifo",
    seed: Annotated[int, typer.Option("--seed", help="Seed of the replay's tie-breaking.")] = 0,
    buckets: Annotated[
        int, typer.Option("--buckets", min=2, help="Time buckets of the allocation curves.")
    ] = 48,
    output: OutputOption = Output.TEXT,
    as_json: LegacyJsonOption = False,
) -> None:
    """Replay the captured workload against PATH and report the simulator's error per team and pool.

    Example: gpuctl simulate calibrate desired_state --trace captured:7d -o json
    """
    output = chosen(output, as_json=as_json)
    from pydantic import ValidationError

    from schemas.validation_text import describe_all
    from simulator.calibrate import calibrate, load_observed, node_pools, pin_to_pool_models
    from simulator.cluster import from_desired_state
    from simulator.config import SimParameters
    from simulator.errors import InputError
    from simulator.placement import POLICY_NAMES
    from simulator.quotas import quotas_from_state
    from simulator.traces import TraceError, load_gpuctl_csv

    if policy not in POLICY_NAMES:
        raise _fail(f"unknown --policy {policy!r}; choose one of {', '.join(POLICY_NAMES)}")
    loaded = load_path(path, None)
    if loaded.state is None:
        echo_errors(path, loaded)
        raise _fail(f"{path}: invalid repository; nothing simulated (run gpuctl validate)", EXIT_INVALID)
    state = loaded.state
    try:
        params = SimParameters.model_validate({"policy": policy, "queue": queue, "seed": seed})
    except ValidationError as err:
        raise _fail(describe_all(err.errors(include_url=False), flags=True)) from err
    with ExitStack() as stack:
        try:
            if is_captured(trace):
                file, _ = stack.enter_context(captured_trace(trace, capture_db(db)))
            else:
                file = Path(trace)
            jobs = load_gpuctl_csv(file)
            observed = load_observed(file, jobs)
        except (CaptureInputError, TraceError) as exc:
            raise _fail(str(exc)) from exc
        models = {pool.metadata.name: pool.spec.gpu.model for pool in state.pools}
        try:
            pinned = pin_to_pool_models(jobs, observed, models)
            report = calibrate(
                from_desired_state(state),
                pinned,
                observed,
                node_pools(state),
                params,
                quotas=quotas_from_state(state),
                buckets=buckets,
            )
        except (InputError, ValueError, KeyError) as exc:
            raise _fail(f"{type(exc).__name__}: {exc}", EXIT_INVALID) from exc
    if output is not Output.TEXT:
        text = json.dumps(report, indent=1, sort_keys=True)
        typer.echo(text if output is Output.JSON else reformat(text, output))
    else:
        _print(report, trace)
