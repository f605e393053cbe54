"""Rules for the MIG manager's mig-parted ConfigMap (a ConfigMap whose `config.yaml` holds
`mig-configs`, or the one a ClusterPolicy names under `spec.migManager.config.name`).

mig-parted parses strictly (version v1, required `devices` and `mig-enabled`, unknown keys
rejected); those rules run here on the config alone. Whether a layout fits a pool's GPU is
checked per pool in `reconciler.validation.pools`.
"""

from __future__ import annotations

from reconciler.validation.context import Context, Embedded, MigPartedSource, parse_embedded
from reconciler.validation.pydantic_errors import validate_or_report
from schemas.desired import Manifest
from schemas.diagnostics import Diagnostic, Severity
from schemas.migconfig import MigPartedConfig

RULE_SCHEMA = "mig-parted-schema"
RULE_DUPLICATE = "gpu-operator-config-duplicate"
CONFIG_KEY = "config.yaml"


def cluster_policy_config_name(context: Context, component: str) -> str | None:
    """`spec.<component>.config.name` of the repository's ClusterPolicy, if any."""
    for policy in context.kind("ClusterPolicy", "nvidia.com"):
        spec = policy.obj.get("spec") or {}
        part = spec.get(component) if isinstance(spec, dict) else None
        config = part.get("config") if isinstance(part, dict) else None
        name = config.get("name") if isinstance(config, dict) else None
        if isinstance(name, str):
            return name
    return None


def is_mig_parted_configmap(manifest: Manifest, named: str | None) -> bool:
    data = manifest.obj.get("data")
    if not isinstance(data, dict):
        return False
    if named is not None and manifest.ref.name == named:
        return True
    value = data.get(CONFIG_KEY)
    return isinstance(value, str) and "mig-configs" in value


def check_mig_parted(context: Context) -> list[Diagnostic]:
    """Find and strictly parse the mig-parted config; sets `context.mig_parted` when valid."""
    found: list[Diagnostic] = []
    named = cluster_policy_config_name(context, "migManager")
    candidates = [m for m in context.kind("ConfigMap", "") if is_mig_parted_configmap(m, named)]
    if not candidates:
        return found
    first, *others = candidates
    context.mig_parted_manifest = first
    for other in others:
        found.append(
            Diagnostic(
                other.location,
                Severity.ERROR,
                f"{other.ref} is a second mig-parted ConfigMap; "
                f"{first.ref} at {first.location} is the first. "
                "The MIG manager reads exactly one",
                RULE_DUPLICATE,
            )
        )
    if CONFIG_KEY not in (first.obj.get("data") or {}):
        found.append(
            Diagnostic(
                first.position("/data"),
                Severity.ERROR,
                f"{first.ref} needs a key named {CONFIG_KEY} (the MIG manager reads only that key)",
                RULE_SCHEMA,
            )
        )
        return found
    embedded = parse_embedded(first, CONFIG_KEY, context.state.settings.limits, found)
    if embedded is None:
        return found
    config = _strict_parse(embedded, found)
    if config is not None:
        context.mig_parted = MigPartedSource(config, embedded)
    return found


def _strict_parse(embedded: Embedded, sink: list[Diagnostic]) -> MigPartedConfig | None:
    return validate_or_report(
        MigPartedConfig,
        embedded.document.data,
        embedded.position,
        RULE_SCHEMA,
        sink,
        subject=f"mig-parted config in {embedded.manifest.ref}",
    )
