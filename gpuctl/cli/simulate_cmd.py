"""`gpuctl simulate [PATH]`: replay a workload against the cluster a desired state describes
(or a trace's own node list) with the capacity simulator, over one or more seeds.

Exit codes: 0 every run succeeded; 1 invalid repository or a run failed on its input;
2 usage or I/O error (bad option combination, unreadable or malformed trace file).
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from gpuctl.cli.console import make_console
from gpuctl.cli.errors import fail
from gpuctl.cli.loading import EXIT_INVALID, EXIT_USAGE, echo_errors, load_path
from gpuctl.cli.output import LegacyFormatOption, Output, OutputOption, chosen, reformat
from gpuctl.cli.simulate_inputs import QueueOption, TraceFormat, read_trace

if TYPE_CHECKING:
    from schemas.desired import DesiredState
    from schemas.kinds import WorkloadProfile
    from simulator import RunResult
    from simulator.cluster import ClusterSpec
    from simulator.jobs import JobTable
    from simulator.quotas import QuotaSpec


class Mode(StrEnum):
    REPLAY = "replay"
    INFLATE = "inflate"


def _fail(message: str, code: int = EXIT_USAGE) -> typer.Exit:
    return fail(message, code)


def _load_state(path: Path) -> DesiredState:
    result = load_path(path, None)
    if result.state is None:
        echo_errors(path, result)
        raise _fail(f"{path}: invalid repository; nothing simulated (run gpuctl validate)", EXIT_INVALID)
    return result.state


class _ProgressBar:
    """A rich progress bar on stderr that only appears once a run has lasted a second."""

    def __init__(self, label: str) -> None:
        self.label = label
        self.started = time.monotonic()
        self._bar: Any = None
        self._task: Any = None

    def __call__(self, done: float, total: float) -> None:
        if self._bar is None:
            if time.monotonic() - self.started < 1.0:
                return
            from rich.progress import BarColumn, Progress, TaskProgressColumn, TimeElapsedColumn

            self._bar = Progress(
                "[progress.description]{task.description}",
                BarColumn(),
                TaskProgressColumn(),
                TimeElapsedColumn(),
                console=make_console(stderr=True),
                transient=True,
            )
            self._bar.start()
            self._task = self._bar.add_task(self.label, total=total)
        self._bar.update(self._task, completed=done, total=total)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.stop()


def _print_text(results: list[RunResult], summary: dict[str, Any]) -> None:
    from rich.table import Table

    console = make_console()
    first = results[0]
    cluster, work = first.cluster, first.workload
    console.print(f"[bold]{first.mode}[/bold] · policy {first.policy} · seeds {summary['seeds']}")
    if cluster:
        models = ", ".join(f"{m} {n}" for m, n in cluster["gpus_by_model"].items())
        console.print(f"cluster: {cluster['nodes']} nodes, {cluster['gpus']} GPUs ({models})")
    if work:
        console.print(
            f"workload: {work['source']}: {work['jobs']} jobs, {work['pods']} pods, "
            f"{work['gpu_requested']:.1f} GPUs requested"
        )
    for result in results:
        if not result.ok:
            console.print(f"[red]seed {result.seed}: error: {result.error}[/red]")
    if not summary["figures"]:
        return
    table = Table("figure", "mean", "std", "min", "max")
    for key, stats in summary["figures"].items():
        table.add_row(key, *(f"{stats[k]:.4g}" for k in ("mean", "std", "min", "max")))
    console.print(table)
    if first.mode == "replay" and first.ok:
        classes = Table(
            "class (seed " + str(first.seed) + ")", "completed", "wait p50 s", "wait p95 s", "JCT p50 s"
        )
        for name, figures in first.metrics["by_class"].items():
            wait, jct = figures["wait_s"], figures["jct_s"]
            cells = [
                f"{x:.4g}" if isinstance(x, float) else "-"
                for x in (wait.get("p50"), wait.get("p95"), jct.get("p50"))
            ]
            classes.add_row(name, str(wait["count"]), *cells)
        console.print(classes)


@dataclass
class _Inputs:
    cluster: ClusterSpec
    workload: JobTable | WorkloadProfile
    label: str
    default_seed: int
    quotas: QuotaSpec | None = None


def _pick_profile(state: DesiredState, name: str | None) -> WorkloadProfile:
    names = [w.metadata.name for w in state.workloads]
    if name is None and len(names) != 1:
        raise _fail(f"choose a profile with --workload (the repository has: {', '.join(names) or 'none'})")
    for profile in state.workloads:
        if profile.metadata.name == (name or names[0]):
            return profile
    raise _fail(f"no WorkloadProfile {name!r} (the repository has: {', '.join(names) or 'none'})")


def _resolve_inputs(
    path: Path | None, nodes: Path | None, trace: Path | None, trace_format: TraceFormat, workload: str | None
) -> _Inputs:
    """The cluster (node list or PATH's pools) and the workload (trace or PATH's profile)."""
    from simulator.cluster import from_desired_state, from_node_list
    from simulator.quotas import quotas_from_state
    from simulator.traces import load_openb_nodes

    if path is None and nodes is None:
        raise _fail("give a desired-state PATH, or --nodes with an openb node list")
    if trace is None and path is None:
        raise _fail("give --trace FILE, or a PATH whose WorkloadProfile to simulate")
    state = _load_state(path) if path is not None else None
    if nodes is not None:
        cluster = from_node_list(load_openb_nodes(nodes))
    else:
        assert state is not None
        cluster = from_desired_state(state)
    # The repository's Kueue quotas govern its own pools, not a trace's node list.
    quotas = quotas_from_state(state) if state is not None and nodes is None else None
    if trace is not None:
        jobs = read_trace(trace, trace_format, int(cluster.physical_gpus.max()))
        return _Inputs(cluster, jobs, str(trace), 0, quotas)
    assert state is not None
    profile = _pick_profile(state, workload)
    ref = profile.spec.trace
    if ref is None:
        label = f"WorkloadProfile/{profile.metadata.name}"
        return _Inputs(cluster, profile, label, profile.spec.seed, quotas)
    if ref.nodes and nodes is None:
        cluster = from_node_list(load_openb_nodes(Path(state.root) / ref.nodes))
        quotas = None
    file = Path(state.root) / ref.file
    jobs = read_trace(file, TraceFormat(ref.format), int(cluster.physical_gpus.max()))
    return _Inputs(cluster, jobs, str(file), profile.spec.seed, quotas)


def _emit(results: list[RunResult], out: Path | None, output: Output) -> None:
    from simulator.summary import across_seeds

    summary = across_seeds(results)
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
        for result in results:
            (out / f"{result.mode}-{result.policy}-seed{result.seed}.json").write_text(result.to_json())
        (out / "summary.json").write_text(json.dumps(summary, indent=1, sort_keys=True) + "\n")
    if output is not Output.TEXT:
        payload = {"summary": summary, "runs": [json.loads(r.to_json()) for r in results]}
        text = json.dumps(payload, indent=1, sort_keys=True)
        typer.echo(text if output is Output.JSON else reformat(text, output))
    else:
        _print_text(results, summary)


def simulate_command(  # noqa: PLR0917 - typer maps each option to a parameter
    path: Annotated[
        Path | None,
        typer.Argument(
            metavar="PATH", help="Desired-state repository (the cluster, and its WorkloadProfiles)."),
    ] = None,
    workload: Annotated[
        str | None, typer.Option("--workload", "-w", help="WorkloadProfile name in the repository.")
    ] = None,
    trace: Annotated[
        Path | None,
        typer.Option("--trace", help="A job trace file instead of a profile, or captured:7d."),
    ] = None,
    capture_store: Annotated[
        Path | None, typer.Option("--capture-db", help="Capture store read by --trace captured:<window>.")
    ] = None,
    trace_format: Annotated[TraceFormat, typer.Option("--trace-format", help="openb, itp or csv.")] = (
        TraceFormat.CSV
    ),
    nodes: Annotated[
        Path | None,
        typer.Option("--nodes", help="An openb node list as the cluster (instead of PATH's pools)."),
    ] = None,
    mode: Annotated[Mode, typer.Option("--mode", help="replay (time, queues) or inflate (FGD protocol).")] = (
        Mode.REPLAY
    ),
    policy: Annotated[str, typer.Option("--policy", "-p", help="Placement policy.")] = "k8s-default",
    queue: QueueOption = "fifo",
    seeds: Annotated[int, typer.Option("--seeds", min=1, help="Number of seeds (seed, seed+1, ...).")] = 1,
    seed: Annotated[
        int | None, typer.Option("--seed", help="First seed (default: the profile's, else 0).")
    ] = None,
    time_scale: Annotated[
        float, typer.Option("--time-scale", help="Multiply trace arrival times (< 1 compresses).")
    ] = 1.0,
    out: Annotated[
        Path | None, typer.Option("--out", help="Write each run's JSON and summary.json here.")
    ] = None,
    output: OutputOption = Output.TEXT,
    legacy_format: LegacyFormatOption = None,
) -> None:
    """Predict GPU allocation, queueing delay, job completion time and fragmentation for a
    workload on the cluster a desired state describes, before anyone merges it.

    Example: gpuctl simulate desired_state --workload training-week --seeds 3
    """
    output = chosen(output, legacy_format)
    from pydantic import ValidationError

    from gpuctl.cli.captured import CaptureInputError, capture_db, captured_trace, is_captured
    from schemas.validation_text import describe_all
    from simulator import SimConfig, SimParameters, run
    from simulator.errors import InputError
    from simulator.placement import POLICY_NAMES

    if policy not in POLICY_NAMES:
        raise _fail(f"unknown --policy {policy!r}; choose one of {', '.join(POLICY_NAMES)}")
    try:
        if is_captured(trace):  # captured:<window>: the jobs the daemon recorded on this cluster
            with captured_trace(str(trace), capture_db(capture_store)) as (file, _):
                inputs = _resolve_inputs(path, nodes, file, TraceFormat.CSV, workload)
            inputs.label = str(trace)
        else:
            inputs = _resolve_inputs(path, nodes, trace, trace_format, workload)
        params = SimParameters.model_validate(
            {
                "mode": mode.value,
                "policy": policy,
                "queue": queue,
                "seed": seed if seed is not None else inputs.default_seed,
                "time_scale": time_scale,
            }
        )
    except (InputError, CaptureInputError) as err:
        raise _fail(str(err)) from err
    except ValidationError as err:
        raise _fail(describe_all(err.errors(include_url=False), flags=True)) from err

    results = []
    for offset in range(seeds):
        bar = _ProgressBar(f"{mode.value} {policy} seed {params.seed + offset}")
        config = SimConfig(
            inputs.cluster,
            inputs.workload,
            params.model_copy(update={"seed": params.seed + offset}),
            cluster_label=str(nodes or path),
            workload_label=inputs.label,
            quotas=inputs.quotas,
        )
        try:
            results.append(run(config, bar))
        finally:
            bar.close()
    _emit(results, out, output)
    if any(not r.ok for r in results):
        raise typer.Exit(EXIT_INVALID)


def register(app: typer.Typer) -> None:
    app.command("simulate")(simulate_command)
