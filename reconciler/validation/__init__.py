"""Semantic validation of a loaded repository: one module per rule family, each rule with a
stable id (`mig-layout-fit`, `device-plugin-unknown-key`, ...).

Called by `reconciler.source.loader` on the draft state; returns every finding at once plus
the GPU Operator configs it parsed and which ConfigMaps hold them (the loader puts both into
`DesiredState`, so that rendering need not look for them again). The order
matters only in that the GPU Operator configs are parsed before the pool rules read them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from reconciler.validation.capacity import check_capacity
from reconciler.validation.clusterpolicy import check_cluster_policy
from reconciler.validation.context import Context
from reconciler.validation.crds import check_crds
from reconciler.validation.custom_resources import check_custom_resources
from reconciler.validation.deviceplugin import check_device_plugin
from reconciler.validation.flavors import check_flavors
from reconciler.validation.identity import check_identity
from reconciler.validation.kubernetes_schema import check_kubernetes_schemas
from reconciler.validation.kueue import check_kueue
from reconciler.validation.migparted import check_mig_parted
from reconciler.validation.names import check_names
from reconciler.validation.operator_configs import gpu_operator_configmaps
from reconciler.validation.pools import check_pools
from reconciler.validation.secrets import check_secrets
from schemas.desired import DesiredState
from schemas.deviceplugin import DevicePluginConfig
from schemas.diagnostics import Diagnostic
from schemas.migconfig import MigPartedConfig
from schemas.refs import ObjectRef

Rule = Callable[[Context], list[Diagnostic]]

RULE_FAMILIES: tuple[Rule, ...] = (
    check_identity,
    check_names,
    check_kubernetes_schemas,
    check_custom_resources,
    check_crds,
    check_kueue,
    check_secrets,
    check_mig_parted,
    check_device_plugin,
    check_cluster_policy,
    check_pools,
    check_capacity,
    check_flavors,
)


@dataclass
class ValidationOutcome:
    diagnostics: list[Diagnostic] = field(default_factory=list)
    mig_parted: MigPartedConfig | None = None
    device_plugin: dict[str, DevicePluginConfig] = field(default_factory=dict)
    gpu_operator_configs: set[ObjectRef] = field(default_factory=set)


def validate_state(state: DesiredState) -> ValidationOutcome:
    """Run every rule family over a draft state."""
    context = Context.of(state)
    outcome = ValidationOutcome()
    for family in RULE_FAMILIES:
        outcome.diagnostics.extend(family(context))
    outcome.mig_parted = context.mig_parted.config if context.mig_parted else None
    outcome.device_plugin = {key: source.config for key, source in context.device_plugin.items()}
    outcome.gpu_operator_configs = gpu_operator_configmaps(context)
    return outcome
