"""`gpuctl run` from the command line: with no cluster it starts the sandbox and says so
first; SIGTERM exits 0; bad settings exit 2 naming the problem."""

import json
import os
import signal
import subprocess
import sys

import pytest

from tests.daemon.processes import ROOT, example_repo, free_port, logged_process, wait_until

pytestmark = pytest.mark.slow


def clean_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith(("GPUCTL_", "KUBECONFIG"))}


def test_without_a_cluster_it_starts_the_sandbox_and_says_so_first(tmp_path):
    """The first log line announces the sandbox; the daemon applies the repository to it and
    exits 0 on SIGTERM."""
    example_repo(tmp_path / "repo")
    port = free_port()
    log = tmp_path / "run.log"
    command = [sys.executable, "-m", "gpuctl", "run", "--repo", str(tmp_path / "repo"),
               "--listen", f"127.0.0.1:{port}", "--audit-db", str(tmp_path / "audit.db"),
               "--log-format", "json"]  # fmt: skip
    with logged_process(command, log, {**clean_env(), "HOME": str(tmp_path)}) as proc:
        def reconciled() -> bool:
            lines = [json.loads(x) for x in log.read_text().splitlines() if x.startswith("{")]
            return any(x["event"] == "reconcile finished" and x["result"] == "succeeded" for x in lines)

        assert wait_until(reconciled, 60)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=60) == 0
    first = json.loads(log.read_text().splitlines()[0])
    assert first["event"] == "no cluster configured: starting the embedded sandbox"


def test_bad_settings_exit_2_with_the_reason(tmp_path):
    """A malformed interval is a usage error (exit 2) that names the flag."""
    result = subprocess.run(
        [sys.executable, "-m", "gpuctl", "run", "--repo", str(tmp_path), "--resync-interval", "soon"],
        cwd=ROOT, env=clean_env(), capture_output=True, text=True, check=False)
    assert result.returncode == 2
    assert "--resync-interval" in result.stderr and "not a duration" in result.stderr


def test_a_directory_that_is_not_a_repository_exits_2(tmp_path):
    """Following commits of a plain directory is refused with the --working-tree hint."""
    result = subprocess.run(
        [sys.executable, "-m", "gpuctl", "run", "--repo", str(tmp_path), "--sandbox",
         "--listen", f"127.0.0.1:{free_port()}", "--audit-db", str(tmp_path / "a.db")],
        cwd=ROOT, env=clean_env(), capture_output=True, text=True, check=False)
    assert result.returncode == 2
    assert "not a Git repository" in result.stderr
