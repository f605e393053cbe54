"""`gpuctl diff` rendering: YAML embedded in a ConfigMap value diffs line by line, gpuctl's
bookkeeping annotations stay out of the diff and its JSON patches, and an empty diff says so."""

from __future__ import annotations

import json
from typing import Any

from gpuctl.cli.diff_render import NO_CHANGES, as_json, print_unified, unified
from reconciler.apply.applier import Outcome
from reconciler.apply.patches import change_patch
from reconciler.pipeline import ReconcileResult
from schemas.refs import ObjectRef
from schemas.results import Action, ChangeEntry, RevisionInfo

EMBEDDED = (
    'version: v1\nmig-configs:\n  small:\n    - devices: all\n      mig-devices:\n        "1g.10gb": {n}\n'
)


def _config_map(count: int, digest: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "mig", "namespace": "gpu-operator", "annotations": {
            "gpuctl.dev/applied-digest": digest, "team": "gpu"}},
        "data": {"config.yaml": EMBEDDED.format(n=count)},
    }  # fmt: skip


def _result(before: dict[str, Any], after: dict[str, Any]) -> ReconcileResult:
    ref = ObjectRef.of(after)
    entry = ChangeEntry(ref, Action.CONFIGURED, change_patch(before, after))
    result = ReconcileResult(RevisionInfo("abc"))
    result.changes.add(entry)
    result.outcomes.append(Outcome(entry, before, after))
    return result


def test_embedded_yaml_diffs_by_line_without_bookkeeping() -> None:
    """A count changed inside a ConfigMap's YAML is one -/+ line pair; the digest is not shown."""
    text = unified(_result(_config_map(7, "aaa"), _config_map(6, "bbb")))
    changed = [line for line in text.splitlines() if line[:1] in "+-" and not line.startswith(("---", "+++"))]
    assert changed == ['-            "1g.10gb": 7', '+            "1g.10gb": 6']
    assert "applied-digest" not in text


def test_json_patches_leave_out_bookkeeping_annotations() -> None:
    """The JSON diff keeps the data change and drops the op on gpuctl's digest annotation."""
    document = json.loads(as_json(_result(_config_map(7, "aaa"), _config_map(6, "bbb"))))
    [change] = document["changes"]
    assert [op["path"] for op in change["patch"]] == ["/data/config.yaml"]
    assert document["gpu"] == []


def test_nothing_to_change_prints_no_changes(capsys: Any) -> None:
    """An empty diff prints `No changes.` rather than nothing."""
    print_unified(unified(ReconcileResult(RevisionInfo("abc"))), colour=False)
    assert capsys.readouterr().out.strip() == NO_CHANGES
