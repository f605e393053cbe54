"""Pytest fixtures for a real Kubernetes control plane (envtest's convention:
`KUBEBUILDER_ASSETS` names the binaries). Without it, the tests that need one skip outside
CI and fail in CI (`CI=true`), as the shared traces do.

- `control_plane`: one session-wide control plane shared by the tests; tests isolate
  themselves by namespace and by unique node and pool names.
- `fresh_control_plane`: a factory for the few tests that truly need a new cluster (mark
  them slow); each one stops when the test ends.
- `backend`: the parameter `sandbox` or `real` for tests that run on both.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from sandbox.controlplane import ASSETS_ENV, ControlPlane, assets_dir, start_control_plane

BACKENDS = ("sandbox", "real")


def require_assets() -> Path:
    """The control-plane binaries; skips the test when absent (fails it in CI)."""
    assets = assets_dir()
    if assets is None:
        message = f"{ASSETS_ENV} does not name a directory holding etcd and kube-apiserver"
        if os.environ.get("CI") == "true":
            pytest.fail(f"{message}: CI unpacks them (.ci/run)")
        pytest.skip(message)
    return assets


@pytest.fixture(scope="session")
def control_plane(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ControlPlane]:
    """A real control plane (etcd, apiserver, controller manager, scheduler) for the session."""
    assets = require_assets()
    with start_control_plane(assets, tmp_path_factory.mktemp("control-plane")) as plane:
        yield plane


FreshControlPlane = Callable[..., ControlPlane]


@pytest.fixture
def fresh_control_plane(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FreshControlPlane]:
    """Start a new control plane (keyword arguments as `start_control_plane`), stopped after the test."""
    assets = require_assets()
    with contextlib.ExitStack() as stack:

        def start(**options: bool) -> ControlPlane:
            workdir = tmp_path_factory.mktemp("fresh-control-plane")
            return stack.enter_context(start_control_plane(assets, workdir, **options))

        yield start


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    """The cluster backend of a test that runs on both: `sandbox` or `real`."""
    name = str(request.param)
    if name == "real":
        require_assets()
    return name
