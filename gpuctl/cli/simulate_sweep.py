"""`gpuctl simulate sweep --repo PATH --vary KEY=V1,V2 … --seeds N`: every combination of the
varied settings (placement policy, queue discipline, pool fields) × seeds, as a table of means
with 95 % intervals. Runs on a local process pool, or with `--backend ray` as Ray tasks.

Exit codes: 0 every run succeeded; 2 an error (bad --vary, invalid repository, a failed run).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from gpuctl.cli.console import make_console
from gpuctl.cli.output import Output, OutputOption, dump
from gpuctl.cli.simulate_inputs import (
    AddressOption,
    BackendName,
    BackendOption,
    HorizonOption,
    NoStandingOption,
    PathOption,
    PolicyOption,
    QueueOption,
    SeedOption,
    TimeScaleOption,
    TraceFormat,
    TraceFormatOption,
    TraceOption,
    WorkersOption,
    WorkloadOption,
    build_params,
    fail,
    load_state,
    resolve_workload,
)

if TYPE_CHECKING:
    from simulator.sweep.run import SweepRow

COMMAND = "simulate sweep"


def _print_table(rows: list[SweepRow]) -> None:
    from rich.table import Table

    from simulator.compare.metrics import METRICS
    from simulator.report.formatting import value
    from simulator.sweep.run import SWEEP_FIGURES

    keys = list(rows[0].combination) if rows else []
    table = Table(title="sweep: mean ± 95 % half-interval over seeds")
    for column in [*keys, *SWEEP_FIGURES, "errors"]:
        table.add_column(column, justify="left" if column in keys else "right")
    for row in rows:
        cells = []
        for name in SWEEP_FIGURES:
            estimate = row.figures.get(name)
            if estimate is None or estimate.mean is None:
                cells.append("–")
                continue
            metric = METRICS[name]
            spread = f" ± {value(metric, estimate.half_width)}" if estimate.half_width is not None else ""
            cells.append(value(metric, estimate.mean) + spread)
        table.add_row(*row.combination.values(), *cells, str(len(row.errors)) if row.errors else "")
    make_console().print(table)
    for row in rows:
        for error in row.errors:
            typer.echo(f"{row.combination}: {error}", err=True)


def sweep_command(  # noqa: PLR0917 - typer maps each option to a parameter
    repo: Annotated[Path, typer.Option("--repo", help="Desired-state directory or Git repository.")],
    vary: Annotated[
        list[str],
        typer.Option("--vary", help="KEY=V1,V2: policy, queue or pool.<POOL>.<field> (repeatable)."),
    ],
    revision: Annotated[
        str | None, typer.Option("--revision", help="Git revision to read (no checkout).")
    ] = None,
    legacy_rev: Annotated[str | None, typer.Option("--rev", hidden=True)] = None,
    subpath: PathOption = "",
    workload: WorkloadOption = None,
    trace: TraceOption = None,
    trace_format: TraceFormatOption = TraceFormat.CSV,
    time_scale: TimeScaleOption = 1.0,
    seeds: Annotated[int, typer.Option("--seeds", min=1, help="Seeds per combination.")] = 3,
    seed: SeedOption = None,
    horizon: HorizonOption = None,
    policy: PolicyOption = "k8s-default",
    queue: QueueOption = "fifo",
    out: Annotated[Path | None, typer.Option("--out", help="Write sweep.json here.")] = None,
    backend: BackendOption = BackendName.LOCAL,
    address: AddressOption = None,
    workers: WorkersOption = None,
    no_standing: NoStandingOption = False,
    output: OutputOption = Output.TEXT,
) -> None:
    """Run every combination of the varied settings × seeds and tabulate the results.

    Example: gpuctl simulate sweep --repo desired_state --vary policy=k8s-default,fgd --seeds 3
    """
    rev = revision or legacy_rev
    from simulator.backends import BackendError, make_backend
    from simulator.sweep.grid import SweepError, parse_vary
    from simulator.sweep.run import sweep

    try:
        axes = [parse_vary(text) for text in vary]
    except SweepError as err:
        raise fail(COMMAND, str(err)) from err
    # Bad options fail before anything is loaded.
    build_params(policy, queue, seed=0, horizon=horizon, time_scale=time_scale, command=COMMAND)
    where = repo / subpath if subpath else repo
    state = load_state(where, rev, COMMAND)
    work = resolve_workload([(state, where, rev)], trace, trace_format, workload, COMMAND)
    first = seed if seed is not None else work.default_seed
    params = build_params(policy, queue, seed=first, horizon=horizon, time_scale=time_scale, command=COMMAND)
    try:
        rows = sweep(
            state,
            work.jobs,
            params,
            axes,
            seeds=seeds,
            backend=make_backend(backend.value, address, workers),
            standing=not no_standing,
            workload_label=work.label,
        )
    except (ValueError, BackendError) as err:  # SweepError, StandingError, quota values
        raise fail(COMMAND, str(err)) from err
    payload = {
        "schema": "gpuctl.dev/simulate-sweep/v1",
        "workload": work.label,
        "rows": [r.to_dict() for r in rows],
    }
    if output is Output.TEXT:
        _print_table(rows)
    else:
        typer.echo(dump(payload, output))
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
        (out / "sweep.json").write_text(
            json.dumps(payload, indent=1, sort_keys=True) + "\n", encoding="utf-8"
        )
    if any(row.errors for row in rows):
        raise fail(COMMAND, "some combinations failed (see above)")
