"""Running `gpuctl run` as real processes against a sandbox started by the test."""

from __future__ import annotations

import http.client
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import git

from tests.daemon.gitrepos import AUTHOR

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "desired_state"
FAST_ELECTION = {"GPUCTL_LEASE_DURATION": "3s", "GPUCTL_RENEW_DEADLINE": "2s", "GPUCTL_RETRY_PERIOD": "0.2s"}


def example_repo(path: Path) -> git.Repo:
    """A Git repository holding a copy of desired_state/ as its first commit."""
    shutil.copytree(EXAMPLE, path)
    files = [str(p.relative_to(path)) for p in path.rglob("*") if p.is_file()]
    repo = git.Repo.init(path, initial_branch="main")
    repo.index.add(files)
    repo.index.commit("example desired state", author=AUTHOR, committer=AUTHOR)
    return repo


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class DaemonProcess:
    """One `python -m gpuctl run` child with its own port, identity and log file."""

    def __init__(self, name: str, repo: Path, kubeconfig: Path, audit_db: Path, logs: Path) -> None:
        self.name = name
        self.port = free_port()
        self.log_path = logs / f"{name}.log"
        env = {k: v for k, v in os.environ.items() if not k.startswith("GPUCTL_")}
        env.update(FAST_ELECTION)
        command = [sys.executable, "-m", "gpuctl", "run", "--repo", str(repo),
                   "--kubeconfig", str(kubeconfig), "--listen", f"127.0.0.1:{self.port}",
                   "--audit-db", str(audit_db), "--identity", name,
                   "--log-format", "json", "--resync-interval", "1h"]
        self._log = self.log_path.open("w")
        self.proc = subprocess.Popen(command, cwd=ROOT, env=env, stdout=self._log, stderr=subprocess.STDOUT)

    def get(self, path: str) -> tuple[int, str] | None:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
            conn.request("GET", path)
            response = conn.getresponse()
            return response.status, response.read().decode()
        except OSError:
            return None

    def metric(self, name: str) -> float | None:
        got = self.get("/metrics")
        if got is None:
            return None
        for line in got[1].splitlines():
            if line.startswith((name + " ", name + "{")):
                return float(line.rsplit(" ", 1)[1])
        return None

    def is_leader(self) -> bool:
        return self.metric("gpuctl_leader") == 1.0

    def signal(self, signum: signal.Signals) -> None:
        self.proc.send_signal(signum)

    def wait(self, timeout_s: float = 60) -> int:
        code = self.proc.wait(timeout=timeout_s)
        self._log.close()
        return code

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=30)
        self._log.close()

    def log(self) -> str:
        return self.log_path.read_text()


@contextmanager
def logged_process(command: list[str], log: Path, env: dict[str, str]) -> Iterator[subprocess.Popen[bytes]]:
    """`command` run from the project root with its output in `log`; killed on exit if it
    is still running."""
    with log.open("w") as out:
        proc = subprocess.Popen(command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
        try:
            yield proc
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()


def wait_until(predicate, timeout_s: float = 60.0, step_s: float = 0.05) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(step_s)
    return False
