"""Shared helpers for the simulator tests: the shared traces, small job tables and desired states."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from schemas.desired import DesiredState
from schemas.deviceplugin import DevicePluginConfig
from schemas.kinds import GPUNodePool, RepoSettings
from schemas.migconfig import MigPartedConfig
from simulator.jobs import JobTable, empty_columns
from simulator.traces.locations import shared_traces_dir

REPO_ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def traces() -> Path:
    """The shared traces directory (skips the test when it is absent)."""
    path = shared_traces_dir()
    if not path.is_dir():
        if os.environ.get("CI") == "true":
            pytest.fail(f"shared traces not found at {path}: CI clones the repository beside shared/")
        pytest.skip(f"shared traces not found at {path}")
    return path


def make_jobs(n: int, **columns: Any) -> JobTable:
    """`n` single-pod one-GPU jobs arriving at 0 with work 1, columns overridden by keyword
    (arrays or scalars); name lists (`resources`, `teams`, `kinds`, `models`) pass through."""
    names = {k: columns.pop(k) for k in ("resources", "teams", "queues", "kinds", "models") if k in columns}
    cols = empty_columns(n)
    cols["gpus"][:] = 1
    cols["work"][:] = 1.0
    for key, value in columns.items():
        cols[key][:] = value
    return JobTable.from_columns(cols, **names)


def pool(name: str, model: str, per_node: int, nodes: int, **spec: Any) -> GPUNodePool:
    return GPUNodePool.model_validate(
        {
            "apiVersion": "gpuctl.dev/v1alpha1",
            "kind": "GPUNodePool",
            "metadata": {"name": name},
            "spec": {
                "nodeSelector": {"matchLabels": {"pool": name}},
                "gpu": {"model": model, "perNode": per_node},
                "nodes": nodes,
                **spec,
            },
        }
    )


def desired(
    *pools: GPUNodePool,
    mig_parted: dict[str, Any] | None = None,
    device_plugin: dict[str, dict[str, Any]] | None = None,
) -> DesiredState:
    return DesiredState(
        root="test",
        revision=None,
        settings=RepoSettings(),
        pools=list(pools),
        mig_parted=MigPartedConfig.model_validate(mig_parted) if mig_parted else None,
        device_plugin={k: DevicePluginConfig.model_validate(v) for k, v in (device_plugin or {}).items()},
    )


def time_sliced(replicas: int, rename: bool = False) -> dict[str, Any]:
    return {
        "version": "v1",
        "sharing": {
            "timeSlicing": {
                "renameByDefault": rename,
                "resources": [{"name": "nvidia.com/gpu", "replicas": replicas}],
            }
        },
    }


def rng(seed: int = 0) -> np.random.Generator:
    return np.random.default_rng(seed)
