"""Inputs shared by `gpuctl simulate --base/--head` and `gpuctl simulate sweep`: loading a
desired state from a directory or a Git revision, picking the workload (a repository
WorkloadProfile or a trace file), and the options both commands take."""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Literal

import typer

from gpuctl.cli import errors
from gpuctl.cli.loading import echo_errors, load_path
from reconciler.source.history import file_at_revision

if TYPE_CHECKING:
    from schemas.desired import DesiredState
    from schemas.kinds import WorkloadProfile
    from simulator import SimParameters
    from simulator.jobs import JobTable

EXIT_BREACHED = 1
EXIT_ERROR = 2


class TraceFormat(StrEnum):
    OPENB = "openb"
    ITP = "itp"
    CSV = "csv"


class BackendName(StrEnum):
    LOCAL = "local"
    INLINE = "inline"
    RAY = "ray"


def fail(command: str, message: str, code: int = EXIT_ERROR) -> typer.Exit:
    """`gpuctl: error: <message>` (`command` names the caller, for the reader of the code)."""
    del command
    return errors.fail(message, code)


def load_state(path: Path, revision: str | None, command: str) -> DesiredState:
    """The desired state at `path` (a directory, or with `revision` that revision of the Git
    repository holding `path`); an invalid one prints its errors and exits 2."""
    result = load_path(path, revision)
    if result.state is None:
        echo_errors(path, result)
        where = f"{path} at {revision}" if revision else str(path)
        raise fail(command, f"{where}: invalid repository; nothing simulated (run gpuctl validate)")
    return result.state


def state_label(state: DesiredState, revision: str | None, path: Path) -> str:
    """`main@1a2b3c4` for a revision, the directory otherwise."""
    if revision is None:
        return str(path)
    sha = (state.revision or "")[:7]
    if not sha:
        return revision
    return sha if revision.startswith(sha) else f"{revision}@{sha}"


def pick_profile(states: list[DesiredState], name: str | None, command: str) -> WorkloadProfile:
    """The WorkloadProfile `name` (or the only one) of the first state that declares profiles."""
    for state in states:
        names = [w.metadata.name for w in state.workloads]
        if not names:
            continue
        if name is None and len(names) != 1:
            raise fail(command, f"choose a profile with --workload (the repository has: {', '.join(names)})")
        for profile in state.workloads:
            if profile.metadata.name == (name or names[0]):
                return profile
        raise fail(command, f"no WorkloadProfile {name!r} (the repository has: {', '.join(names)})")
    raise fail(command, "the repository declares no WorkloadProfile; give --trace FILE")


def read_trace(path: Path, fmt: TraceFormat, gpus_per_node: int) -> JobTable:
    """The job table of the trace file `path` in format `fmt` (TraceError, OSError if bad)."""
    from simulator.traces import load_gpuctl_csv, load_itp, load_openb_pods

    if fmt is TraceFormat.OPENB:
        return load_openb_pods(path)
    if fmt is TraceFormat.ITP:
        return load_itp(path, gpus_per_node=max(1, gpus_per_node))
    return load_gpuctl_csv(path)


def load_trace(path: Path, fmt: TraceFormat, gpus_per_node: int, command: str) -> JobTable:
    """`read_trace`, with a bad file reported as `gpuctl COMMAND: ...` (exit 2)."""
    from simulator.traces import TraceError

    try:
        return read_trace(path, fmt, gpus_per_node)
    except (TraceError, OSError) as err:
        raise fail(command, str(err)) from err


@dataclass
class Workload:
    """What to replay: a job table or a profile, its label, and the default first seed."""

    jobs: JobTable | WorkloadProfile
    label: str
    default_seed: int


def resolve_workload(
    states: list[tuple[DesiredState, Path, str | None]],
    trace: Path | None,
    trace_format: TraceFormat,
    workload: str | None,
    command: str,
) -> Workload:
    """`--trace FILE`, else the chosen WorkloadProfile of the first state declaring profiles
    (`states` = (state, where it was read, revision)). A profile naming a trace file reads it
    from the same place (at the same revision); the trace's own node list is not used: the
    cluster is the repository's."""
    gpus = max((p.spec.gpu.per_node for state, _, _ in states for p in state.pools), default=1)
    if trace is not None:
        return Workload(load_trace(trace, trace_format, gpus, command), str(trace), 0)
    profile = pick_profile([state for state, _, _ in states], workload, command)
    label = f"WorkloadProfile/{profile.metadata.name}"
    ref = profile.spec.trace
    if ref is None:
        return Workload(profile, label, profile.spec.seed)
    owner, where, revision = next((s, w, r) for s, w, r in states if profile in s.workloads)
    if revision is None:
        return Workload(
            load_trace(where / ref.file, TraceFormat(ref.format), gpus, command), label, profile.spec.seed
        )
    with tempfile.TemporaryDirectory() as scratch:
        try:
            file = file_at_revision(where, owner.revision or revision, ref.file, Path(scratch))
        except (FileNotFoundError, ValueError) as err:
            raise fail(command, f"{label}: trace {ref.file}: {err}") from err
        return Workload(load_trace(file, TraceFormat(ref.format), gpus, command), label, profile.spec.seed)


def build_params(
    policy: str, queue: str, *, seed: int, horizon: str | None, time_scale: float, command: str
) -> SimParameters:
    """Validated run parameters; a bad value exits 2 naming its option."""
    from pydantic import ValidationError

    from schemas.validation_text import describe_all
    from simulator import SimParameters
    from simulator.placement import POLICY_NAMES

    if policy not in POLICY_NAMES:
        raise fail(command, f"unknown --policy {policy!r}; choose one of {', '.join(POLICY_NAMES)}")
    fields = {"policy": policy, "queue": queue, "seed": seed, "horizon": parse_horizon(horizon, command)}
    try:
        return SimParameters.model_validate({**fields, "time_scale": time_scale})
    except ValidationError as err:
        raise fail(command, describe_all(err.errors(include_url=False), flags=True)) from err


def parse_horizon(text: str | None, command: str) -> float | None:
    if text is None:
        return None
    from schemas.durations import parse_duration

    try:
        seconds = float(text) if text.replace(".", "", 1).isdigit() else parse_duration(text)
    except ValueError as err:
        raise fail(command, f"--horizon {text!r}: {err} (like 7d, 36h or 3600)") from err
    if seconds <= 0:
        raise fail(command, f"--horizon {text!r} must be positive")
    return seconds


WorkloadOption = Annotated[str | None, typer.Option("--workload", "-w", help="WorkloadProfile name.")]
TraceOption = Annotated[Path | None, typer.Option("--trace", help="A job trace file instead of a profile.")]
TraceFormatOption = Annotated[TraceFormat, typer.Option("--trace-format", help="openb, itp or csv.")]
SeedOption = Annotated[
    int | None, typer.Option("--seed", help="First seed (default: the profile's, else 0).")
]
HorizonOption = Annotated[
    str | None,
    typer.Option("--horizon", help="Simulated time for profile workloads, like 7d (default: the profile's)."),
]
PolicyOption = Annotated[str, typer.Option("--policy", "-p", help="Placement policy.")]
QueueName = Literal["fifo", "priority", "best-effort-fifo"]
QueueOption = Annotated[QueueName, typer.Option("--queue", help="Queue discipline.")]
BackendOption = Annotated[
    BackendName,
    typer.Option("--backend", help="local (process pool), inline, or ray (pip install 'gpuctl[ray]')."),
]
AddressOption = Annotated[
    str | None,
    typer.Option("--address", help="Ray cluster address (auto, ray://host:10001); default: local Ray."),
]
WorkersOption = Annotated[
    int | None, typer.Option("--workers", min=1, help="Local processes (default: usable CPUs) or Ray CPUs.")
]
NoStandingOption = Annotated[
    bool,
    typer.Option("--no-standing", help="Ignore RayClusters and training jobs declared in the repository."),
]
PathOption = Annotated[
    str, typer.Option("--path", help="Sub-path of the repository holding the desired state.")
]
TimeScaleOption = Annotated[
    float, typer.Option("--time-scale", help="Multiply trace arrival times (< 1 compresses).")
]
