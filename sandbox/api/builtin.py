"""The built-in resource types: core/v1, apps/v1, batch/v1, policy/v1, scheduling, coordination, RBAC
and apiextensions, with the short names, subresources and categories kubectl relies on."""

from __future__ import annotations

from sandbox.api.resources import ResourceType

_CORE = [
    # plural, kind, namespaced, singular, short names, subresources, generation, categories
    ("namespaces", "Namespace", False, ("ns",), ("status", "finalize"), False, ()),
    ("nodes", "Node", False, ("no",), ("status",), False, ()),
    ("pods", "Pod", True, ("po",), ("status", "eviction"), False, ("all",)),
    ("configmaps", "ConfigMap", True, ("cm",), (), False, ()),
    ("secrets", "Secret", True, (), (), False, ()),
    ("serviceaccounts", "ServiceAccount", True, ("sa",), (), False, ()),
    ("services", "Service", True, ("svc",), ("status",), False, ("all",)),
    ("events", "Event", True, ("ev",), (), False, ()),
    ("resourcequotas", "ResourceQuota", True, ("quota",), ("status",), False, ()),
    ("limitranges", "LimitRange", True, ("limits",), (), False, ()),
]

_GROUPED = [
    # group, version, plural, kind, namespaced, short names, subresources, generation, categories
    ("apps", "v1", "deployments", "Deployment", True, ("deploy",), ("status", "scale"), True, ("all",)),
    ("apps", "v1", "replicasets", "ReplicaSet", True, ("rs",), ("status", "scale"), True, ("all",)),
    ("apps", "v1", "statefulsets", "StatefulSet", True, ("sts",), ("status", "scale"), True, ("all",)),
    ("apps", "v1", "daemonsets", "DaemonSet", True, ("ds",), ("status",), True, ("all",)),
    ("batch", "v1", "jobs", "Job", True, (), ("status",), True, ("all",)),
    ("policy", "v1", "poddisruptionbudgets", "PodDisruptionBudget", True, ("pdb",), ("status",), True, ()),
    ("scheduling.k8s.io", "v1", "priorityclasses", "PriorityClass", False, ("pc",), (), False, ()),
    ("coordination.k8s.io", "v1", "leases", "Lease", True, (), (), False, ()),
    ("rbac.authorization.k8s.io", "v1", "roles", "Role", True, (), (), False, ()),
    ("rbac.authorization.k8s.io", "v1", "rolebindings", "RoleBinding", True, (), (), False, ()),
    ("rbac.authorization.k8s.io", "v1", "clusterroles", "ClusterRole", False, (), (), False, ()),
    (
        "rbac.authorization.k8s.io",
        "v1",
        "clusterrolebindings",
        "ClusterRoleBinding",
        False,
        (),
        (),
        False,
        (),
    ),
    (
        "apiextensions.k8s.io",
        "v1",
        "customresourcedefinitions",
        "CustomResourceDefinition",
        False,
        ("crd", "crds"),
        ("status",),
        True,
        ("api-extensions",),
    ),
]


def builtin_types() -> list[ResourceType]:
    """Every built-in type, core first (discovery order)."""
    types = [
        ResourceType(
            group="",
            version="v1",
            plural=plural,
            kind=kind,
            namespaced=namespaced,
            singular=kind.lower(),
            short_names=shorts,
            subresources=subs,
            has_generation=generation,
            has_status="status" in subs,
            categories=cats,
        )
        for plural, kind, namespaced, shorts, subs, generation, cats in _CORE
    ]
    types += [
        ResourceType(
            group=group,
            version=version,
            plural=plural,
            kind=kind,
            namespaced=namespaced,
            singular=kind.lower(),
            short_names=shorts,
            subresources=subs,
            has_generation=generation,
            has_status="status" in subs,
            categories=cats,
        )
        for group, version, plural, kind, namespaced, shorts, subs, generation, cats in _GROUPED
    ]
    return types


# Subresources whose discovery entry belongs to another group/kind.
SUBRESOURCE_KINDS: dict[str, tuple[str, str, str, tuple[str, ...]]] = {
    # name: (group, version, kind, verbs)
    "eviction": ("policy", "v1", "Eviction", ("create",)),
    "scale": ("autoscaling", "v1", "Scale", ("get", "patch", "update")),
    "finalize": ("", "v1", "Namespace", ("update",)),
}
