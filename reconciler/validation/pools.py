"""Rules for GPUNodePools: the GPU model and MIG config resolve, the MIG geometry of every
GPU fits its model (exact placement solver), the MIG strategy agrees with the layout, and no
two pools select the same nodes (`selectors`). The pool's device-plugin config is checked
in `pool_device_plugin`.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable

from reconciler.validation.context import Context
from reconciler.validation.pool_device_plugin import check_pool_device_plugin
from reconciler.validation.selectors import check_pool_selectors
from schemas.catalogue import catalogue
from schemas.desired import Manifest
from schemas.diagnostics import Diagnostic, Severity, SourceLocation
from schemas.kinds import GPUNodePool
from schemas.migconfig import MigLayout, builtin_layout, builtin_names, matching_entries
from schemas.placement import fit_profiles

RULE_MODEL = "pool-gpu-model-unknown"
RULE_MIG_CONFIG = "mig-config-unknown"
RULE_MIG_CAPABLE = "mig-not-capable"
RULE_PROFILE = "mig-profile-unknown"
RULE_COUNT = "mig-profile-count"
RULE_FIT = "mig-layout-fit"
RULE_NO_MATCH = "mig-config-no-match"
RULE_SINGLE = "mig-single-strategy"
RULE_NONE_WITH_MIG = "mig-strategy-none-with-mig"


def check_pools(context: Context) -> list[Diagnostic]:
    found: list[Diagnostic] = []
    for pool in context.state.pools:
        manifest = context.manifest_of("GPUNodePool", pool.metadata.name, pool.metadata.namespace or "")
        if manifest is None:
            continue
        if not catalogue().has_model(pool.spec.gpu.model):
            close = difflib.get_close_matches(pool.spec.gpu.model, catalogue().model_names, n=3)
            hint = f"; did you mean {', '.join(close)}?" if close else ""
            found.append(
                _at(
                    manifest,
                    "/spec/gpu/model",
                    f"unknown GPU model {pool.spec.gpu.model!r}{hint}",
                    RULE_MODEL,
                )
            )
            continue
        found.extend(_check_mig(context, pool, manifest))
        found.extend(check_pool_device_plugin(context, pool, manifest))
    found.extend(check_pool_selectors(context))
    found.extend(_check_unused_configs(context))
    # Two pools sharing one mig-parted entry report the same finding once.
    return list(dict.fromkeys(found))


def _check_unused_configs(context: Context) -> list[Diagnostic]:
    """Configs no pool uses yet are still checked, against every catalogue model whose PCI
    device ID their entries' device-filter names (a node may ask for them by label)."""
    source = context.mig_parted
    if source is None:
        return []
    used = {pool.spec.mig.config for pool in context.state.pools}
    found: list[Diagnostic] = []
    for name, entries in source.config.mig_configs.items():
        if name in used:
            continue
        for position, entry in enumerate(entries):
            models = sorted({m for f in entry.filters for m in catalogue().model_for_device_id(f)})
            layout = MigLayout(entry.mig_enabled, dict(entry.mig_devices or {}))
            # One finding per place and rule, naming every model of the filter it fails on.
            by_place: dict[tuple[SourceLocation, str], list[tuple[str, Diagnostic]]] = {}
            for model in models:
                if not catalogue().is_mig_capable(model):
                    continue
                subject = f"MIG config {name!r} on {model} (matched by its device-filter)"
                base = f"/mig-configs/{name}/{position}"
                for finding in _check_geometry(source.embedded.position, base, layout, model, subject):
                    by_place.setdefault((finding.location, finding.rule), []).append((model, finding))
            for (location, rule), group in by_place.items():
                first = group[0][1]
                also = [model for model, _ in group[1:]]
                suffix = f" (also fails on {', '.join(also)})" if also else ""
                found.append(Diagnostic(location, first.severity, first.message + suffix, rule))
    return found


def _at(
    manifest: Manifest, pointer: str, message: str, rule: str, severity: Severity = Severity.ERROR
) -> Diagnostic:
    return Diagnostic(manifest.position(pointer), severity, f"{manifest.ref}: {message}", rule)


def _check_mig(context: Context, pool: GPUNodePool, manifest: Manifest) -> list[Diagnostic]:
    model = pool.spec.gpu.model
    mig = pool.spec.mig
    if not catalogue().is_mig_capable(model):
        found = []
        if mig.config != "all-disabled":
            found.append(
                _at(
                    manifest,
                    "/spec/mig/config",
                    f"{model} does not support MIG; use all-disabled (or leave mig out)",
                    RULE_MIG_CAPABLE,
                )
            )
        if mig.strategy != "none":
            found.append(
                _at(
                    manifest,
                    "/spec/mig/strategy",
                    f"{model} does not support MIG; the strategy must be none",
                    RULE_MIG_CAPABLE,
                )
            )
        return found
    source = context.mig_parted
    if context.mig_parted_manifest is not None and source is None:
        return []  # the repository's ConfigMap is broken; that is reported already
    if source is not None:
        # With a custom ConfigMap the MIG manager reads only it: built-ins are not there.
        if mig.config not in source.config.mig_configs:
            return [
                _at(
                    manifest,
                    "/spec/mig/config",
                    f"MIG config {mig.config!r} is not in the repository's mig-parted ConfigMap "
                    f"{source.embedded.manifest.ref} ({', '.join(sorted(source.config.mig_configs))}); "
                    "with a custom ConfigMap the MIG manager knows only its configs",
                    RULE_MIG_CONFIG,
                )
            ]
        layouts, found = _repo_layouts(context, pool, manifest)
    elif mig.config in builtin_names(model):
        layouts, found = [builtin_layout(mig.config, model)] * pool.spec.gpu.per_node, []
    else:
        return [
            _at(
                manifest,
                "/spec/mig/config",
                f"MIG config {mig.config!r} is not a built-in of {model} ({', '.join(builtin_names(model))}) "
                "and the repository has no mig-parted ConfigMap",
                RULE_MIG_CONFIG,
            )
        ]
    return found + _check_strategy(pool, manifest, layouts)


def _repo_layouts(
    context: Context, pool: GPUNodePool, manifest: Manifest
) -> tuple[list[MigLayout | None], list[Diagnostic]]:
    assert context.mig_parted is not None
    source = context.mig_parted
    name, model = pool.spec.mig.config, pool.spec.gpu.model
    entries = source.config.mig_configs[name]
    positions = matching_entries(entries, model, pool.spec.gpu.per_node)
    found: list[Diagnostic] = []
    layouts: list[MigLayout | None] = []
    if all(p is None for p in positions):
        found.append(
            _at(
                manifest,
                "/spec/mig/config",
                f"no entry of MIG config {name!r} matches a {model} GPU (device-filter/devices); "
                "the MIG manager would leave these GPUs as they are",
                RULE_NO_MATCH,
                Severity.WARNING,
            )
        )
    for position in positions:
        if position is None:
            layouts.append(None)
            continue
        entry = entries[position]
        layout = MigLayout(entry.mig_enabled, dict(entry.mig_devices or {}))
        layouts.append(layout)
        base = f"/mig-configs/{name}/{position}"
        subject = f"MIG config {name!r} on {model} (GPUNodePool {pool.metadata.name})"
        found.extend(_check_geometry(source.embedded.position, base, layout, model, subject))
    return layouts, found


def _check_geometry(
    position: Callable[[str], SourceLocation], base: str, layout: MigLayout, model: str, subject: str
) -> list[Diagnostic]:
    """Each profile exists on the model, counts within max, and the whole set fits one GPU."""
    profiles = catalogue().profiles(model)
    found: list[Diagnostic] = []
    if not layout.enabled:
        return found
    for profile, count in sorted(layout.devices.items()):
        where: SourceLocation = position(f"{base}/mig-devices/{profile}")
        gi_name = profile.split("c.", 1)[1] if "c." in profile else profile
        spec = profiles.get(gi_name)
        if spec is None:
            close = difflib.get_close_matches(gi_name, list(profiles), n=3)
            found.append(
                Diagnostic(
                    where,
                    Severity.ERROR,
                    f"{subject}: {model} has no MIG profile {profile} "
                    f"(did you mean {', '.join(close) or 'one of ' + ', '.join(profiles)}?)",
                    RULE_PROFILE,
                )
            )
        elif count > spec.max_count:
            found.append(
                Diagnostic(
                    where,
                    Severity.ERROR,
                    f"{subject}: {count} × {profile} exceeds the maximum of {spec.max_count} "
                    f"per GPU on {model}",
                    RULE_COUNT,
                )
            )
    if found:
        return found
    counts: dict[str, int] = {}
    for profile, count in layout.devices.items():
        gi_name = profile.split("c.", 1)[1] if "c." in profile else profile
        counts[gi_name] = counts.get(gi_name, 0) + count
    result = fit_profiles(model, counts)
    if not result.fits:
        found.append(
            Diagnostic(
                position(f"{base}/mig-devices"),
                Severity.ERROR,
                f"{subject}: the layout does not fit one GPU: {result.reason}",
                RULE_FIT,
            )
        )
    return found


def _check_strategy(
    pool: GPUNodePool, manifest: Manifest, layouts: list[MigLayout | None]
) -> list[Diagnostic]:
    strategy = pool.spec.mig.strategy
    enabled = [layout for layout in layouts if layout is not None and layout.enabled]
    if strategy == "single":
        kinds = {p for layout in enabled for p, n in layout.devices.items() if n}
        if len(enabled) != len(layouts) or len(kinds) != 1:
            return [
                _at(
                    manifest,
                    "/spec/mig/strategy",
                    "strategy single needs MIG enabled on every GPU with one and the same profile "
                    f"(this layout has {len(enabled)}/{len(layouts)} GPUs in MIG mode with profiles "
                    f"{', '.join(sorted(kinds)) or 'none'}); use mixed",
                    RULE_SINGLE,
                )
            ]
    if strategy == "none" and any(layout.devices for layout in enabled):
        return [
            _at(
                manifest,
                "/spec/mig/strategy",
                "MIG devices are configured but strategy none advertises none of them; use mixed or single",
                RULE_NONE_WITH_MIG,
                Severity.WARNING,
            )
        ]
    return []
