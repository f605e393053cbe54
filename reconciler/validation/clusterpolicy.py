"""The GPU Operator's ClusterPolicy points at the MIG manager's and the device plugin's
ConfigMaps (`spec.migManager.config.name`, `spec.devicePlugin.config.name`) and at a default
inside each (`...config.default`). When the repository holds those ConfigMaps, the names and
defaults must resolve, or the operator's components fail on every node that relies on them.
"""

from __future__ import annotations

from reconciler.validation.context import Context
from schemas.desired import Manifest
from schemas.diagnostics import Diagnostic, Severity

RULE = "cluster-policy-reference"


def check_cluster_policy(context: Context) -> list[Diagnostic]:
    found: list[Diagnostic] = []
    mig_configs = set(context.mig_parted.config.mig_configs) if context.mig_parted else None
    plugin_map = context.device_plugin_manifest
    plugin_keys = set(plugin_map.obj.get("data") or {}) if plugin_map else None
    for policy in context.kind("ClusterPolicy", "nvidia.com"):
        found.extend(_component(policy, "migManager", context.mig_parted_manifest, mig_configs))
        found.extend(_component(policy, "devicePlugin", plugin_map, plugin_keys))
    return found


def _component(
    policy: Manifest, component: str, configmap: Manifest | None, known: set[str] | None
) -> list[Diagnostic]:
    spec = policy.obj.get("spec")
    part = spec.get(component) if isinstance(spec, dict) else None
    config = part.get("config") if isinstance(part, dict) else None
    if not isinstance(config, dict):
        return []
    base = f"/spec/{component}/config"
    name, default = config.get("name"), config.get("default")
    if configmap is None:
        if isinstance(name, str):
            return [
                _diag(
                    policy,
                    base + "/name",
                    f"{component} config ConfigMap {name!r} is not in the repository",
                    Severity.WARNING,
                )
            ]
        return []
    if isinstance(name, str) and name != configmap.ref.name:
        return [
            _diag(
                policy,
                base + "/name",
                f"{component} config names ConfigMap {name!r}, but the repository's is "
                f"{configmap.ref.name!r} ({configmap.location})",
                Severity.ERROR,
            )
        ]
    if isinstance(default, str) and known is not None and default not in known:
        return [
            _diag(
                policy,
                base + "/default",
                f"{component} default {default!r} is not in {configmap.ref} ({', '.join(sorted(known))})",
                Severity.ERROR,
            )
        ]
    return []


def _diag(policy: Manifest, pointer: str, message: str, severity: Severity) -> Diagnostic:
    return Diagnostic(policy.position(pointer), severity, f"{policy.ref}: {message}", RULE)
