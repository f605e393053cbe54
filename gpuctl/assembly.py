"""The daemon as the application puts it together: when the settings name no cluster (or ask
for the sandbox), the embedded sandbox is started here, with the followed repository's pools
as its nodes, and handed to `reconciler.daemon.assembly.assemble` as the cluster to use.
Used by `gpuctl run`, the end-to-end tests and the benchmarks."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import structlog

from reconciler.daemon import assembly
from reconciler.daemon.assembly import Assembled
from reconciler.daemon.protocols import ReportSink
from reconciler.daemon.settings import DaemonSettings
from reconciler.source import load_directory

if TYPE_CHECKING:
    from sandbox import Sandbox

log = structlog.get_logger("gpuctl.daemon")

__all__ = ["Assembled", "assemble"]


@contextmanager
def assemble(settings: DaemonSettings, *, sinks: Sequence[ReportSink] = ()) -> Iterator[Assembled]:
    """A ready (not yet started) daemon, on the sandbox this starts when the settings want it;
    the sandbox is stopped after the daemon's own resources are closed."""
    with ExitStack() as stack:
        cluster = None
        if settings.no_cluster_configured or settings.sandbox:
            if settings.no_cluster_configured:
                log.info("no cluster configured: starting the embedded sandbox")
            cluster = _start_sandbox(settings, stack)
        yield stack.enter_context(assembly.assemble(settings, sinks=sinks, cluster=cluster))


def _start_sandbox(settings: DaemonSettings, stack: ExitStack) -> Sandbox:
    """Start the embedded cluster with the followed repository's pools as its nodes."""
    import sandbox  # late: a daemon on a real cluster never loads the sandbox

    spec = sandbox.SandboxSpec()
    repo = Path(settings.repo) / settings.path
    if not settings.is_remote and repo.is_dir():
        loaded = load_directory(repo)
        if loaded.state is not None:
            spec = sandbox.SandboxSpec.from_state(loaded.state)
    cluster = stack.enter_context(sandbox.start(spec))
    log.info("sandbox started", url=cluster.url, kubeconfig=str(cluster.kubeconfig_path))
    return cluster
