"""Key-field checks of the ML-stack custom resources gpuctl manages (gpu-object-model §6):
KubeRay `RayCluster` (ray.io/v1), Kubeflow `PyTorchJob` (kubeflow.org/v1), `TrainJob`
(trainer.kubeflow.org/v1alpha1). Kueue kinds live in `kueue`.

Their CRD schemas are not bundled, so these rules check the fields whose mistakes the
operators' webhooks or controllers would reject, not every field.
"""

from __future__ import annotations

from typing import Any

from reconciler.validation.context import Context
from schemas.desired import Manifest
from schemas.diagnostics import Diagnostic, Severity

RULE_RAY = "raycluster-spec"
RULE_PYTORCH = "pytorchjob-spec"
RULE_TRAINJOB = "trainjob-spec"
_PYTORCH_REPLICA_TYPES = ("Master", "Worker")


def _error(manifest: Manifest, pointer: str, message: str, rule: str) -> Diagnostic:
    return Diagnostic(manifest.position(pointer), Severity.ERROR, f"{manifest.ref}: {message}", rule)


def _containers(template: Any) -> list[dict[str, Any]]:
    spec = template.get("spec") if isinstance(template, dict) else None
    containers = spec.get("containers") if isinstance(spec, dict) else None
    return [c for c in containers if isinstance(c, dict)] if isinstance(containers, list) else []


def check_crds(context: Context) -> list[Diagnostic]:
    found: list[Diagnostic] = []
    for manifest in context.kind("RayCluster", "ray.io"):
        found.extend(_raycluster(manifest))
    for manifest in context.kind("PyTorchJob", "kubeflow.org"):
        found.extend(_pytorchjob(manifest))
    for manifest in context.kind("TrainJob", "trainer.kubeflow.org"):
        found.extend(_trainjob(manifest))
    return found


def _raycluster(manifest: Manifest) -> list[Diagnostic]:
    found: list[Diagnostic] = []
    if manifest.obj.get("apiVersion") != "ray.io/v1":
        found.append(_error(manifest, "/apiVersion", "KubeRay serves RayCluster as ray.io/v1", RULE_RAY))
    spec = manifest.obj.get("spec")
    if not isinstance(spec, dict):
        return [*found, _error(manifest, "", "spec is required", RULE_RAY)]
    head = spec.get("headGroupSpec")
    if not isinstance(head, dict):
        found.append(_error(manifest, "/spec", "spec.headGroupSpec is required", RULE_RAY))
    elif not _containers(head.get("template")):
        found.append(
            _error(
                manifest,
                "/spec/headGroupSpec",
                "headGroupSpec.template needs at least one container",
                RULE_RAY,
            )
        )
    groups = spec.get("workerGroupSpecs") or []
    if not isinstance(groups, list):
        return [
            *found,
            _error(manifest, "/spec/workerGroupSpecs", "workerGroupSpecs must be a list", RULE_RAY),
        ]
    names: set[str] = set()
    for index, group in enumerate(groups):
        base = f"/spec/workerGroupSpecs/{index}"
        if not isinstance(group, dict):
            found.append(_error(manifest, base, "a worker group must be a mapping", RULE_RAY))
            continue
        name = group.get("groupName")
        if not isinstance(name, str) or not name:
            found.append(_error(manifest, base, f"workerGroupSpecs[{index}].groupName is required", RULE_RAY))
        elif name in names:
            found.append(
                _error(manifest, base + "/groupName", f"worker group name {name!r} is used twice", RULE_RAY)
            )
        else:
            names.add(name)
        found.extend(_replica_bounds(manifest, base, group))
        if not _containers(group.get("template")):
            found.append(
                _error(manifest, base, f"workerGroupSpecs[{index}].template needs a container", RULE_RAY)
            )
    return found


def _replica_bounds(manifest: Manifest, base: str, group: dict[str, Any]) -> list[Diagnostic]:
    low = group.get("minReplicas")
    low = 0 if low is None else low
    high, replicas = group.get("maxReplicas"), group.get("replicas")
    numbers = [v for v in (low, high, replicas) if v is not None]
    if any(not isinstance(v, int) or isinstance(v, bool) or v < 0 for v in numbers):
        return [
            _error(
                manifest,
                base,
                "replicas, minReplicas and maxReplicas must be non-negative integers",
                RULE_RAY,
            )
        ]
    if high is not None and low > high:
        return [
            _error(
                manifest, base + "/minReplicas", f"minReplicas {low} is above maxReplicas {high}", RULE_RAY
            )
        ]
    if replicas is not None and (replicas < low or (high is not None and replicas > high)):
        return [
            _error(
                manifest,
                base + "/replicas",
                f"replicas {replicas} is outside [minReplicas {low}, maxReplicas {high}]",
                RULE_RAY,
            )
        ]
    return []


def _pytorchjob(manifest: Manifest) -> list[Diagnostic]:
    spec = manifest.obj.get("spec")
    replica_specs = spec.get("pytorchReplicaSpecs") if isinstance(spec, dict) else None
    if not isinstance(spec, dict) or not isinstance(replica_specs, dict) or not replica_specs:
        return [
            _error(
                manifest, "/spec", "spec.pytorchReplicaSpecs (Master and/or Worker) is required", RULE_PYTORCH
            )
        ]
    found: list[Diagnostic] = []
    for role, replica in replica_specs.items():
        base = f"/spec/pytorchReplicaSpecs/{role}"
        if role not in _PYTORCH_REPLICA_TYPES:
            found.append(
                _error(manifest, base, f"replica type {role!r} is not Master or Worker", RULE_PYTORCH)
            )
            continue
        if not isinstance(replica, dict):
            found.append(_error(manifest, base, f"{role} must be a mapping", RULE_PYTORCH))
            continue
        count = replica.get("replicas", 1)
        if role == "Master" and count != 1:
            found.append(
                _error(
                    manifest,
                    base + "/replicas",
                    f"Master replicas must be exactly 1, not {count}",
                    RULE_PYTORCH,
                )
            )
        if role == "Worker" and (not isinstance(count, int) or count < 1):
            found.append(
                _error(
                    manifest,
                    base + "/replicas",
                    f"Worker replicas must be at least 1, not {count}",
                    RULE_PYTORCH,
                )
            )
        containers = _containers(replica.get("template"))
        pytorch = [c for c in containers if c.get("name") == "pytorch"]
        if not pytorch or not pytorch[0].get("image"):
            found.append(
                _error(
                    manifest,
                    base + "/template",
                    f"{role} needs a container named pytorch with an image (the operator's webhook "
                    "requires it)",
                    RULE_PYTORCH,
                )
            )
    elastic = spec.get("elasticPolicy")
    if isinstance(elastic, dict):
        if "Worker" not in replica_specs:
            found.append(
                _error(
                    manifest, "/spec/elasticPolicy", "elasticPolicy needs a Worker replica spec", RULE_PYTORCH
                )
            )
        if "nProcPerNode" in elastic and "nprocPerNode" in spec:
            found.append(
                _error(
                    manifest,
                    "/spec/elasticPolicy/nProcPerNode",
                    "set nprocPerNode in spec or elasticPolicy, not both",
                    RULE_PYTORCH,
                )
            )
    return found


def _trainjob(manifest: Manifest) -> list[Diagnostic]:
    spec = manifest.obj.get("spec")
    runtime = spec.get("runtimeRef") if isinstance(spec, dict) else None
    if not isinstance(runtime, dict) or not runtime.get("name"):
        return [
            _error(manifest, "/spec", "spec.runtimeRef.name (a TrainingRuntime) is required", RULE_TRAINJOB)
        ]
    return []
