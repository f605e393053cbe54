"""Two CRDs of one group naming the same kind: the second is refused its names
(`NamesAccepted=False`, `ListKindConflict`, not Established) and not served, so gpuctl resolves
the kind to the first; on a server that served both, gpuctl names both resources."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import pytest
from kubernetes import client
from kubernetes.dynamic.exceptions import ResourceNotUniqueError

from reconciler.cluster.client import KubeClusterClient
from reconciler.errors import TerminalError
from tests.conformance.helpers import wait_for
from tests.conformance.test_crds import _crd


@pytest.fixture
def group(api_client: client.ApiClient) -> Iterator[str]:
    name = f"names-{uuid.uuid4().hex[:6]}.example.com"
    yield name
    ext = client.ApiextensionsV1Api(api_client)
    for crd in ext.list_custom_resource_definition().items:
        if crd.spec.group == name:
            ext.delete_custom_resource_definition(crd.metadata.name)


def _conditions(ext: client.ApiextensionsV1Api, name: str) -> dict[str, Any]:
    crd = ext.read_custom_resource_definition(name)
    return {c.type: c for c in (crd.status.conditions or [])} if crd.status else {}


def test_second_crd_with_the_same_kind_is_not_accepted_nor_served(
    api_client: client.ApiClient, group: str
) -> None:
    """widgets and gadgets both of kind Widget: gadgets gets NamesAccepted False (ListKindConflict)."""
    ext = client.ApiextensionsV1Api(api_client)
    ext.create_custom_resource_definition(_crd(group, "Widget", "widgets", "Namespaced"))
    wait_for(lambda: getattr(_conditions(ext, f"widgets.{group}").get("Established"), "status", "") == "True",
             what="widgets Established")
    ext.create_custom_resource_definition(_crd(group, "Widget", "gadgets", "Namespaced"))
    accepted = wait_for(lambda: _conditions(ext, f"gadgets.{group}").get("NamesAccepted"),
                        what="gadgets checked")
    assert (accepted.status, accepted.reason, accepted.message) == (
        "False", "ListKindConflict", '"WidgetList" is already in use'
    )
    established = _conditions(ext, f"gadgets.{group}")["Established"]
    assert (established.status, established.reason) == ("False", "NotAccepted")
    ours = KubeClusterClient(api_client)
    try:
        served = ours._call(None, "discovery", "GET", f"/apis/{group}/v1")
        assert [r["name"] for r in served["resources"]] == ["widgets"]
        assert ours.kind_info(f"{group}/v1", "Widget").plural == "widgets"
    finally:
        ours._cache_dir.cleanup()


def test_an_ambiguous_kind_is_a_clear_error_naming_both_resources(api_client: client.ApiClient) -> None:
    """Discovery offering two resources for one kind: a TerminalError naming both, no traceback."""
    ours = KubeClusterClient(api_client)
    matches = [SimpleNamespace(name=plural, group="example.com") for plural in ("widgets", "gadgets")]

    class Resources:
        def get(self, **_: str) -> None:
            raise ResourceNotUniqueError("Multiple matches found")

        def search(self, **_: str) -> list[SimpleNamespace]:
            return matches

    ours._dynamic = SimpleNamespace(resources=Resources())  # type: ignore[assignment]
    try:
        with pytest.raises(TerminalError) as caught:
            ours.kind_info("example.com/v1", "Widget")
    finally:
        ours._cache_dir.cleanup()
    assert str(caught.value) == (
        "kind Widget in example.com/v1 is ambiguous: gadgets.example.com and widgets.example.com all "
        "serve it; delete the CustomResourceDefinition that should not define it, or give it another kind"
    )
