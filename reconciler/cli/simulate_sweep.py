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

from reconciler.cli.simulate_inputs import (
    AddressOption,
    BackendName,
    BackendOption,
    HorizonOption,
    NoStandingOption,
    PathOption,
    PolicyOption,
    QueueOption,
    SeedOption,
    TraceFormat,
    TraceFormatOption,
    TraceOption,
    WorkersOption,
    WorkloadOption,
    fail,
    load_state,
    load_trace,
    parse_horizon,
    pick_profile,
)

if TYPE_CHECKING:
    from schemas.kinds import WorkloadProfile
    from simulator.jobs import JobTable
    from simulator.sweep.run import SweepRow

COMMAND = "simulate sweep"


def _print_table(rows: list[SweepRow]) -> None:
    from rich.console import Console
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
    Console().print(table)
    for row in rows:
        for error in row.errors:
            typer.echo(f"{row.combination}: {error}", err=True)


def sweep_command(  # noqa: PLR0917 - typer maps each option to a parameter
    repo: Annotated[Path, typer.Option("--repo", help="Desired-state directory or Git repository.")],
    vary: Annotated[
        list[str],
        typer.Option("--vary", help="KEY=V1,V2: policy, queue or pool.<POOL>.<field> (repeatable)."),
    ],
    rev: Annotated[str | None, typer.Option("--rev", help="Git revision to read (no checkout).")] = None,
    subpath: PathOption = "",
    workload: WorkloadOption = None,
    trace: TraceOption = None,
    trace_format: TraceFormatOption = TraceFormat.CSV,
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
) -> None:
    """Run every combination of the varied settings × seeds and tabulate the results."""
    from pydantic import ValidationError

    from simulator import SimParameters
    from simulator.sweep.backends import BackendError, make_backend
    from simulator.sweep.grid import SweepError, parse_vary
    from simulator.sweep.run import sweep

    try:
        axes = [parse_vary(text) for text in vary]
    except SweepError as err:
        raise fail(COMMAND, str(err)) from err
    state = load_state(repo / subpath if subpath else repo, rev, COMMAND)
    work: JobTable | WorkloadProfile
    if trace is not None:
        gpus = max((p.spec.gpu.per_node for p in state.pools), default=1)
        work = load_trace(trace, trace_format, gpus, COMMAND)
        label, default_seed, default_horizon = str(trace), 0, float(work.arrival.max()) if len(work) else 0.0
    else:
        profile = pick_profile([state], workload, COMMAND)
        work, label, default_seed = profile, f"WorkloadProfile/{profile.metadata.name}", profile.spec.seed
        default_horizon = profile.spec.horizon
    try:
        params = SimParameters.model_validate(
            {
                "policy": policy,
                "queue": queue,
                "seed": seed if seed is not None else default_seed,
                "horizon": parse_horizon(horizon, COMMAND),
            }
        )
    except ValidationError as err:
        raise fail(
            COMMAND, "; ".join(f"--{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in err.errors())
        ) from err
    try:
        rows = sweep(
            state,
            work,
            params,
            axes,
            seeds=seeds,
            backend=make_backend(backend.value, address, workers),
            standing=not no_standing,
            horizon=params.horizon or default_horizon,
            workload_label=label,
        )
    except (ValueError, BackendError) as err:  # SweepError, StandingError, quota values
        raise fail(COMMAND, str(err)) from err
    _print_table(rows)
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
        payload = {
            "schema": "gpuctl.dev/simulate-sweep/v1",
            "workload": label,
            "rows": [r.to_dict() for r in rows],
        }
        (out / "sweep.json").write_text(
            json.dumps(payload, indent=1, sort_keys=True) + "\n", encoding="utf-8"
        )
    if any(row.errors for row in rows):
        raise fail(COMMAND, "some combinations failed (see above)")
