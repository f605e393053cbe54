"""Golden runs: a pinned trace, cluster and seed must keep giving the committed headline
figures, so that an unintended change of the model shows up as a diff. After an intended
change, rerun with GPUCTL_UPDATE_GOLDEN=1 and commit the new files."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from simulator import SimConfig, SimParameters, run
from simulator.cluster import from_node_list, uniform
from simulator.summary import headline
from simulator.traces import NodeList, load_itp, load_openb_nodes, load_openb_pods

GOLDEN = Path(__file__).parent / "golden"


def _check(name: str, figures: dict[str, float | int | None]) -> None:
    """Compare with the committed figures, rounded to 6 significant digits (robust to the last
    bits of floating-point sums on other machines)."""
    path = GOLDEN / f"{name}.json"
    rounded = {k: float(f"{v:.6g}") if isinstance(v, float) else v for k, v in figures.items()}
    text = json.dumps(rounded, indent=1, sort_keys=True) + "\n"
    if os.environ.get("GPUCTL_UPDATE_GOLDEN") == "1":
        path.write_text(text)
    assert text == path.read_text(), f"{path.name} changed; if intended, rerun with GPUCTL_UPDATE_GOLDEN=1"


@pytest.mark.parametrize("policy", ["k8s-default", "best-fit"])
def test_itp_cluster10_replay_headline(traces: Path, policy: str) -> None:
    """ITP cluster10 on 4 × 8 GPUs with arrivals compressed 20× (so that jobs queue), seed 0:
    fixed headline figures."""
    jobs = load_itp(traces / "elasticflow-itp" / "cluster10.csv")
    params = SimParameters(policy=policy, queue="fifo", time_scale=0.05)
    result = run(SimConfig(uniform(4, 8), jobs, params))
    assert result.ok, result.error
    _check(f"itp-cluster10-{policy}", headline(result))


def test_openb_small_inflate_headline(traces: Path) -> None:
    """The first 100 openb GPU nodes under the inflate protocol with FGD, seed 0: fixed figures."""
    nodes = load_openb_nodes(traces / "openb" / "openb_node_list_gpu_node.csv")
    small = NodeList(
        nodes.names[:100], nodes.cpu_milli[:100], nodes.memory_mib[:100], nodes.gpus[:100], nodes.models[:100]
    )
    pods = load_openb_pods(traces / "openb" / "openb_pod_list_default.csv")
    result = run(SimConfig(from_node_list(small), pods, SimParameters(mode="inflate", policy="fgd")))
    assert result.ok, result.error
    _check("openb-100-nodes-fgd", headline(result))
