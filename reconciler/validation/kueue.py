"""Kueue kinds (kueue.x-k8s.io, gpu-object-model §6.3): v1beta1 is deprecated in favour of
v1beta2 (warning with the new spelling); ClusterQueue resource groups follow Kueue's CEL
rules; references between LocalQueue → ClusterQueue → ResourceFlavor resolve when the
repository defines the referenced kind at all (otherwise they are managed elsewhere).
"""

from __future__ import annotations

from typing import Any

from reconciler.validation.context import Context
from schemas.desired import Manifest
from schemas.diagnostics import Diagnostic, Severity

RULE_DEPRECATED = "kueue-deprecated-version"
RULE_SPEC = "kueue-spec"
RULE_REFERENCE = "kueue-reference"
GROUP = "kueue.x-k8s.io"
_MAX_GROUPS, _MAX_COVERED, _MAX_FLAVOR_LABELS = 16, 64, 8
_OLD_FUNGIBILITY = {"Borrow": "MayStopSearch", "Preempt": "MayStopSearch"}


def _diag(
    manifest: Manifest, pointer: str, message: str, rule: str, severity: Severity = Severity.ERROR
) -> Diagnostic:
    return Diagnostic(manifest.position(pointer), severity, f"{manifest.ref}: {message}", rule)


def check_kueue(context: Context) -> list[Diagnostic]:
    kueue = [m for kind in context.by_kind.values() for m in kind if m.ref.group == GROUP]
    found: list[Diagnostic] = []
    for manifest in kueue:
        if str(manifest.obj.get("apiVersion")).endswith("/v1beta1"):
            found.append(_deprecation(manifest))
    flavors = {m.ref.name for m in context.kind("ResourceFlavor", GROUP)}
    queues = {m.ref.name for m in context.kind("ClusterQueue", GROUP)}
    for manifest in context.kind("ClusterQueue", GROUP):
        found.extend(_cluster_queue(manifest, flavors))
    for manifest in context.kind("LocalQueue", GROUP):
        found.extend(_local_queue(manifest, queues))
    for manifest in context.kind("ResourceFlavor", GROUP):
        labels = (manifest.obj.get("spec") or {}).get("nodeLabels") or {}
        if isinstance(labels, dict) and len(labels) > _MAX_FLAVOR_LABELS:
            found.append(
                _diag(
                    manifest,
                    "/spec/nodeLabels",
                    f"at most {_MAX_FLAVOR_LABELS} nodeLabels are allowed (got {len(labels)})",
                    RULE_SPEC,
                )
            )
    return found


def _deprecation(manifest: Manifest) -> Diagnostic:
    raw = manifest.obj.get("spec")
    spec: dict[str, Any] = raw if isinstance(raw, dict) else {}
    changes = [f"apiVersion: {GROUP}/v1beta2"]
    if manifest.ref.kind == "ClusterQueue" and "cohort" in spec:
        changes.append("spec.cohortName instead of spec.cohort")
    fungibility = spec.get("flavorFungibility")
    if isinstance(fungibility, dict):
        for key, value in fungibility.items():
            if value in _OLD_FUNGIBILITY:
                changes.append(f"flavorFungibility.{key}: {_OLD_FUNGIBILITY[value]} instead of {value}")
    return _diag(
        manifest,
        "/apiVersion",
        f"Kueue v1beta1 is deprecated (v1beta2 is the storage version); write {'; '.join(changes)}",
        RULE_DEPRECATED,
        Severity.WARNING,
    )


def _cluster_queue(manifest: Manifest, flavors: set[str]) -> list[Diagnostic]:
    spec = manifest.obj.get("spec")
    if not isinstance(spec, dict):
        return [_diag(manifest, "", "spec is required", RULE_SPEC)]
    found: list[Diagnostic] = []
    groups = spec.get("resourceGroups") or []
    if not isinstance(groups, list):
        return [_diag(manifest, "/spec/resourceGroups", "resourceGroups must be a list", RULE_SPEC)]
    if len(groups) > _MAX_GROUPS:
        found.append(
            _diag(manifest, "/spec/resourceGroups", f"at most {_MAX_GROUPS} resourceGroups", RULE_SPEC)
        )
    has_cohort = bool(spec.get("cohortName") or spec.get("cohort"))
    for g_index, group in enumerate(groups):
        if isinstance(group, dict):
            found.extend(
                _resource_group(manifest, f"/spec/resourceGroups/{g_index}", group, flavors, has_cohort)
            )
    return found


def _resource_group(
    manifest: Manifest, base: str, group: dict[str, Any], flavors: set[str], has_cohort: bool
) -> list[Diagnostic]:
    found: list[Diagnostic] = []
    covered = group.get("coveredResources") or []
    if not isinstance(covered, list) or not all(isinstance(c, str) for c in covered):
        return [
            _diag(manifest, base + "/coveredResources", "coveredResources must be a list of names", RULE_SPEC)
        ]
    if len(covered) > _MAX_COVERED:
        found.append(
            _diag(manifest, base + "/coveredResources", f"at most {_MAX_COVERED} coveredResources", RULE_SPEC)
        )
    flavor_list = group.get("flavors") or []
    if not isinstance(flavor_list, list):
        return [*found, _diag(manifest, base + "/flavors", "flavors must be a list", RULE_SPEC)]
    for f_index, flavor in enumerate(flavor_list):
        if not isinstance(flavor, dict):
            continue
        where = f"{base}/flavors/{f_index}"
        name = flavor.get("name")
        if not isinstance(name, str):
            found.append(_diag(manifest, where, "every flavor needs a name (a ResourceFlavor)", RULE_SPEC))
        elif flavors and name not in flavors:
            found.append(
                _diag(
                    manifest,
                    where + "/name",
                    f"ResourceFlavor {name!r} is not defined in the repository "
                    f"(defined: {', '.join(sorted(flavors))})",
                    RULE_REFERENCE,
                )
            )
        listed = flavor.get("resources") or []
        resources = [r for r in listed if isinstance(r, dict)] if isinstance(listed, list) else []
        names = [r.get("name") for r in resources]
        if sorted(map(str, names)) != sorted(map(str, covered)):
            found.append(
                _diag(
                    manifest,
                    where + "/resources",
                    f"flavor {name!r} must list exactly the coveredResources "
                    f"({', '.join(map(str, covered))}); it lists {', '.join(map(str, names))}",
                    RULE_SPEC,
                )
            )
        for r_index, resource in enumerate(resources):
            if "nominalQuota" not in resource:
                found.append(
                    _diag(
                        manifest,
                        f"{where}/resources/{r_index}",
                        f"resource {resource.get('name')!r} needs a nominalQuota",
                        RULE_SPEC,
                    )
                )
            if "borrowingLimit" in resource and not has_cohort:
                found.append(
                    _diag(
                        manifest,
                        f"{where}/resources/{r_index}/borrowingLimit",
                        "borrowingLimit needs a cohort (spec.cohortName)",
                        RULE_SPEC,
                    )
                )
    return found


def _local_queue(manifest: Manifest, queues: set[str]) -> list[Diagnostic]:
    spec = manifest.obj.get("spec")
    target = spec.get("clusterQueue") if isinstance(spec, dict) else None
    if not isinstance(target, str) or not target:
        return [_diag(manifest, "/spec", "spec.clusterQueue is required", RULE_SPEC)]
    if not manifest.ref.namespace:
        return [_diag(manifest, "/metadata", "a LocalQueue is namespaced; set metadata.namespace", RULE_SPEC)]
    if queues and target not in queues:
        return [
            _diag(
                manifest,
                "/spec/clusterQueue",
                f"ClusterQueue {target!r} is not defined in the repository "
                f"(defined: {', '.join(sorted(queues))})",
                RULE_REFERENCE,
            )
        ]
    return []
