"""The demo's cluster steps on a real control plane (`DemoOptions.kubeconfig`): first apply,
the MIG rollout node by node, drift corrected and the audit log verified, with GPU nodes
played by `sandbox.remote.GpuNodes`. A fresh control plane: the tour applies the whole
example state cluster-wide. The pre-merge simulation is left out: it talks to no cluster."""

import os
import re

import pytest
import typer

from gpuctl.cli import app
from gpuctl.demo import DemoOptions, Narrator, run_demo
from gpuctl.demo.clirun import click_runner

pytestmark = pytest.mark.slow
H100_NODES = 4


def test_demo_cluster_steps_succeed_on_a_real_api_server(fresh_control_plane, capsys, monkeypatch):
    """On a real API server the tour exits 0: first apply, each h100 node reconfigured with its
    jobs evicted, the quota edit put back, and the audit log verified."""
    for name in [k for k in os.environ if k.startswith("GPUCTL_")]:
        monkeypatch.delenv(name)
    plane = fresh_control_plane()
    runner = click_runner(typer.main.get_command(app))
    options = DemoOptions(kubeconfig=plane.kubeconfig, simulate=False, gpuctl=runner)
    code = run_demo(options, Narrator(interactive=False))
    captured = capsys.readouterr()
    out = captured.out
    assert code == 0, out + captured.err
    assert "A GPU cluster (the given API server) with inference jobs running" in out
    assert re.search(r"ok first apply: \d+ objects created or configured", out)
    for i in range(H100_NODES):
        assert f"h100-inference-{i} reconfigured to inference-small, 2 pods evicted" in out
    assert re.search(r"ok drift corrected in \d+\.\d\d s: hard\.pods is 64 again", out)
    assert re.search(r"audit log .* OK: \d+ entries verified", out)
    assert "ok demo finished" in out
