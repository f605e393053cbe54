"""Change patches and diff output never carry Secret values."""

from __future__ import annotations

from gpuctl.cli.diff_render import as_json, unified
from reconciler.apply.applier import Outcome
from reconciler.apply.patches import REDACTED, change_patch
from reconciler.pipeline import ReconcileResult
from schemas.refs import ObjectRef
from schemas.results import Action, ChangeEntry, RevisionInfo


def _secret(value: str) -> dict[str, object]:
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "s", "namespace": "a"},
        "data": {"k": value},
    }


def test_changed_secret_value_is_reported_redacted() -> None:
    """A changed Secret value shows as a replace of the redaction marker, never the value."""
    patch = change_patch(_secret("b2xk"), _secret("bmV3"))
    assert patch == [{"op": "replace", "path": "/data/k", "value": REDACTED}]
    created = change_patch(None, _secret("bmV3"))
    assert "bmV3" not in str(created) and REDACTED in str(created)


def test_plain_objects_get_an_exact_json_patch() -> None:
    """Other kinds get the RFC 6902 patch from before to after."""
    before = {"kind": "ConfigMap", "data": {"a": "1"}}
    after = {"kind": "ConfigMap", "data": {"a": "2", "b": "3"}}
    assert sorted(map(str, change_patch(before, after))) == sorted(
        map(
            str,
            [
                {"op": "replace", "path": "/data/a", "value": "2"},
                {"op": "add", "path": "/data/b", "value": "3"},
            ],
        )
    )


def test_diff_output_redacts_secret_values() -> None:
    """Neither the unified diff nor the JSON output prints a Secret's data."""
    entry = ChangeEntry(
        ObjectRef("", "Secret", "a", "s"), Action.CONFIGURED, change_patch(_secret("b2xk"), _secret("bmV3"))
    )
    result = ReconcileResult(RevisionInfo("x"))
    result.changes.add(entry)
    result.outcomes.append(Outcome(entry, _secret("b2xk"), _secret("bmV3")))
    text, document = unified(result), as_json(result)
    for secret in ("b2xk", "bmV3"):
        assert secret not in text and secret not in document
    assert "--- live/Secret/a/s" in text
