"""Malformed requests get a 4xx Status naming the problem, never a 500 (real HTTP on loopback)."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest

import sandbox
from sandbox import Sandbox

CM = "/api/v1/namespaces/default/configmaps"
PODS = "/api/v1/namespaces/default/pods"
APPLY = "application/apply-patch+yaml"


@pytest.fixture(scope="module")
def cluster() -> Iterator[Sandbox]:
    with sandbox.start(tls=False) as running:
        _call(running, "POST", CM, {"metadata": {"name": "z"}})
        yield running


def _call(
    cluster: Sandbox, method: str, path: str, body: Any = None, content_type: str = "application/json"
) -> tuple[int, dict[str, Any]]:
    data = body if isinstance(body, bytes) else None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(
        cluster.url + path,
        data=data,
        method=method,
        headers={"Authorization": f"Bearer {cluster.token}", "Content-Type": content_type},
    )
    try:
        with urllib.request.urlopen(request) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read())


@pytest.mark.parametrize(
    ("method", "path", "body", "content_type", "expected"),
    [
        ("POST", CM, b"{not json", "application/json", 400),
        ("POST", CM, {"metadata": {"name": 5}}, "application/json", 400),
        ("POST", CM, {"metadata": {"name": "a", "labels": ["x"]}}, "application/json", 400),
        ("POST", CM, {"metadata": {"name": "a", "labels": {"k": 5}}}, "application/json", 400),
        ("POST", CM, {"metadata": {}}, "application/json", 422),
        ("POST", PODS, {"metadata": {"name": "p"}, "spec": {"containers": "x"}}, "application/json", 400),
        (
            "POST",
            PODS,
            {
                "metadata": {"name": "p"},
                "spec": {"containers": [{"name": "c", "resources": {"limits": {"nvidia.com/gpu": "lots"}}}]},
            },
            "application/json",
            422,
        ),
        (
            "POST",
            "/apis/policy/v1/namespaces/default/poddisruptionbudgets",
            {"metadata": {"name": "b"}, "spec": {"minAvailable": "half"}},
            "application/json",
            422,
        ),
        (
            "POST",
            "/apis/apiextensions.k8s.io/v1/customresourcedefinitions",
            {
                "metadata": {"name": "as.b.c"},
                "spec": {
                    "group": "b.c",
                    "scope": "Cluster",
                    "names": {"plural": "as", "kind": "A"},
                    "versions": [{}],
                },
            },
            "application/json",
            422,
        ),
        ("PATCH", CM + "/z", b'[{"op": "bogus"}]', "application/json-patch+json", 422),
        ("PATCH", CM + "/z", b'{"metadata": {"labels": [1]}}', "application/strategic-merge-patch+json", 400),
        ("PATCH", CM + "/z?fieldManager=x", b"- a\n- b\n", APPLY, 400),
        (
            "PATCH",
            CM + "/z?fieldManager=x",
            b"kind: ConfigMap\napiVersion: v1\nmetadata: {name: z, labels: 5}\n",
            APPLY,
            400,
        ),
        ("GET", CM + "?limit=abc", None, "application/json", 400),
        ("GET", CM + "?watch=true&resourceVersion=abc", None, "application/json", 400),
        ("DELETE", CM + "/z?gracePeriodSeconds=abc", None, "application/json", 400),
    ],
)
def test_malformed_request_is_a_client_error(
    cluster: Sandbox, method: str, path: str, body: Any, content_type: str, expected: int
) -> None:
    """Each malformed request answers its 4xx code with a Failure Status and a message."""
    code, status = _call(cluster, method, path, body, content_type)
    assert code == expected, status
    assert status["kind"] == "Status" and status["status"] == "Failure" and status["message"]


def test_pdb_selector_with_unknown_operator_is_422(cluster: Sandbox) -> None:
    """A PDB selector with an operator Kubernetes does not know is 422 Invalid, naming the field."""
    code, status = _call(
        cluster,
        "POST",
        "/apis/policy/v1/namespaces/default/poddisruptionbudgets",
        {
            "metadata": {"name": "s"},
            "spec": {"selector": {"matchExpressions": [{"key": "a", "operator": "Near"}]}},
        },
    )
    assert code == 422
    assert status["details"]["causes"][0]["field"] == "spec.selector.matchExpressions[0].operator"
