"""Redaction: Secret data and credential-like values never reach the audit database, while
references and ordinary values stay readable."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from reconciler.audit import SqliteAuditLog
from reconciler.audit.redaction import (
    REDACTED,
    looks_like_credential,
    parse_pointer,
    redact_document,
    redact_patch,
)
from schemas.refs import ObjectRef
from schemas.results import Action, ChangeEntry, ReconcileOutcome, RevisionInfo, Trigger

SECRET_REF = ObjectRef("", "Secret", "ml-team", "registry-credentials")
DEPLOYMENT_REF = ObjectRef("apps", "Deployment", "ml-team", "inference")


def test_secret_data_in_a_creation_patch_is_redacted_keys_kept() -> None:
    """A whole Secret in a creation patch keeps its keys but loses every data/stringData value."""
    patch = [
        {
            "op": "add",
            "path": "",
            "value": {
                "apiVersion": "v1",
                "kind": "Secret",
                "metadata": {"name": "registry-credentials", "labels": {"team": "ml"}},
                "type": "Opaque",
                "data": {"username": "YWRtaW4=", "config.json": "eyJhdXRocyI6e319"},
                "stringData": {"note": "plain text"},
            },
        }
    ]
    value = redact_patch(patch, SECRET_REF)[0]["value"]
    assert value["data"] == {"username": REDACTED, "config.json": REDACTED}
    assert value["stringData"] == {"note": REDACTED}
    assert value["metadata"] == {"name": "registry-credentials", "labels": {"team": "ml"}}
    assert value["type"] == "Opaque"


def test_secret_data_ops_by_path_are_redacted() -> None:
    """Ops at /data, /data/KEY and /stringData/KEY of a Secret carry no value any more."""
    patch = [
        {"op": "replace", "path": "/data/password", "value": "aHVudGVyMg=="},
        {"op": "add", "path": "/stringData", "value": {"token": "abc", "host": "db"}},
        {"op": "test", "path": "/data/user", "value": "YWRtaW4="},
        {"op": "remove", "path": "/data/old"},
        {"op": "replace", "path": "/metadata/labels/tier", "value": "gold"},
    ]
    out = redact_patch(patch, SECRET_REF)
    assert [op.get("value") for op in out] == [
        REDACTED,
        {"token": REDACTED, "host": REDACTED},
        REDACTED,
        None,
        "gold",
    ]
    assert out[3] == {"op": "remove", "path": "/data/old"}


def test_secret_last_applied_annotation_is_redacted() -> None:
    """kubectl's last-applied annotation repeats a Secret's data, so it is redacted too."""
    annotation = "kubectl.kubernetes.io/last-applied-configuration"
    by_key = redact_patch(
        [{"op": "add", "path": "/metadata/annotations/" + annotation.replace("/", "~1"), "value": "{...}"}],
        SECRET_REF,
    )
    by_map = redact_patch(
        [{"op": "add", "path": "/metadata/annotations", "value": {annotation: '{"data":1}', "owner": "ml"}}],
        SECRET_REF,
    )
    assert by_key[0]["value"] == REDACTED
    assert by_map[0]["value"] == {annotation: REDACTED, "owner": "ml"}


def test_non_secret_data_is_kept() -> None:
    """A ConfigMap's data (a mig-parted config) is not a credential and stays readable."""
    configmap = ObjectRef("", "ConfigMap", "gpu-operator", "default-mig-parted-config")
    patch = [{"op": "replace", "path": "/data/config.yaml", "value": "version: v1\n"}]
    assert redact_patch(patch, configmap) == patch


def test_credential_keys_are_redacted_at_any_depth() -> None:
    """Values under password/token/apiKey/privateKey/credentials keys are redacted, nested too."""
    value = {
        "spec": {
            "auth": {"password": "hunter2", "username": "ann"},
            "api_key": "k-123",
            "PrivateKey": "-----BEGIN KEY-----",
            "credentials": {"accessKeyId": "AKIA", "region": "eu-west-1", "port": 443},
            "webhook": {"bearerToken": "t0k3n", "url": "https://hooks.example"},
        }
    }
    spec = redact_patch([{"op": "add", "path": "", "value": value}], DEPLOYMENT_REF)[0]["value"]["spec"]
    assert spec["auth"] == {"password": REDACTED, "username": "ann"}
    assert spec["api_key"] == REDACTED
    assert spec["PrivateKey"] == REDACTED
    assert spec["credentials"] == {"accessKeyId": REDACTED, "region": REDACTED, "port": REDACTED}
    assert spec["webhook"] == {"bearerToken": REDACTED, "url": "https://hooks.example"}


def test_credential_key_in_the_path_redacts_the_value() -> None:
    """An op whose path ends under a credential key (e.g. /spec/auth/password) is redacted."""
    out = redact_patch([{"op": "replace", "path": "/spec/auth/password", "value": "hunter2"}], DEPLOYMENT_REF)
    assert out[0]["value"] == REDACTED


def test_references_and_flags_are_not_credentials() -> None:
    """secretName, secretKeyRef and boolean token flags only point at or toggle things: kept."""
    pod_spec = {
        "automountServiceAccountToken": False,
        "volumes": [{"name": "certs", "secret": {"secretName": "tls-certs"}}],
        "containers": [
            {
                "name": "server",
                "env": [{"name": "DB_PASSWORD", "valueFrom": {"secretKeyRef": {"name": "db", "key": "pw"}}}],
                "imagePullSecrets": [{"name": "registry"}],
            }
        ],
    }
    assert redact_document(pod_spec) == pod_spec
    reference_ops = [
        {"op": "add", "path": "/spec/volumes/0/secret", "value": {"secretName": "tls-certs"}},
        {"op": "replace", "path": "/spec/volumes/0/secret/secretName", "value": "tls-certs-v2"},
        {"op": "add", "path": "/spec/imagePullSecrets", "value": [{"name": "registry"}]},
    ]
    assert redact_patch(reference_ops, DEPLOYMENT_REF) == reference_ops


def test_env_var_values_with_credential_names_are_redacted() -> None:
    """`{name: API_TOKEN, value: …}` loses its value; `{name: LOG_LEVEL, value: …}` keeps it."""
    env = [{"name": "API_TOKEN", "value": "abc"}, {"name": "LOG_LEVEL", "value": "debug"}]
    out = redact_patch(
        [{"op": "replace", "path": "/spec/template/spec/containers/0/env", "value": env}], DEPLOYMENT_REF
    )
    assert out[0]["value"] == [
        {"name": "API_TOKEN", "value": REDACTED},
        {"name": "LOG_LEVEL", "value": "debug"},
    ]


def test_bare_env_value_op_is_redacted_because_the_name_is_unknown() -> None:
    """A patch that replaces /…/env/N/value cannot say which variable it is, so it is redacted."""
    out = redact_patch(
        [{"op": "replace", "path": "/spec/template/spec/containers/0/env/2/value", "value": "s3cr3t"}],
        DEPLOYMENT_REF,
    )
    assert out[0]["value"] == REDACTED


def test_redaction_does_not_mutate_its_input() -> None:
    """The caller's patch is left untouched (the engine may still use it)."""
    patch = [{"op": "add", "path": "/data", "value": {"password": "hunter2"}}]
    before = copy.deepcopy(patch)
    redact_patch(patch, SECRET_REF)
    assert patch == before


def test_malformed_pointer_is_redacted_conservatively() -> None:
    """An op whose path is not a JSON pointer is redacted rather than guessed at."""
    assert redact_patch([{"op": "add", "path": "data/x", "value": "v"}])[0]["value"] == REDACTED


def test_pointer_unescaping_and_credential_names() -> None:
    """JSON pointer tokens are unescaped; credential names match in any case and spelling."""
    assert parse_pointer("/metadata/labels/nvidia.com~1mig.config") == [
        "metadata",
        "labels",
        "nvidia.com/mig.config",
    ]
    assert parse_pointer("/a~0b") == ["a~b"]
    for name in ("password", "DB_PASSWORD", "apiKey", "x-api-key", "privateKey", "Credentials", "id_token"):
        assert looks_like_credential(name), name
    for name in ("secretName", "secretRef", "username", "image", "tokenPath", "replicas"):
        assert not looks_like_credential(name), name


_json_leaf = st.one_of(st.text(min_size=1, max_size=12), st.integers())
_json_value = st.recursive(
    _json_leaf,
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3)
    ),
    max_leaves=10,
)


def _leaves(value: Any) -> list[Any]:
    if isinstance(value, dict):
        return [leaf for item in value.values() for leaf in _leaves(item)]
    if isinstance(value, list):
        return [leaf for item in value for leaf in _leaves(item)]
    return [value]


@settings(max_examples=200, deadline=None)
@given(data=st.dictionaries(st.text(min_size=1, max_size=10), _json_value, min_size=1, max_size=4))
def test_no_secret_data_leaf_survives_any_shape(data: dict[str, Any]) -> None:
    """Whatever shape a Secret's data takes, every string/number leaf under it is redacted."""
    patch = [
        {"op": "add", "path": "", "value": {"kind": "Secret", "apiVersion": "v1", "data": data}},
        {"op": "replace", "path": "/stringData", "value": data},
    ]
    out = redact_patch(patch, SECRET_REF)
    for redacted in (out[0]["value"]["data"], out[1]["value"]):
        assert all(leaf == REDACTED for leaf in _leaves(redacted))


def test_secret_value_never_reaches_the_database_file(tmp_path: Path) -> None:
    """After recording changes to a Secret, no file of the database holds the secret's bytes."""
    secret_value = "Sup3r-S3cret-Registry-Passw0rd"
    encoded = "U3VwM3ItUzNjcmV0LVJlZ2lzdHJ5LVBhc3N3MHJk"
    db_path = tmp_path / "audit.db"
    with SqliteAuditLog(db_path) as log:
        reconcile_id = log.begin(RevisionInfo("c0ffee"), Trigger.COMMIT)
        log.change(
            reconcile_id,
            ChangeEntry(
                SECRET_REF,
                Action.CREATED,
                [{"op": "add", "path": "", "value": {"data": {".dockerconfigjson": encoded}}}],
            ),
        )
        log.change(
            reconcile_id,
            ChangeEntry(
                SECRET_REF,
                Action.CONFIGURED,
                [{"op": "replace", "path": "/stringData/pw", "value": secret_value}],
            ),
        )
        log.change(
            reconcile_id,
            ChangeEntry(
                DEPLOYMENT_REF,
                Action.CONFIGURED,
                [
                    {
                        "op": "add",
                        "path": "/spec/template/spec/containers/0/env/0",
                        "value": {"name": "REGISTRY_PASSWORD", "value": secret_value},
                    }
                ],
            ),
        )
        log.end(reconcile_id, ReconcileOutcome.SUCCEEDED)
        files = sorted(tmp_path.glob("audit.db*"))
        stored = b"".join(path.read_bytes() for path in files)
    stored += db_path.read_bytes()
    assert len(files) >= 2  # the database and its write-ahead log were both checked
    assert secret_value.encode() not in stored
    assert encoded.encode() not in stored
    assert b"REGISTRY_PASSWORD" in stored  # the entry itself was written
