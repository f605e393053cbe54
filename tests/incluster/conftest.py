"""The in-cluster environment for the tests of this directory: one per module (it takes
about a minute to start: image layer, control plane, node, two Pods)."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from tests.incluster.environment import InCluster, incluster_environment, why_not


@pytest.fixture(scope="module")
def incluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[InCluster]:
    """gpuctl from deploy/ running as two Pods on a real node; skips (fails in CI) when this
    machine cannot run one."""
    if reasons := why_not():
        message = "in-cluster environment unavailable: " + "; ".join(reasons)
        if os.environ.get("CI") == "true":
            pytest.fail(f"{message} (.ci/run installs and unpacks what it needs)")
        pytest.skip(message)
    with incluster_environment(tmp_path_factory.mktemp("incluster")) as environment:
        yield environment
