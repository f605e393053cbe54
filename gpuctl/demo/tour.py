"""The demo's running parts and their life cycle: a work directory (temporary, or `--keep`),
the sandbox cluster, the in-process daemon, and a record of every pass the daemon finishes.
Everything is closed in reverse order on success, failure, Ctrl-C or SIGTERM."""

from __future__ import annotations

import logging
import tempfile
import threading
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

import structlog

from gpuctl.demo.clirun import CommandRunner
from gpuctl.demo.errors import DemoFailure
from gpuctl.demo.narration import Narrator
from gpuctl.demo.workspace import DemoRepo
from reconciler.cluster import ConnectionSpec, KubeClusterClient
from reconciler.daemon.assembly import Assembled
from reconciler.daemon.protocols import ReconcileReport, WorkItem


@dataclass(frozen=True)
class DemoOptions:
    """What `gpuctl demo` was told."""

    speed: float = 60.0
    keep: Path | None = None
    simulate: bool = True
    source: Path | None = None
    jobs_per_node: int = 2
    # Runs the real `gpuctl` commands the tour shows (simulate, audit); None skips nothing
    # silently: those steps fail saying the runner is missing.
    gpuctl: CommandRunner | None = None
    # The API server of the cluster steps (first apply, rollout, drift); None starts the
    # embedded sandbox. Its GPU nodes are played by `sandbox.remote.GpuNodes`.
    kubeconfig: Path | None = None


class PassLog:
    """A `ReportSink` keeping every pass the daemon finished, so steps can wait for one."""

    def __init__(self) -> None:
        self._passes: list[tuple[WorkItem, ReconcileReport]] = []
        self._changed = threading.Condition()

    def reconciled(self, item: WorkItem, report: ReconcileReport) -> None:
        with self._changed:
            self._passes.append((item, report))
            self._changed.notify_all()

    def count(self) -> int:
        """Passes finished so far (give it to `wait` as `since` to skip them)."""
        with self._changed:
            return len(self._passes)

    def wait(
        self, matches: Callable[[WorkItem, ReconcileReport], bool], timeout_s: float, what: str,
        *, since: int = 0,
    ) -> tuple[WorkItem, ReconcileReport]:
        """The first pass after the first `since` that `matches` accepts; DemoFailure after
        `timeout_s`, listing the passes seen."""
        def found() -> tuple[WorkItem, ReconcileReport] | None:
            return next(((i, r) for i, r in self._passes[since:] if matches(i, r)), None)

        with self._changed:
            if not self._changed.wait_for(lambda: found() is not None, timeout_s):
                seen = ", ".join(
                    f"{i.trigger.value}@{r.revision[:7]}={r.outcome.value}" for i, r in self._passes
                )
                raise DemoFailure(f"timed out after {timeout_s:g} s waiting for {what} (passes so far: "
                                  f"{seen or 'none'})")
            result = found()
            assert result is not None
            return result


class Tour:
    """The state the steps share. Attributes are set by the steps that create them."""

    def __init__(self, options: DemoOptions, narrator: Narrator, stack: ExitStack) -> None:
        self.options = options
        self.narrator = narrator
        self.stack = stack
        self.workdir = self._workdir(options.keep)
        self.passes = PassLog()
        self.log_path = self.workdir / "daemon.log"
        self.log_file: TextIO = stack.enter_context(self.log_path.open("w", encoding="utf-8"))
        self.repo: DemoRepo | None = None
        self.cluster: Any = None  # sandbox.Sandbox, or a RemoteCluster with options.kubeconfig
        self.assembled: Assembled | None = None
        self.client: KubeClusterClient | None = None  # the demo's own connection to the cluster

    def _workdir(self, keep: Path | None) -> Path:
        if keep is None:
            return Path(self.stack.enter_context(tempfile.TemporaryDirectory(prefix="gpuctl-demo-")))
        keep.mkdir(parents=True, exist_ok=True)
        if any(keep.iterdir()):
            raise DemoFailure(f"--keep {keep}: the directory is not empty; give a new or empty directory")
        return keep.resolve()

    @property
    def audit_db(self) -> Path:
        return self.workdir / "audit.db"

    def need_repo(self) -> DemoRepo:
        if self.repo is None:
            raise DemoFailure("the demo repository was not created")
        return self.repo

    @property
    def connection(self) -> ConnectionSpec:
        """How to reach the cluster (its kubeconfig)."""
        if self.cluster is None:
            raise DemoFailure("the cluster was not started")
        return ConnectionSpec(kubeconfig=str(self.cluster.kubeconfig_path))

    def connect(self) -> KubeClusterClient:
        """The demo's client for the cluster (opened once, closed with the tour)."""
        if self.client is None:
            self.client = KubeClusterClient.connect(self.connection)
            self.stack.callback(self.client.close)
        return self.client

    def need_daemon(self) -> Assembled:
        if self.assembled is None:
            raise DemoFailure("the daemon was not started")
        return self.assembled

    def route_logs_to_file(self) -> None:
        """Send the daemon's logs (structlog, and stdlib logging of libraries) to the log file
        instead of the terminal, until the tour ends; then restore what was configured."""
        from reconciler.daemon import logs

        previous = structlog.get_config()
        root = logging.getLogger()
        handlers = list(root.handlers)
        logs.configure("json", stream=self.log_file)

        def restore() -> None:
            structlog.configure(**previous)
            for handler in [h for h in root.handlers if h not in handlers]:
                root.removeHandler(handler)

        self.stack.callback(restore)

    def log_tail(self, lines: int = 20) -> list[str]:
        """The daemon's last log lines, for a failure report."""
        self.log_file.flush()
        return self.log_path.read_text(encoding="utf-8").splitlines()[-lines:]
