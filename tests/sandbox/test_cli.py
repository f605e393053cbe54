"""`gpuctl sandbox` as a process: serves the example pools, writes a kubeconfig, stops on
SIGINT with exit 0; an invalid repository exits 1 with file:line; a busy port exits 2."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from kubernetes import client, config

from tests.conformance.helpers import wait_for

ROOT = Path(__file__).resolve().parents[2]


def _gpuctl(*args: str) -> list[str]:
    return [sys.executable, "-m", "gpuctl", *args]


@pytest.mark.slow
def test_sandbox_serves_example_pools_until_interrupted(tmp_path: Path) -> None:
    """The example repository's pools become nodes reachable with the written kubeconfig."""
    kubeconfig = tmp_path / "kc"
    proc = subprocess.Popen(
        _gpuctl(
            "sandbox",
            "--pools",
            str(ROOT / "desired_state"),
            "--kubeconfig-out",
            str(kubeconfig),
            "--speed",
            "20",
        ),
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        wait_for(lambda: kubeconfig.exists() and kubeconfig.stat().st_size > 0, timeout=30, what="kubeconfig")
        banner = proc.stdout.readline() if proc.stdout else ""
        assert banner.startswith("sandbox cluster serving at https://127.0.0.1:")
        api = config.new_client_from_config(config_file=str(kubeconfig))
        nodes = client.CoreV1Api(api).list_node().items
        api.close()
        pools = {n.metadata.labels["gpuctl.dev/pool"] for n in nodes}
        assert pools == {"a100-training", "h100-inference", "t4-notebooks"}
    finally:
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert "sandbox stopped" in out


def test_invalid_pools_exit_1_with_location(tmp_path: Path) -> None:
    """A pool with an unknown field is reported as file:line and the command exits 1."""
    (tmp_path / "pool.yaml").write_text(
        "apiVersion: gpuctl.dev/v1alpha1\nkind: GPUNodePool\nmetadata:\n  name: p\nspec:\n"
        "  nodeSelector: {matchLabels: {a: b}}\n  gpu: {model: H100-SXM5-80GB, perNode: 8}\n  bogus: 1\n",
        encoding="utf-8",
    )
    result = subprocess.run(
        _gpuctl("sandbox", "--pools", str(tmp_path)),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 1
    assert "pool.yaml:" in result.stderr and "bogus" in result.stderr


def test_busy_port_exits_2(tmp_path: Path) -> None:
    """A port that is already bound is a usage error (exit 2) with a message."""
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = subprocess.run(
            _gpuctl("sandbox", "--port", str(port)),
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    assert result.returncode == 2
    assert f"cannot serve on 127.0.0.1:{port}" in result.stderr
