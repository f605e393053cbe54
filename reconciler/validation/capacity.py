"""Cross-checks between GPU quotas/workloads and what the pools advertise: a quota, a
WorkloadProfile class or a container (in any pod template) naming an `nvidia.com/*` resource
that no pool advertises under its MIG strategy and sharing config can never be used
(warning); workload classes name catalogue models only (error).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from reconciler.validation.context import Context
from reconciler.yamldocs import escape_pointer_token
from schemas.advertised import node_resources
from schemas.catalogue import catalogue
from schemas.diagnostics import Diagnostic, Severity

RULE_QUOTA = "quota-resource-not-advertised"
RULE_WORKLOAD = "workload-resource-not-advertised"
RULE_WORKLOAD_MODEL = "workload-gpu-model-unknown"
_QUOTA_PREFIXES = ("requests.", "limits.")
_CONTAINER_LISTS = ("containers", "initContainers")


def advertised(context: Context) -> set[str]:
    mig = context.mig_parted.config if context.mig_parted else None
    plugin = {key: source.config for key, source in context.device_plugin.items()}
    names: set[str] = set()
    for pool in context.state.pools:
        if catalogue().has_model(pool.spec.gpu.model):
            names.update(node_resources(pool, mig, plugin))
    return names


def _configs_broken(context: Context) -> bool:
    """True when a GPU Operator config the pools rely on failed to parse: what pools advertise
    is then unknown, and the parse errors already say what to fix."""
    if context.mig_parted_manifest is not None and context.mig_parted is None:
        return True
    keys = {p.spec.device_plugin.config for p in context.state.pools if p.spec.device_plugin}
    plugin_map = context.device_plugin_manifest
    written = set(plugin_map.obj.get("data") or {}) if plugin_map else set()
    return any(key in written and key not in context.device_plugin for key in keys)


def check_capacity(context: Context) -> list[Diagnostic]:
    if not context.state.pools or _configs_broken(context):
        return []
    names = advertised(context)
    summary = ", ".join(sorted(names)) or "nothing"
    found: list[Diagnostic] = []
    for manifest in context.kind("ResourceQuota", ""):
        hard = (manifest.obj.get("spec") or {}).get("hard") or {}
        for key in hard if isinstance(hard, dict) else {}:
            resource = next((key[len(p) :] for p in _QUOTA_PREFIXES if key.startswith(p)), key)
            if resource.startswith("nvidia.com/") and resource not in names:
                found.append(
                    Diagnostic(
                        manifest.position(f"/spec/hard/{escape_pointer_token(key)}"),
                        Severity.WARNING,
                        f"{manifest.ref}: no GPUNodePool advertises {resource} (pools advertise {summary})",
                        RULE_QUOTA,
                    )
                )
    for manifest in context.kind("ClusterQueue", "kueue.x-k8s.io"):
        for pointer, resource in _covered_resources(manifest.obj):
            if resource.startswith("nvidia.com/") and resource not in names:
                found.append(
                    Diagnostic(
                        manifest.position(pointer),
                        Severity.WARNING,
                        f"{manifest.ref}: no GPUNodePool advertises {resource} (pools advertise {summary})",
                        RULE_QUOTA,
                    )
                )
    found.extend(_workloads(context, names, summary))
    found.extend(_pod_templates(context, names, summary))
    return found


def _covered_resources(obj: dict[str, Any]) -> Iterator[tuple[str, str]]:
    """(JSON pointer, name) of every string in a ClusterQueue's resourceGroups[].coveredResources."""
    spec = obj.get("spec")
    groups = spec.get("resourceGroups") if isinstance(spec, dict) else None
    for g_index, group in enumerate(groups if isinstance(groups, list) else []):
        covered = group.get("coveredResources") if isinstance(group, dict) else None
        for r_index, resource in enumerate(covered if isinstance(covered, list) else []):
            if isinstance(resource, str):
                yield f"/spec/resourceGroups/{g_index}/coveredResources/{r_index}", resource


def gpu_requests(obj: Any, pointer: str = "") -> Iterator[tuple[str, str]]:
    """(JSON pointer, resource) of every `nvidia.com/*` request or limit of every container
    anywhere in `obj` (pod templates of Deployments, Jobs, RayClusters, PyTorchJobs, ...)."""
    if isinstance(obj, list):
        for index, item in enumerate(obj):
            yield from gpu_requests(item, f"{pointer}/{index}")
        return
    if not isinstance(obj, dict):
        return
    for key, value in obj.items():
        here = f"{pointer}/{escape_pointer_token(key)}"
        if key in _CONTAINER_LISTS and isinstance(value, list):
            for index, container in enumerate(value):
                resources = container.get("resources") if isinstance(container, dict) else None
                seen: set[str] = set()  # a resource in both limits and requests counts once
                for part in ("limits", "requests"):
                    amounts = resources.get(part) if isinstance(resources, dict) else None
                    for resource in amounts if isinstance(amounts, dict) else {}:
                        name = str(resource)
                        if name.startswith("nvidia.com/") and name not in seen:
                            seen.add(name)
                            yield f"{here}/{index}/resources/{part}/{escape_pointer_token(name)}", name
        else:
            yield from gpu_requests(value, here)


def _pod_templates(context: Context, names: set[str], summary: str) -> list[Diagnostic]:
    found: list[Diagnostic] = []
    for manifest in context.state.manifests:
        if manifest.ref.group == "gpuctl.dev":
            continue
        for pointer, resource in gpu_requests(manifest.obj):
            if resource not in names:
                found.append(
                    Diagnostic(
                        manifest.position(pointer),
                        Severity.WARNING,
                        f"{manifest.ref}: a container asks for {resource}, which no GPUNodePool advertises "
                        f"(pools advertise {summary}); its pods would stay Pending",
                        RULE_WORKLOAD,
                    )
                )
    return found


def _workloads(context: Context, names: set[str], summary: str) -> list[Diagnostic]:
    found: list[Diagnostic] = []
    for profile in context.state.workloads:
        manifest = context.manifest_of(
            "WorkloadProfile", profile.metadata.name, profile.metadata.namespace or ""
        )
        if manifest is None:
            continue
        for index, job in enumerate(profile.spec.classes):
            base = f"/spec/classes/{index}"
            resource = job.request.resource
            if resource is not None and resource not in names:
                found.append(
                    Diagnostic(
                        manifest.position(base + "/request/resource"),
                        Severity.WARNING,
                        f"{manifest.ref}: class {job.name} requests {resource}, "
                        "which no GPUNodePool advertises "
                        f"(pools advertise {summary})",
                        RULE_WORKLOAD,
                    )
                )
            for m_index, model in enumerate(job.gpu_models):
                if not catalogue().has_model(model):
                    found.append(
                        Diagnostic(
                            manifest.position(f"{base}/gpuModels/{m_index}"),
                            Severity.ERROR,
                            f"{manifest.ref}: class {job.name} names unknown GPU model {model!r}",
                            RULE_WORKLOAD_MODEL,
                        )
                    )
    return found
