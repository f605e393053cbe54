"""Rules for the NVIDIA device-plugin ConfigMap (each key one config; a node picks its key
with the `nvidia.com/device-plugin.config` label).

Stricter than the plugin, which parses with non-strict YAML: unknown keys (a per-resource
`selector`, `renameByDefault` under `flags`) are errors here because the plugin silently
ignores them; a custom `rename` is an error (ignored by the plugin); `devices` other than
`all` is a warning (forced to all); `replicas` < 2 is an error (the plugin refuses it); MPS
with the mixed strategy or on MIG resources, and more than 48 MPS replicas, are errors.
Pool-dependent checks (MPS on a MIG pool, strategy mismatch) live in `pools`.
"""

from __future__ import annotations

import re

from reconciler.validation.context import Context, DevicePluginSource, Embedded, data_pointer, parse_embedded
from reconciler.validation.migparted import cluster_policy_config_name, is_mig_parted_configmap
from reconciler.validation.pydantic_errors import validate_or_report
from schemas.desired import Manifest
from schemas.deviceplugin import DevicePluginConfig
from schemas.diagnostics import Diagnostic, Severity

RULE_SCHEMA = "device-plugin-schema"
RULE_UNKNOWN_KEY = "device-plugin-unknown-key"
RULE_RENAME = "device-plugin-rename"
RULE_DEVICES = "device-plugin-devices"
RULE_REPLICAS = "device-plugin-replicas"
RULE_MPS_MIXED = "device-plugin-mps-mixed"
RULE_MPS_MIG = "device-plugin-mps-mig"
RULE_MPS_REPLICAS = "device-plugin-mps-replicas"
RULE_SHARING_CONFLICT = "device-plugin-sharing-conflict"
RULE_IGNORED = "device-plugin-ignored-field"
RULE_DUPLICATE = "gpu-operator-config-duplicate"

MPS_MAX_REPLICAS = 48
MPS_MAX_REPLICAS_BEFORE_7_5 = 16
_LOOKS_LIKE_CONFIG = re.compile(r"^(version|flags|sharing):", re.MULTILINE)
_SHARED_RESOURCE = re.compile(r"^nvidia\.com/(gpu|mig-\d+g\.\d+gb(\.me)?)$")


def is_device_plugin_configmap(manifest: Manifest, named: str | None) -> bool:
    data = manifest.obj.get("data")
    if not isinstance(data, dict) or not data:
        return False
    if named is not None and manifest.ref.name == named:
        return True
    return any(isinstance(v, str) and re.search(r"^(sharing|flags):", v, re.MULTILINE) for v in data.values())


def check_device_plugin(context: Context) -> list[Diagnostic]:
    """Find the device-plugin ConfigMap, parse every key; fills `context.device_plugin`."""
    found: list[Diagnostic] = []
    named = cluster_policy_config_name(context, "devicePlugin")
    mig_named = cluster_policy_config_name(context, "migManager")
    candidates = [
        m
        for m in context.kind("ConfigMap", "")
        if not is_mig_parted_configmap(m, mig_named) and is_device_plugin_configmap(m, named)
    ]
    if not candidates:
        return found
    first, *others = candidates
    context.device_plugin_manifest = first
    for other in others:
        found.append(
            Diagnostic(
                other.location,
                Severity.ERROR,
                f"{other.ref} is a second device-plugin ConfigMap; "
                f"{first.ref} at {first.location} is the first. "
                "The GPU Operator mounts one; put every config under its own key there",
                RULE_DUPLICATE,
            )
        )
    for key, value in sorted((first.obj.get("data") or {}).items()):
        if not isinstance(value, str) or not _LOOKS_LIKE_CONFIG.search(value):
            found.append(
                Diagnostic(
                    first.position(data_pointer(key)),
                    Severity.ERROR,
                    f"{first.ref} data[{key}] is not a device-plugin config (expected version/flags/sharing)",
                    RULE_SCHEMA,
                )
            )
            continue
        embedded = parse_embedded(first, key, context.state.settings.limits, found)
        if embedded is None:
            continue
        config = _strict_parse(embedded, found)
        if config is not None:
            context.device_plugin[key] = DevicePluginSource(config, embedded)
            found.extend(_semantic_rules(config, embedded))
    return found


def _unknown_hint(dotted: str) -> str:
    if dotted.endswith(".selector"):
        return (
            " — the device plugin silently ignores it; target nodes with the "
            "nvidia.com/device-plugin.config label and one ConfigMap key per node group"
        )
    if dotted.endswith("flags.renameByDefault"):
        return " — the plugin ignores it here; it belongs under sharing.timeSlicing (or sharing.mps)"
    return " — the device plugin would silently ignore it"


def _strict_parse(embedded: Embedded, sink: list[Diagnostic]) -> DevicePluginConfig | None:
    return validate_or_report(
        DevicePluginConfig,
        embedded.document.data,
        embedded.position,
        RULE_SCHEMA,
        sink,
        subject=f"device-plugin config {embedded.manifest.ref.name}[{embedded.key}]",
        rule_for_unknown=RULE_UNKNOWN_KEY,
        unknown_hint=_unknown_hint,
    )


def _semantic_rules(config: DevicePluginConfig, embedded: Embedded) -> list[Diagnostic]:
    found: list[Diagnostic] = []
    subject = f"device-plugin config {embedded.manifest.ref.name}[{embedded.key}]"

    def add(pointer: str, severity: Severity, message: str, rule: str) -> None:
        found.append(Diagnostic(embedded.position(pointer), severity, f"{subject}: {message}", rule))

    if config.resources is not None:
        add(
            "/resources",
            Severity.WARNING,
            "`resources` is ignored by the device plugin (resource naming is not yet supported)",
            RULE_IGNORED,
        )
    sharing = config.sharing
    if sharing is None:
        return found
    if sharing.time_slicing is not None and sharing.mps is not None:
        add(
            "/sharing/mps",
            Severity.WARNING,
            "both timeSlicing and mps are set; the plugin uses MPS and ignores timeSlicing",
            RULE_SHARING_CONFLICT,
        )
    strategy = config.flags.mig_strategy if config.flags else None
    if sharing.mps is not None and strategy == "mixed":
        add(
            "/sharing/mps",
            Severity.ERROR,
            "MPS cannot be combined with migStrategy mixed (the plugin refuses to start)",
            RULE_MPS_MIXED,
        )
    for block_name, block in (("timeSlicing", sharing.time_slicing), ("mps", sharing.mps)):
        if block is None:
            continue
        for index, resource in enumerate(block.resources):
            base = f"/sharing/{block_name}/resources/{index}"
            if not _SHARED_RESOURCE.match(resource.name):
                add(
                    base + "/name",
                    Severity.ERROR,
                    f"{resource.name!r} is not a shareable resource "
                    "(nvidia.com/gpu or nvidia.com/mig-<profile>)",
                    RULE_SCHEMA,
                )
            if resource.rename is not None and resource.rename != resource.name + ".shared":
                add(
                    base + "/rename",
                    Severity.ERROR,
                    f"rename {resource.rename!r} is ignored by the device plugin; only renameByDefault: true "
                    f"(advertising {resource.name}.shared) works",
                    RULE_RENAME,
                )
            if resource.devices is not None and resource.devices != "all":
                add(
                    base + "/devices",
                    Severity.WARNING,
                    "the device plugin forces devices to all; a node cannot share only some of its GPUs",
                    RULE_DEVICES,
                )
            if resource.replicas < 2:
                add(
                    base + "/replicas",
                    Severity.ERROR,
                    f"replicas must be at least 2 (got {resource.replicas}); to turn sharing off, remove "
                    "the sharing block",
                    RULE_REPLICAS,
                )
            if block_name == "mps" and resource.replicas > MPS_MAX_REPLICAS:
                add(
                    base + "/replicas",
                    Severity.ERROR,
                    f"MPS allows at most {MPS_MAX_REPLICAS} clients per GPU (got {resource.replicas})",
                    RULE_MPS_REPLICAS,
                )
            if block_name == "mps" and resource.name.startswith("nvidia.com/mig-"):
                add(
                    base + "/name",
                    Severity.ERROR,
                    "MPS is not supported on MIG devices; share only nvidia.com/gpu on full GPUs",
                    RULE_MPS_MIG,
                )
    return found
