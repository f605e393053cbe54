"""An API server that cannot be reached gives one line, as kubectl's, on the CLI and in the
daemon's JSON log: `cannot reach the Kubernetes API at URL: REASON (kubeconfig K, context C)`."""

from __future__ import annotations

import json
import signal
import socket
import ssl
import subprocess
import sys
from pathlib import Path

import pytest
import urllib3
import yaml

from reconciler.cluster.errortext import error_line
from reconciler.cluster.unreachable import reason_of
from tests.daemon.processes import ROOT, example_repo, free_port, logged_process, wait_until
from tests.daemon.test_run_cli import clean_env


def _max_retry(cause: BaseException) -> urllib3.exceptions.MaxRetryError:
    pool = urllib3.HTTPSConnectionPool("127.0.0.1", 1)
    return urllib3.exceptions.MaxRetryError(pool, "/version", cause)


@pytest.mark.parametrize(
    ("cause", "reason"),
    [
        (urllib3.exceptions.NewConnectionError(None, "refused"), None),  # bare: no cause to go on
        (ConnectionRefusedError(111, "Connection refused"), "connection refused"),
        (socket.gaierror(-2, "Name or service not known"), "no such host"),
        (urllib3.exceptions.ConnectTimeoutError(None, "timed out"), "connection timed out"),
        (ssl.SSLCertVerificationError(1, "certificate verify failed"), "TLS handshake failed"),
    ],
)
def test_reason_is_read_from_urllib3s_exception_chain(cause: BaseException, reason: str | None) -> None:
    """The reason names the cause (refused, DNS, timeout, TLS) wherever urllib3 wrapped it."""
    wrapper = urllib3.exceptions.NewConnectionError(None, "Failed to establish a new connection")
    wrapper.__cause__ = cause
    said = reason_of(_max_retry(wrapper if reason else cause))
    if reason is None:  # not "timed out", though urllib3 makes it a ConnectTimeoutError
        assert said == "cannot open a connection"
    else:
        assert said is not None and said.startswith(reason), said


def test_error_line_names_the_url_and_never_urllib3s_text() -> None:
    """`error_line` of a refused connection: the URL and the reason, no `HTTPSConnectionPool`."""
    cause = urllib3.exceptions.NewConnectionError(None, "x")
    cause.__cause__ = ConnectionRefusedError(111, "Connection refused")
    line = error_line(_max_retry(cause))
    assert line == "cannot reach the Kubernetes API at https://127.0.0.1:1: connection refused"


def _closed_port_kubeconfig(path: Path) -> tuple[Path, int]:
    """A kubeconfig (context `ctx`) whose server is a loopback port nobody listens on."""
    port = free_port()
    config = {
        "apiVersion": "v1", "kind": "Config", "current-context": "ctx",
        "clusters": [{"name": "c", "cluster": {"server": f"https://127.0.0.1:{port}",
                                               "insecure-skip-tls-verify": True}}],
        "users": [{"name": "u", "user": {"token": "t"}}],
        "contexts": [{"name": "ctx", "context": {"cluster": "c", "user": "u"}}],
    }  # fmt: skip
    path.write_text(yaml.safe_dump(config))
    return path, port


@pytest.mark.parametrize(
    "command",
    [["diff", "desired_state"], ["apply", "desired_state"], ["rollout", "status"], ["rollout", "pause", "p"]],
)
def test_cli_prints_one_kubectl_like_line_and_exits_2(tmp_path: Path, command: list[str]) -> None:
    """Each cluster command against a closed port: one stderr line naming URL, kubeconfig, context."""
    kubeconfig, port = _closed_port_kubeconfig(tmp_path / "kubeconfig")
    args = [*command, "--kubeconfig", str(kubeconfig)]
    if command[0] == "apply" or command[1:2] == ["pause"]:
        args += ["--audit-db", str(tmp_path / "audit.db")]
    done = subprocess.run(
        [sys.executable, "-m", "gpuctl", *args], cwd=ROOT, env=clean_env(), capture_output=True,
        text=True, check=False, timeout=60,
    )  # fmt: skip
    expected = (
        f"gpuctl: error: cannot reach the Kubernetes API at https://127.0.0.1:{port}: connection refused "
        f"(kubeconfig {kubeconfig}, context ctx)"
    )
    assert done.returncode == 2, done.stderr
    assert done.stderr.splitlines() == [expected]
    assert done.stdout == ""


@pytest.mark.slow
def test_daemon_against_an_unreachable_api_logs_only_json(tmp_path: Path) -> None:
    """`gpuctl run` for a few seconds against a closed port: every line is JSON (no urllib3
    text), and the failed pass says which API could not be reached."""
    example_repo(tmp_path / "repo")
    kubeconfig, port = _closed_port_kubeconfig(tmp_path / "kubeconfig")
    log = tmp_path / "run.log"
    command = [sys.executable, "-m", "gpuctl", "run", "--repo", str(tmp_path / "repo"),
               "--kubeconfig", str(kubeconfig), "--listen", f"127.0.0.1:{free_port()}",
               "--audit-db", str(tmp_path / "audit.db"), "--log-format", "json",
               "--no-leader-elect"]  # fmt: skip
    with logged_process(command, log, {**clean_env(), "HOME": str(tmp_path)}) as proc:

        def failures() -> list[dict[str, object]]:
            lines = [json.loads(x) for x in log.read_text().splitlines() if x.startswith("{")]
            return [e for e in lines if e.get("event") == "reconcile failed, will retry"]

        assert wait_until(lambda: len(failures()) >= 2, 60), log.read_text()
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(30) == 0
    lines = log.read_text().splitlines()
    assert lines and all(line.startswith("{") for line in lines), log.read_text()
    for line in lines:
        json.loads(line)
    assert failures()[0]["error"] == (
        f"cannot reach the Kubernetes API at https://127.0.0.1:{port}: connection refused "
        f"(kubeconfig {kubeconfig}, context ctx)"
    )
