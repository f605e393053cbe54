"""Kueue ResourceFlavors that target GPU nodes (an `nvidia.com/*` key in `nodeLabels`) must
match the labels some GPUNodePool's nodes will carry: the pool's selector labels and own
labels, the GPU Operator input labels gpuctl sets, and the `nvidia.com/gpu.product` label GPU
Feature Discovery writes (with its `-MIG-<profile>` suffix under the single strategy and
`-SHARED` when shared without renaming). Otherwise Kueue admits workloads to a flavor whose
pods can land on no node (warning: product labels of some catalogue models are unverified).
"""

from __future__ import annotations

from reconciler.validation.context import Context
from schemas.advertised import pool_layouts
from schemas.catalogue import catalogue
from schemas.deviceplugin import DevicePluginConfig
from schemas.diagnostics import Diagnostic, Severity
from schemas.kinds import GPUNodePool
from schemas.migconfig import MigPartedConfig
from schemas.nodelabels import pool_labels

RULE = "kueue-flavor-matches-no-pool"
PRODUCT_LABEL = "nvidia.com/gpu.product"


def product_label(
    pool: GPUNodePool, mig_parted: MigPartedConfig | None, plugin: dict[str, DevicePluginConfig]
) -> str | None:
    """The `nvidia.com/gpu.product` value GFD will write on the pool's nodes."""
    if not catalogue().has_model(pool.spec.gpu.model):
        return None
    label = catalogue().model(pool.spec.gpu.model).product_label
    if pool.spec.mig.strategy == "single":
        layouts = pool_layouts(pool, mig_parted) or []
        profiles = {
            p for layout in layouts if layout and layout.enabled for p, n in layout.devices.items() if n
        }
        if len(profiles) == 1:
            label += f"-MIG-{profiles.pop()}"
    config = plugin.get(pool.spec.device_plugin.config) if pool.spec.device_plugin else None
    active = config.sharing.active if config and config.sharing else None
    if active is not None and not active.rename_by_default:
        label += "-SHARED"
    return label


def node_labels(
    pool: GPUNodePool, mig_parted: MigPartedConfig | None, plugin: dict[str, DevicePluginConfig]
) -> dict[str, str]:
    """Labels every node of the pool will carry (selected by, set by gpuctl, or set by GFD)."""
    labels = {**pool.spec.node_selector.match_labels, **pool_labels(pool)}
    product = product_label(pool, mig_parted, plugin)
    if product is not None:
        labels[PRODUCT_LABEL] = product
    return labels


def check_flavors(context: Context) -> list[Diagnostic]:
    pools = context.state.pools
    if not pools:
        return []
    mig = context.mig_parted.config if context.mig_parted else None
    plugin = {key: source.config for key, source in context.device_plugin.items()}
    label_sets = [node_labels(pool, mig, plugin) for pool in pools]
    found: list[Diagnostic] = []
    for flavor in context.kind("ResourceFlavor", "kueue.x-k8s.io"):
        spec = flavor.obj.get("spec")
        wanted = spec.get("nodeLabels") if isinstance(spec, dict) else None
        if not isinstance(wanted, dict) or not any(str(k).startswith("nvidia.com/") for k in wanted):
            continue
        if any(all(labels.get(k) == str(v) for k, v in wanted.items()) for labels in label_sets):
            continue
        products = sorted({labels[PRODUCT_LABEL] for labels in label_sets if PRODUCT_LABEL in labels})
        found.append(
            Diagnostic(
                flavor.position("/spec/nodeLabels"),
                Severity.WARNING,
                f"{flavor.ref}: no GPUNodePool's nodes carry all of {wanted}; workloads admitted to this "
                f"flavor could not be scheduled (pool products: {', '.join(products)})",
                RULE,
            )
        )
    return found
