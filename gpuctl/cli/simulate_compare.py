"""`gpuctl simulate --repo PATH --base REV --head REV` (or `--base DIR --head DIR`): the same
workload and seeds on the base and the proposed desired state, compared with 95 % intervals;
reports in `--out DIR`; `--fail-if` rules as a CI gate.

Exit codes: 0 no rule breached; 1 a `--fail-if` rule breached (named on stderr);
2 an error (bad option or rule, unreadable or invalid repository, a run that failed).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from gpuctl.cli import errors
from gpuctl.cli.console import make_console
from gpuctl.cli.layout_change import describe_layout_change
from gpuctl.cli.simulate_inputs import (
    EXIT_BREACHED,
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
    state_label,
)

if TYPE_CHECKING:
    from schemas.desired import DesiredState

COMMAND = "simulate"


def _states(
    repo: Path | None, base: str, head: str, subpath: str
) -> tuple[DesiredState, DesiredState, str, str]:
    """Both states and their labels: revisions of `repo`, or two directories."""
    if repo is not None:
        where = repo / subpath if subpath else repo
        base_state = load_state(where, base, COMMAND)
        head_state = load_state(where, head, COMMAND)
        return (
            base_state,
            head_state,
            state_label(base_state, base, where),
            state_label(head_state, head, where),
        )
    if subpath:
        raise fail(COMMAND, "--path needs --repo (with directories, give the sub-directories themselves)")
    base_dir, head_dir = Path(base), Path(head)
    for option, directory in (("--base", base_dir), ("--head", head_dir)):
        if not directory.is_dir():
            raise fail(
                COMMAND, f"{option} {directory}: not a directory (give --repo PATH to compare Git revisions)"
            )
    return (
        load_state(base_dir, None, COMMAND),
        load_state(head_dir, None, COMMAND),
        str(base_dir),
        str(head_dir),
    )


def compare_command(  # noqa: PLR0917 - typer maps each option to a parameter
    base: Annotated[str, typer.Option("--base", help="Base revision (with --repo) or directory.")],
    head: Annotated[str, typer.Option("--head", help="Proposed revision (with --repo) or directory.")],
    repo: Annotated[
        Path | None,
        typer.Option("--repo", help="Git repository; --base/--head are then revisions (no checkout)."),
    ] = None,
    subpath: PathOption = "",
    workload: WorkloadOption = None,
    trace: TraceOption = None,
    trace_format: TraceFormatOption = TraceFormat.CSV,
    time_scale: TimeScaleOption = 1.0,
    seeds: Annotated[int, typer.Option("--seeds", min=2, help="Seeds per side (≥ 2 for intervals).")] = 10,
    seed: SeedOption = None,
    horizon: HorizonOption = None,
    policy: PolicyOption = "k8s-default",
    queue: QueueOption = "fifo",
    out: Annotated[
        Path | None, typer.Option("--out", help="Write report.md, report.json and PNG plots here.")
    ] = None,
    fail_if: Annotated[
        list[str] | None,
        typer.Option("--fail-if", help="Gate rule like 'queue_wait_p95 > +20%' (docs/simulate-gate.md)."),
    ] = None,
    backend: BackendOption = BackendName.LOCAL,
    address: AddressOption = None,
    workers: WorkersOption = None,
    no_standing: NoStandingOption = False,
    no_rollout: Annotated[
        bool,
        typer.Option("--no-rollout", help="Ignore the cost of draining and reconfiguring changed pools."),
    ] = False,
) -> None:
    """Compare the base and the proposed desired state under the same workload and seeds."""
    from simulator.backends import BackendError, make_backend
    from simulator.compare import CompareInputs, compare
    from simulator.gate import GateError, check, parse_rule
    from simulator.report import write_report
    from simulator.report.terminal import print_summary

    try:
        rules = [parse_rule(text) for text in fail_if or []]
    except GateError as err:
        raise fail(COMMAND, str(err)) from err
    # Bad options fail before anything is loaded.
    build_params(policy, queue, seed=0, horizon=horizon, time_scale=time_scale, command=COMMAND)
    base_state, head_state, base_label, head_label = _states(repo, base, head, subpath)
    where = (repo / subpath if subpath else repo) if repo is not None else None
    sides = [
        (head_state, where or Path(head), head if repo is not None else None),
        (base_state, where or Path(base), base if repo is not None else None),
    ]
    work = resolve_workload(sides, trace, trace_format, workload, COMMAND)
    first = seed if seed is not None else work.default_seed
    params = build_params(policy, queue, seed=first, horizon=horizon, time_scale=time_scale, command=COMMAND)
    inputs = CompareInputs(
        base_state,
        head_state,
        work.jobs,
        params,
        seeds,
        base_label=base_label,
        head_label=head_label,
        workload_label=work.label,
        standing=not no_standing,
        rollout=not no_rollout,
    )
    try:
        comparison = compare(inputs, make_backend(backend.value, address, workers))
        verdicts = check(rules, comparison)
    except (ValueError, BackendError) as err:  # ModelError, StandingError, GateError, quota values
        raise fail(COMMAND, str(err)) from err
    print_summary(comparison, verdicts, make_console())
    typer.echo(describe_layout_change(base_state, head_state))
    if out is not None:
        for path in write_report(comparison, out, verdicts):
            typer.echo(f"wrote {path}", err=True)
    if comparison.errors:
        raise fail(COMMAND, f"{len(comparison.errors)} run(s) failed; the comparison is incomplete")
    breached = [v for v in verdicts if v.breached]
    for verdict in breached:
        errors.error(f"gate failed: --fail-if '{verdict.rule.text}' ({verdict.change})")
    if breached:
        raise typer.Exit(EXIT_BREACHED)
