"""Planning: stage order, pairing and prune sets, normal forms and ignore rules, the subset check."""

from __future__ import annotations

import json
from pathlib import Path

from gpuctl.cli.cluster_options import load
from reconciler.planning.compare import DIGEST_ANNOTATION, is_subset, with_digest
from reconciler.planning.inventory import Inventory, inventory_configmap, inventory_from_configmap
from reconciler.planning.normalise import normalise, remove_pointer
from reconciler.planning.pairing import plan
from reconciler.render import render
from reconciler.render.order import STAGE_NAMES, stage_name
from schemas.kinds import DiffIgnoreRule
from schemas.refs import ObjectRef

REPO = Path(__file__).resolve().parents[2] / "desired_state"


def test_example_repository_stages_follow_the_issue_order() -> None:
    """Namespaces, RBAC, classes, GPU Operator config, quotas/Kueue, node pools, then workloads."""
    state = load(REPO)
    rendered = render(state)
    indices = [STAGE_NAMES.index(item.stage) for item in rendered]
    assert indices == sorted(indices)
    by_name = {item.ref.name: item.stage for item in rendered}
    assert by_name["team-llm"] == "namespaces"
    assert by_name["custom-mig-parted-config"] == "gpu-operator"
    assert by_name["cluster-policy"] == "gpu-operator"
    assert by_name["llm-serving"] == "workloads"
    kinds = [item.ref.kind for item in rendered if item.stage == "quotas"]
    assert kinds.index("ResourceFlavor") < kinds.index("ClusterQueue") < kinds.index("LocalQueue")


def test_crds_come_first_and_prunes_run_in_reverse() -> None:
    """A CRD is planned before everything; pruning deletes workloads before their namespace."""
    crd = {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": "x"},
    }
    ns = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "a"}}
    dep = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d", "namespace": "a"}}
    live = {ObjectRef.of(o): o for o in (ns, dep)}
    result = plan([(stage_name(ObjectRef.of(crd)), crd)], live, Inventory.of([ns, dep]))
    assert result.stages[0][0] == "crds"
    assert [p.ref.kind for p in result.prunes] == ["Deployment", "Namespace"]


def test_vanished_inventory_entries_need_no_delete() -> None:
    """An inventory entry whose object is already gone is dropped without a request."""
    ns = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "gone"}}
    result = plan([], {}, Inventory.of([ns]))
    assert result.prunes == [] and result.vanished == [ObjectRef("", "Namespace", "", "gone")]


def test_inventory_text_round_trip() -> None:
    """The inventory survives its ConfigMap text form unchanged."""
    inventory = Inventory.of(
        [{"apiVersion": "ray.io/v1", "kind": "RayCluster", "metadata": {"name": "r", "namespace": "t"}}]
    )
    assert Inventory.parse(inventory.text()) == inventory


def test_normalise_drops_server_fields_and_ignored_pointers() -> None:
    """managedFields, resourceVersion and status go; an ignore rule's pointer goes too."""
    live = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "d", "resourceVersion": "7", "uid": "u", "managedFields": []},
        "spec": {"replicas": 3, "template": {}},
        "status": {"readyReplicas": 3},
    }
    rule = DiffIgnoreRule.model_validate(
        {"kind": "Deployment", "group": "apps", "jsonPointers": ["/spec/replicas"]}
    )
    assert normalise(live, rules=[rule]) == {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "d"},
        "spec": {"template": {}},
    }


def test_manager_rule_drops_fields_owned_by_that_manager() -> None:
    """Fields an HPA (another field manager) owns are ignored; gpuctl's own stay."""
    live = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {
            "name": "d",
            "managedFields": [
                {"manager": "hpa-controller", "fieldsV1": {"f:spec": {"f:replicas": {}}}},
                {"manager": "gpuctl", "fieldsV1": {"f:spec": {"f:template": {}}}},
            ],
        },
        "spec": {"replicas": 5, "template": {"x": 1}},
    }
    rule = DiffIgnoreRule.model_validate(
        {"kind": "Deployment", "group": "apps", "managers": ["hpa-controller"]}
    )
    assert normalise(live, rules=[rule])["spec"] == {"template": {"x": 1}}


def test_remove_pointer_handles_escapes_and_wildcards() -> None:
    """`~1` stands for `/` in a pointer; `*` matches every list item."""
    obj = {"metadata": {"annotations": {"a/b": "1", "c": "2"}}, "items": [{"x": 1, "y": 2}, {"x": 3}]}
    remove_pointer(obj, "/metadata/annotations/a~1b")
    remove_pointer(obj, "/items/*/x")
    assert obj == {"metadata": {"annotations": {"c": "2"}}, "items": [{"y": 2}, {}]}


def test_subset_check_tolerates_server_defaults_but_not_changes() -> None:
    """Extra fields set by the server keep a match; a changed value or list length breaks it."""
    desired = {"spec": {"containers": [{"name": "a", "image": "x:1"}]}}
    live = {"spec": {"containers": [{"name": "a", "image": "x:1", "imagePullPolicy": "IfNotPresent"}]}}
    assert is_subset(desired, live)
    assert not is_subset({"spec": {"containers": [{"name": "a", "image": "x:2"}]}}, live)
    assert not is_subset({"spec": {"containers": []}}, live)
    assert not is_subset({"a": True}, {"a": 1})


def test_digest_changes_when_a_field_is_removed() -> None:
    """Removing a field from Git changes the digest, so the subset check cannot hide it."""
    full = {"kind": "ConfigMap", "metadata": {"name": "c"}, "data": {"a": "1", "b": "2"}}
    smaller = {"kind": "ConfigMap", "metadata": {"name": "c"}, "data": {"a": "1"}}
    sent_full, sent_small = with_digest(full), with_digest(smaller)
    assert is_subset(sent_small["data"], sent_full["data"])
    assert not is_subset(sent_small, sent_full)
    assert (
        sent_full["metadata"]["annotations"][DIGEST_ANNOTATION]
        == with_digest(sent_full)["metadata"]["annotations"][DIGEST_ANNOTATION]
    )


def test_large_inventory_is_compressed_below_the_configmap_limit() -> None:
    """30,000 entries are stored gzip-compressed, well under 1 MiB, and read back unchanged."""
    objects = [
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": f"cm-{i:05d}", "namespace": f"team-{i % 40}"},
        }
        for i in range(30000)
    ]
    inventory = Inventory.of(objects)
    stored = inventory_configmap("gpuctl-system", inventory)
    assert "data" not in stored and len(json.dumps(stored)) < 512 * 1024
    assert inventory_from_configmap(stored) == inventory
    small = inventory_configmap("gpuctl-system", Inventory.of(objects[:3]))
    assert "cm-00001" in small["data"]["inventory"] and inventory_from_configmap(small) == Inventory.of(
        objects[:3]
    )


def test_ignore_rule_selection_by_kind_group_name_and_namespace() -> None:
    """A rule selects by kind (any group unless given), and by name/namespace when given."""
    from reconciler.planning.normalise import rules_for

    dep = ObjectRef("apps", "Deployment", "team-a", "api")
    any_group = DiffIgnoreRule.model_validate({"kind": "Deployment"})
    other_group = DiffIgnoreRule.model_validate({"kind": "Deployment", "group": "example.org"})
    other_name = DiffIgnoreRule.model_validate({"kind": "Deployment", "name": "web"})
    same_ns = DiffIgnoreRule.model_validate({"kind": "Deployment", "namespace": "team-a"})
    assert rules_for(dep, [any_group, other_group, other_name, same_ns]) == [any_group, same_ns]
