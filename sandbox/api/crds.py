"""CustomResourceDefinitions: creating one starts serving its kind (namespaced or
cluster-scoped, every served version, with the `Established` and `NamesAccepted`
conditions) unless its names clash with another CRD of its group (`crd_names`: then
`NamesAccepted=False` and nothing is served, as on a real server); deleting one stops serving
it and deletes its objects. Also the CRDs the
sandbox preinstalls: KubeRay, Kubeflow training, Kueue and the GPU Operator's ClusterPolicy.
"""

from __future__ import annotations

from typing import Any

from sandbox.api import errors
from sandbox.api.crd_names import conflict_status, name_conflict, names_accepted
from sandbox.api.resources import Registry, ResourceType
from sandbox.api.store import Store
from sandbox.clock import SandboxClock

CRD_GROUP = "apiextensions.k8s.io"


def types_of(crd: dict[str, Any]) -> list[ResourceType]:
    """One ResourceType per served version of a CRD, storage version first."""
    spec = crd.get("spec") or {}
    names = spec.get("names") or {}
    versions = [v for v in spec.get("versions") or [] if v.get("served", True)]
    versions.sort(key=lambda v: (not v.get("storage", False), v.get("name", "")))
    result = []
    for version in versions:
        subresources = version.get("subresources") or {}
        subs = tuple(s for s in ("status", "scale") if s in subresources)
        result.append(
            ResourceType(
                group=spec.get("group", ""),
                version=version["name"],
                plural=names.get("plural", ""),
                kind=names.get("kind", ""),
                namespaced=spec.get("scope", "Namespaced") == "Namespaced",
                singular=names.get("singular") or names.get("kind", "").lower(),
                short_names=tuple(names.get("shortNames") or ()),
                categories=tuple(names.get("categories") or ()),
                subresources=subs,
                has_generation=True,
                has_status="status" in subs,
                list_kind=names.get("listKind", ""),
            )
        )
    return result


class CrdController:
    """Admission hook keeping the registry in step with the stored CRDs."""

    def __init__(self, registry: Registry, store: Store, clock: SandboxClock) -> None:
        self.registry = registry
        self.store = store
        self.clock = clock

    def admit(self, rtype: ResourceType, old: dict[str, Any] | None, new: dict[str, Any] | None) -> None:
        if rtype.group != CRD_GROUP or new is None:
            return
        spec = new.get("spec") or {}
        names = spec.get("names") or {}
        name = new["metadata"]["name"]
        causes = []
        expected = f"{names.get('plural', '')}.{spec.get('group', '')}"
        if name != expected:
            causes.append(
                (
                    "metadata.name",
                    "FieldValueInvalid",
                    f'Invalid value: "{name}": must be spec.names.plural+"."+spec.group',
                )
            )
        if not names.get("kind"):
            causes.append(("spec.names.kind", "FieldValueRequired", "Required value"))
        if spec.get("scope") not in ("Namespaced", "Cluster"):
            causes.append(
                (
                    "spec.scope",
                    "FieldValueNotSupported",
                    f'Unsupported value: "{spec.get("scope")}": supported values: "Cluster", "Namespaced"',
                )
            )
        versions = spec.get("versions") or []
        if not versions:
            causes.append(
                (
                    "spec.versions",
                    "FieldValueRequired",
                    "Required value: must have exactly one version marked as storage version",
                )
            )
        elif sum(1 for v in versions if v.get("storage")) != 1:
            causes.append(
                (
                    "spec.versions",
                    "FieldValueInvalid",
                    "Invalid value: must have exactly one version marked as storage version",
                )
            )
        if old is not None and (old.get("spec") or {}).get("scope") != spec.get("scope"):
            causes.append(("spec.scope", "FieldValueInvalid", "Invalid value: field is immutable"))
        if causes:
            raise errors.invalid("CustomResourceDefinition", CRD_GROUP, name, causes)
        now = self.clock.timestamp()
        stored_versions = [v["name"] for v in versions if v.get("storage")]
        conflict = name_conflict(new, self._accepted_peers(new))
        if conflict is not None:
            new["status"] = conflict_status(*conflict, now, stored_versions)
            return
        accepted = dict(names)
        accepted.setdefault("singular", names["kind"].lower())
        accepted.setdefault("listKind", names["kind"] + "List")
        new["status"] = {
            "acceptedNames": accepted,
            "storedVersions": stored_versions,
            "conditions": [
                {
                    "type": "NamesAccepted",
                    "status": "True",
                    "reason": "NoConflicts",
                    "message": "no conflicts found",
                    "lastTransitionTime": now,
                },
                {
                    "type": "Established",
                    "status": "True",
                    "reason": "InitialNamesAccepted",
                    "message": "the initial names have been accepted",
                    "lastTransitionTime": now,
                },
            ],
        }

    def _accepted_peers(self, crd: dict[str, Any]) -> list[dict[str, Any]]:
        """The other accepted CRDs of `crd`'s group."""
        group = (crd.get("spec") or {}).get("group", "")
        stored, _ = self.store.list_objects((CRD_GROUP, "customresourcedefinitions"))
        return [
            other for other in stored
            if other["metadata"]["name"] != crd["metadata"]["name"]
            and (other.get("spec") or {}).get("group", "") == group and names_accepted(other)
        ]

    def committed(self, rtype: ResourceType, old: dict[str, Any] | None, new: dict[str, Any] | None) -> None:
        if rtype.group != CRD_GROUP:
            return
        if old is not None and names_accepted(old):  # an unaccepted CRD never served its names
            spec = old.get("spec") or {}
            self.registry.remove(spec.get("group", ""), (spec.get("names") or {}).get("plural", ""))
        if new is None:
            if old is not None and names_accepted(old):
                spec = old.get("spec") or {}
                self.store.drop_resource((spec.get("group", ""), (spec.get("names") or {}).get("plural", "")))
            return
        if not names_accepted(new):
            return  # its names clash with another CRD's: not served
        for served in types_of(new):
            self.registry.add(served)


def _schema(properties: dict[str, Any] | None = None) -> dict[str, Any]:
    return {
        "openAPIV3Schema": {
            "type": "object",
            "x-kubernetes-preserve-unknown-fields": True,
            "properties": properties or {},
        }
    }


def _crd(
    group: str,
    kind: str,
    plural: str,
    scope: str,
    versions: list[str],
    *,
    short: list[str] | None = None,
    categories: list[str] | None = None,
) -> dict[str, Any]:
    names: dict[str, Any] = {
        "plural": plural,
        "singular": kind.lower(),
        "kind": kind,
        "listKind": kind + "List",
    }
    if short:
        names["shortNames"] = short
    if categories:
        names["categories"] = categories
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": f"{plural}.{group}"},
        "spec": {
            "group": group,
            "names": names,
            "scope": scope,
            "versions": [
                {
                    "name": v,
                    "served": True,
                    "storage": i == len(versions) - 1,
                    "schema": _schema(),
                    "subresources": {"status": {}},
                }
                for i, v in enumerate(versions)
            ],
        },
    }


def preinstalled() -> list[dict[str, Any]]:
    """CRDs a GPU/ML cluster has: KubeRay, Kubeflow PyTorchJob, Kueue, GPU Operator."""
    return [
        _crd("ray.io", "RayCluster", "rayclusters", "Namespaced", ["v1"], categories=["all"]),
        _crd("kubeflow.org", "PyTorchJob", "pytorchjobs", "Namespaced", ["v1"], categories=["kubeflow"]),
        _crd(
            "kueue.x-k8s.io",
            "ResourceFlavor",
            "resourceflavors",
            "Cluster",
            ["v1beta1", "v1beta2"],
            short=["flavor", "flavors", "rf"],
        ),
        _crd(
            "kueue.x-k8s.io", "ClusterQueue", "clusterqueues", "Cluster", ["v1beta1", "v1beta2"], short=["cq"]
        ),
        _crd(
            "kueue.x-k8s.io",
            "LocalQueue",
            "localqueues",
            "Namespaced",
            ["v1beta1", "v1beta2"],
            short=["queue", "queues", "lq"],
        ),
        _crd("nvidia.com", "ClusterPolicy", "clusterpolicies", "Cluster", ["v1"]),
    ]
