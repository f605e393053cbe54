"""A GPUNodePool's device-plugin config: the key exists in the repository's device-plugin
ConfigMap, its `flags.migStrategy` agrees with the pool's MIG strategy, and MPS is not used
where the plugin refuses it (mixed strategy, MIG-enabled GPUs, too many clients for the
GPU's compute capability)."""

from __future__ import annotations

from reconciler.validation.context import Context
from reconciler.validation.deviceplugin import MPS_MAX_REPLICAS_BEFORE_7_5
from schemas.advertised import pool_layouts
from schemas.catalogue import catalogue
from schemas.desired import Manifest
from schemas.diagnostics import Diagnostic, Severity
from schemas.kinds import GPUNodePool

RULE_PLUGIN_KEY = "device-plugin-config-unknown"
RULE_STRATEGY_MISMATCH = "mig-strategy-mismatch"
RULE_MPS_MIG = "device-plugin-mps-mig"
RULE_MPS_MIXED = "device-plugin-mps-mixed"
RULE_MPS_REPLICAS = "device-plugin-mps-replicas"


def _at(manifest: Manifest, pointer: str, message: str, rule: str) -> Diagnostic:
    return Diagnostic(manifest.position(pointer), Severity.ERROR, f"{manifest.ref}: {message}", rule)


def check_pool_device_plugin(context: Context, pool: GPUNodePool, manifest: Manifest) -> list[Diagnostic]:
    if pool.spec.device_plugin is None:
        return []
    key = pool.spec.device_plugin.config
    plugin_map = context.device_plugin_manifest
    known = sorted((plugin_map.obj.get("data") or {}) if plugin_map else {})
    if key not in known:
        where = (
            f"is not a key of the device-plugin ConfigMap {plugin_map.ref} (keys: {', '.join(known)})"
            if plugin_map
            else "is referenced but the repository has no device-plugin ConfigMap"
        )
        return [
            _at(
                manifest,
                "/spec/devicePlugin/config",
                f"device-plugin config {key!r} {where}; the config manager would fail on these nodes",
                RULE_PLUGIN_KEY,
            )
        ]
    source = context.device_plugin.get(key)
    if source is None:
        return []
    config = source.config
    found: list[Diagnostic] = []
    flag_strategy = config.flags.mig_strategy if config.flags else None
    if flag_strategy is not None and flag_strategy != pool.spec.mig.strategy:
        found.append(
            _at(
                manifest,
                "/spec/devicePlugin/config",
                f"device-plugin config {key!r} sets migStrategy {flag_strategy} but the pool's "
                f"spec.mig.strategy is {pool.spec.mig.strategy}",
                RULE_STRATEGY_MISMATCH,
            )
        )
    if config.sharing_strategy != "mps":
        return found
    if pool.spec.mig.strategy == "mixed":
        found.append(
            _at(
                manifest,
                "/spec/devicePlugin/config",
                f"device-plugin config {key!r} uses MPS, which cannot run with the mixed MIG strategy",
                RULE_MPS_MIXED,
            )
        )
    mig_parted = context.mig_parted.config if context.mig_parted else None
    layouts = pool_layouts(pool, mig_parted) or []
    if any(layout is not None and layout.enabled for layout in layouts):
        found.append(
            _at(
                manifest,
                "/spec/devicePlugin/config",
                f"device-plugin config {key!r} uses MPS, which is not supported on MIG-enabled GPUs "
                f"(MIG config {pool.spec.mig.config!r})",
                RULE_MPS_MIG,
            )
        )
    capability = tuple(int(x) for x in catalogue().model(pool.spec.gpu.model).compute_capability.split("."))
    mps = config.sharing.mps if config.sharing else None
    if capability < (7, 5) and mps is not None:
        for resource in mps.resources:
            if resource.replicas > MPS_MAX_REPLICAS_BEFORE_7_5:
                found.append(
                    _at(
                        manifest,
                        "/spec/devicePlugin/config",
                        f"{pool.spec.gpu.model} (compute capability {'.'.join(map(str, capability))}) "
                        f"allows at most {MPS_MAX_REPLICAS_BEFORE_7_5} MPS clients; config {key!r} "
                        f"asks for {resource.replicas}",
                        RULE_MPS_REPLICAS,
                    )
                )
    return found
