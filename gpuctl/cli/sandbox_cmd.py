"""`gpuctl sandbox`: run the embedded GPU cluster until interrupted; `gpuctl sandbox nodes`:
fake GPU nodes on any cluster (a GPU-aware KWOK, e.g. on kind or a test control plane).

Loads the pools (and the GPU Operator's mig-parted and device-plugin configs) from a
desired-state directory, starts the sandbox on loopback, writes a kubeconfig and prints the
address. Exit codes: 0 after Ctrl-C/SIGTERM, 1 when the repository is invalid, 2 on a usage
or I/O error (unreadable path, port in use, cluster unreachable).
"""

from __future__ import annotations

import signal
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from gpuctl.cli.errors import fail
from gpuctl.cli.loading import EXIT_INVALID, EXIT_USAGE, display_prefix, load_path
from schemas.diagnostics import Severity

if TYPE_CHECKING:  # the sandbox is imported only when the command runs (fast CLI start-up)
    from sandbox import SandboxSpec


def _spec_from(pools: Path | None) -> SandboxSpec:
    """The sandbox spec of a desired-state directory (pools, mig-parted, device-plugin configs)."""
    from sandbox import SandboxSpec

    if pools is None:
        return SandboxSpec()
    result = load_path(pools, None)
    prefix = display_prefix(pools)
    errors = [d for d in result.diagnostics if d.severity is Severity.ERROR]
    if result.state is None or errors:
        for diagnostic in errors:
            typer.echo(f"{prefix}{diagnostic}", err=True)
        raise fail(
            f"{pools} is not a valid desired-state repository "
            f"({len(errors)} error(s)); fix it or start without --pools",
            EXIT_INVALID,
        )
    return SandboxSpec.from_state(result.state)


def sandbox(
    ctx: typer.Context,
    *,
    pools: Annotated[
        Path | None,
        typer.Option(
            "--pools", help="Desired-state directory whose GPUNodePools become the sandbox's nodes."
        ),
    ] = None,
    host: Annotated[str, typer.Option("--host", help="Address to bind (loopback by default).")] = "127.0.0.1",
    port: Annotated[
        int, typer.Option("--port", help="Port to bind; 0 picks a free one.", min=0, max=65535)
    ] = 0,
    kubeconfig_out: Annotated[
        Path | None,
        typer.Option("--kubeconfig-out", help="Where to write the kubeconfig (default: a temporary file)."),
    ] = None,
    speed: Annotated[
        float,
        typer.Option(
            "--speed", help="Sandbox seconds per real second (60 = a minute per second).", min=0.001
        ),
    ] = 1.0,
) -> None:
    """Start an embedded Kubernetes API server that behaves like a GPU cluster (MIG manager,
    device plugin, scheduler, kubelet) and serve until interrupted.

    Example: gpuctl sandbox --pools desired_state --kubeconfig-out sandbox.kubeconfig
    """
    if ctx.invoked_subcommand is not None:
        return
    import sandbox as sandbox_pkg

    spec = _spec_from(pools)
    try:
        cluster = sandbox_pkg.start(spec, speed=speed, host=host, port=port, kubeconfig_path=kubeconfig_out)
    except OSError as err:
        raise fail(f"cannot serve on {host}:{port}: {err.strerror or err}", EXIT_USAGE) from err
    stop = _stop_on_signals()
    nodes = sum(pool.spec.nodes for pool in spec.pools)
    typer.echo(f"sandbox cluster serving at {cluster.url} ({nodes} GPU node(s), speed ×{speed:g})")
    typer.echo(f"kubeconfig: {cluster.kubeconfig_path}")
    typer.echo(f"try: KUBECONFIG={cluster.kubeconfig_path} kubectl get nodes")
    if not _is_loopback(host):
        typer.echo(
            f"gpuctl: warning: serving on {host}, reachable from other machines; anyone with "
            "the kubeconfig's token has full access",
            err=True,
        )
    try:
        while not stop.wait(0.5):
            pass
    finally:
        cluster.stop()
    typer.echo("sandbox stopped")


def _stop_on_signals() -> threading.Event:
    """An event set by Ctrl-C or SIGTERM (both end the command with exit 0)."""
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    return stop


def nodes(
    kubeconfig: Annotated[
        Path, typer.Option("--kubeconfig", help="Kubeconfig of the cluster that gets the GPU nodes.")
    ],
    pools: Annotated[
        Path,
        typer.Option("--pools", help="Desired-state directory whose GPUNodePools become the nodes."),
    ],
    context: Annotated[str | None, typer.Option("--context", help="Kubeconfig context.")] = None,
    speed: Annotated[
        float,
        typer.Option(
            "--speed", help="How much faster the GPU components run (MIG changes, pod start).", min=0.001
        ),
    ] = 1.0,
    delete_on_exit: Annotated[
        bool, typer.Option("--delete-on-exit", help="Delete the registered Nodes when stopping.")
    ] = False,
) -> None:
    """Register the pools' GPU nodes on any cluster and play their MIG manager, device plugin,
    GPU feature discovery and kubelet (Ready heartbeats, node Leases, bound pods Running,
    deleted pods finished) until interrupted. The cluster's own scheduler and controllers do
    the rest.

    Example: gpuctl sandbox nodes --kubeconfig kind.kubeconfig --pools desired_state
    """
    from sandbox.remote import GpuNodes

    spec = _spec_from(pools)
    if not kubeconfig.is_file():
        raise fail(f"kubeconfig {kubeconfig} not found", EXIT_USAGE)
    agent = GpuNodes(kubeconfig, spec, speed=speed, context=context, delete_on_stop=delete_on_exit)
    try:
        agent.start()
    except Exception as err:  # unreachable server, refused credentials, bad kubeconfig
        agent.stop()
        raise fail(f"cannot reach the cluster of {kubeconfig}: {err}", EXIT_USAGE) from err
    stop = _stop_on_signals()
    names = agent.node_names
    typer.echo(
        f"{len(names)} GPU node(s) on the cluster of {kubeconfig} (speed ×{speed:g}): {', '.join(names)}"
    )
    try:
        while not stop.wait(0.5):
            pass
    finally:
        agent.stop()
    typer.echo("GPU nodes stopped" + (" and deleted" if delete_on_exit else ""))


def _is_loopback(host: str) -> bool:
    import ipaddress

    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def register(app: typer.Typer) -> None:
    group = typer.Typer(
        help="The embedded GPU sandbox cluster, or GPU nodes for any cluster.\n\n"
        "Example: gpuctl sandbox --pools desired_state"
    )
    group.callback(invoke_without_command=True)(sandbox)
    group.command("nodes")(nodes)
    app.add_typer(group, name="sandbox")
