"""`gpuctl run` as a real child process against a sandbox the test holds, optionally armed
with a crash point (`GPUCTL_CRASH_AT`, see reconciler.crashpoints)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


class GpuctlRun:
    """One `python -m gpuctl run` child; its output goes to `log_path` (appended)."""

    def __init__(self, repo: Path, kubeconfig: Path, audit_db: Path, log_path: Path,
                 crash_at: str | None = None, *, prune: bool = False, lease_namespace: str = "") -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("GPUCTL_")}
        env.update({"GPUCTL_LEASE_DURATION": "3s", "GPUCTL_RENEW_DEADLINE": "2s",
                    "GPUCTL_RETRY_PERIOD": "0.2s", "GPUCTL_BACKOFF_CAP": "1s"})
        if crash_at is not None:
            env["GPUCTL_CRASH_AT"] = crash_at
        if lease_namespace:
            env["GPUCTL_LEASE_NAMESPACE"] = lease_namespace
        command = [sys.executable, "-m", "gpuctl", "run", "--repo", str(repo),
                   "--kubeconfig", str(kubeconfig), "--listen", "127.0.0.1:0",
                   "--audit-db", str(audit_db), "--identity", "crash-test",
                   "--log-format", "json", "--resync-interval", "1h", *(["--prune"] if prune else [])]
        self._log = log_path.open("a")
        self._log.write(f"--- run, crash point {crash_at}\n")
        self._log.flush()
        self.proc = subprocess.Popen(command, cwd=ROOT, env=env, stdout=self._log, stderr=subprocess.STDOUT)

    def wait(self, timeout_s: float) -> int | None:
        """The exit code, or None if still running after `timeout_s`."""
        try:
            return self.proc.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            return None

    def terminate(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=30)
        self._log.close()
        return self.proc.returncode

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=30)
        self._log.close()


def kill_at_each(points: list[str], run: Callable[[str], GpuctlRun], log: Path) -> list[str]:
    """Start `run(point)` for each crash point in turn and check that it died of SIGKILL there;
    return the points passed."""
    killed: list[str] = []
    for point in points:
        crashing = run(point)
        code = crashing.wait(90)
        crashing.close()
        assert code == -signal.SIGKILL, f"{point}: not reached (exit {code}); see {log}"
        killed.append(point)
    return killed
