"""deploy/grafana: every panel of the dashboard queries metrics gpuctl exports (the daemon's and
the workload capture's, from their real registries), every exported family is on a panel, and
the kustomization builds the ConfigMap Grafana's sidecar loads."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path
from typing import Any

import yaml

from reconciler.capture.metrics import CaptureMetrics
from reconciler.daemon.metrics import DaemonMetrics

GRAFANA = Path(__file__).resolve().parents[2] / "deploy" / "grafana"
DASHBOARD = GRAFANA / "gpuctl-dashboard.json"
_SUFFIXES = {"counter": ("_total",), "histogram": ("_bucket", "_count", "_sum"), "gauge": ("",)}
_GROUPING = re.compile(r"\b(?:by|without)\s*\([^)]*\)")
_RANGE = re.compile(r"\[[0-9]+[smhdw]\]")
_IDENT = re.compile(r"[A-Za-z_:][A-Za-z0-9_:]*")
_CALL = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)\s*\(")


def exported() -> dict[str, str]:
    """Series name → family name of everything gpuctl's daemon registry serves on /metrics."""
    daemon = DaemonMetrics()
    CaptureMetrics(daemon.registry)
    names = {}
    for family in daemon.registry.collect():
        for suffix in _SUFFIXES[family.type]:
            names[family.name + suffix] = family.name
    return names


def panels(dashboard: dict[str, Any]) -> list[dict[str, Any]]:
    found = []
    for panel in dashboard["panels"]:
        found += panels(panel) if panel.get("type") == "row" else [panel]
    return found


def metrics_in(expr: str) -> set[str]:
    """Metric names in a PromQL expression; anything else that is not a function call is an error."""
    bare = _RANGE.sub("", _GROUPING.sub("", expr))
    functions = set(_CALL.findall(bare))
    return set(_IDENT.findall(bare)) - functions


def test_every_panel_queries_metrics_gpuctl_exports():
    """Each panel has queries, and every name in them is a series gpuctl's registry serves."""
    series = exported()
    dashboard = json.loads(DASHBOARD.read_text())
    used = set()
    for panel in panels(dashboard):
        assert panel["targets"], panel["title"]
        for target in panel["targets"]:
            names = metrics_in(target["expr"])
            assert names, (panel["title"], target["expr"])
            unknown = names - set(series)
            assert not unknown, f"{panel['title']}: {sorted(unknown)} not exported by gpuctl"
            used |= {series[n] for n in names}
    assert {series[n] for n in series} - used == set(), "exported families without a panel"


def test_metrics_in_spots_a_misspelt_metric():
    """The expression parser separates functions and grouping labels from metric names."""
    assert metrics_in("sum by (le, team) (rate(gpuctl_pod_queue_wait_seconds_bucket[1h]))") == {
        "gpuctl_pod_queue_wait_seconds_bucket"}
    assert metrics_in("rate(gpuctl_reconciles_total[5m])") - exported().keys() == {"gpuctl_reconciles_total"}


def test_panels_do_not_overlap_and_use_the_datasource_variable():
    """Panels sit on distinct grid cells and query the dashboard's Prometheus variable."""
    dashboard = json.loads(DASHBOARD.read_text())
    cells: set[tuple[int, int]] = set()
    for panel in dashboard["panels"]:
        grid = panel["gridPos"]
        mine = {(grid["x"] + dx, grid["y"] + dy) for dx in range(grid["w"]) for dy in range(grid["h"])}
        assert not cells & mine, panel["title"]
        cells |= mine
        if panel["type"] != "row":
            assert panel["datasource"]["uid"] == "${datasource}", panel["title"]


def test_kustomization_builds_the_sidecar_configmap():
    """`kubectl kustomize deploy/grafana` yields one labelled ConfigMap holding the dashboard."""
    out = subprocess.run(["kubectl", "kustomize", str(GRAFANA)], check=True, capture_output=True, text=True)
    (config_map,) = list(yaml.safe_load_all(out.stdout))
    assert config_map["metadata"]["labels"] == {"grafana_dashboard": "1"}
    assert json.loads(config_map["data"]["gpuctl-dashboard.json"]) == json.loads(DASHBOARD.read_text())
