"""Small repositories written into a temp directory, for the loading and rule tests.

`BASE_REPO` is a minimal valid repository with one pool per kind of GPU setup (MIG mixed on
H100, whole A100s, time-sliced T4) and the GPU Operator ConfigMaps they use; a test replaces
or adds files to break exactly one thing, then asserts the rule id and file:line.
"""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest

from reconciler.source import LoadResult, load_directory
from schemas.diagnostics import Diagnostic

MIG_PARTED = """\
apiVersion: v1
kind: ConfigMap
metadata:
  name: mig-parted
  namespace: gpu-operator
data:
  config.yaml: |
    version: v1
    mig-configs:
      all-disabled:
        - devices: all
          mig-enabled: false
      custom:
        - devices: all
          mig-enabled: true
          mig-devices:
            "1g.10gb": 2
            "2g.20gb": 1
            "3g.40gb": 1
"""

DEVICE_PLUGIN = """\
apiVersion: v1
kind: ConfigMap
metadata:
  name: device-plugin
  namespace: gpu-operator
data:
  whole: |
    version: v1
    flags:
      migStrategy: none
  mixed: |
    version: v1
    flags:
      migStrategy: mixed
  shared: |
    version: v1
    sharing:
      timeSlicing:
        renameByDefault: true
        resources:
          - name: nvidia.com/gpu
            replicas: 4
"""


def pool(name: str, model: str, *, per_node: int = 8, mig: str = "", plugin: str = "") -> str:
    """A GPUNodePool document (the mig and devicePlugin blocks only when given)."""
    text = f"""\
apiVersion: gpuctl.dev/v1alpha1
kind: GPUNodePool
metadata:
  name: {name}
spec:
  nodeSelector:
    matchLabels:
      pool: {name}
  gpu:
    model: {model}
    perNode: {per_node}
  nodes: 2
"""
    if mig:
        text += f"  mig:\n{textwrap.indent(mig, '    ')}"
    if plugin:
        text += f"  devicePlugin:\n    config: {plugin}\n"
    return text


BASE_REPO: dict[str, str] = {
    "gpu-operator/mig-parted.yaml": MIG_PARTED,
    "gpu-operator/device-plugin.yaml": DEVICE_PLUGIN,
    "pools/h100.yaml": pool(
        "h100", "H100-SXM5-80GB", mig="config: custom\nstrategy: mixed\n", plugin="mixed"
    ),
    "pools/a100.yaml": pool("a100", "A100-SXM4-80GB", plugin="whole"),
    "pools/t4.yaml": pool("t4", "T4", per_node=4, plugin="shared"),
}

RepoLoader = Callable[..., LoadResult]


def write_repo(root: Path, files: dict[str, str | bytes]) -> Path:
    """Write `files` (relative path → text or bytes) under `root`."""
    for relative, content in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
    return root


@pytest.fixture
def load_repo(tmp_path: Path) -> RepoLoader:
    """Write the base repository plus `files` (None removes a base file) and load it."""

    def load(files: dict[str, str | bytes | None] | None = None, *, base: bool = True) -> LoadResult:
        merged: dict[str, str | bytes | None] = {**(BASE_REPO if base else {}), **(files or {})}
        write_repo(tmp_path, {k: v for k, v in merged.items() if v is not None})
        return load_directory(tmp_path)

    return load


def findings(result: LoadResult, rule: str) -> list[Diagnostic]:
    return [d for d in result.diagnostics if d.rule == rule]


def places(result: LoadResult, rule: str) -> list[tuple[str, int]]:
    """(file, line) of every finding of `rule`."""
    return [(d.location.file, d.location.line) for d in findings(result, rule)]
