"""A fresh real control plane prepared as deploy/ expects it: the operators' CRDs installed,
deploy/base's Namespace, ServiceAccount and RBAC applied by an admin, the GPU Operator's
namespace present, one Node per GPU pool already at its MIG layout; and a kubeconfig for
deploy/'s ServiceAccount `gpuctl-system/gpuctl` (a TokenRequest token)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import yaml
from kubernetes import client as k8s
from kubernetes import config

from reconciler.cluster.client import KubeClusterClient
from reconciler.rollout.targets import MIG_CONFIG_STATE, target_for
from sandbox.api.crds import preinstalled
from sandbox.controlplane import ControlPlane
from schemas.kinds import GPUNodePool
from tests.capture.sandbox_pods import WORKLOAD_CRD

ROOT = Path(__file__).resolve().parents[2]
BASE = ROOT / "deploy" / "base"
NAMESPACE = "gpuctl-system"
SERVICE_ACCOUNT = "gpuctl"
RBAC_FILES = ("namespace.yaml", "serviceaccount.yaml", "rbac-cluster.yaml", "rbac-namespace.yaml")


def deploy_rbac_objects() -> list[dict[str, Any]]:
    """deploy/base's Namespace, ServiceAccount, ClusterRoles, Role and bindings, as kustomize
    renders them (namespaced objects in gpuctl-system)."""
    objects = []
    for name in RBAC_FILES:
        for doc in yaml.safe_load_all((BASE / name).read_text()):
            if doc and doc["kind"] in ("ServiceAccount", "Role", "RoleBinding"):
                doc["metadata"]["namespace"] = NAMESPACE
            if doc:
                objects.append(doc)
    return objects


def pool_node(pool: GPUNodePool) -> dict[str, Any]:
    """A Node the pool selects, already carrying the pool's disruptive labels (no rollout due)."""
    labels = {**pool.spec.node_selector.match_labels, **target_for(pool).disruptive}
    labels[MIG_CONFIG_STATE] = "success"
    metadata = {"name": f"{pool.metadata.name}-0", "labels": labels}
    return {"apiVersion": "v1", "kind": "Node", "metadata": metadata}


def _wait(probe: Any, what: str, timeout_s: float = 30.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not probe():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.1)


def prepare(plane: ControlPlane, pools: list[GPUNodePool], workdir: Path) -> Path:
    """Set the cluster up as an admin; the ServiceAccount's kubeconfig."""
    api = config.new_client_from_config(str(plane.kubeconfig))
    admin = KubeClusterClient(api)
    try:
        for crd in [*preinstalled(), WORKLOAD_CRD]:
            admin.apply(crd)
        for obj in deploy_rbac_objects():
            admin.apply(obj)
        admin.apply({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "gpu-operator"}})
        for pool in pools:
            admin.apply(pool_node(pool))
        _wait(lambda: (admin.get("rbac.authorization.k8s.io/v1", "ClusterRole", "gpuctl") or {}).get("rules"),
              "the aggregated ClusterRole's rules")
        _wait(lambda: all(admin.has_kind(c["spec"]["group"] + "/" + c["spec"]["versions"][-1]["name"],
                                         c["spec"]["names"]["kind"]) for c in preinstalled()), "the CRDs")
        core = k8s.CoreV1Api(api)
        _wait(lambda: core.list_namespaced_service_account(NAMESPACE).items, "the ServiceAccount")
        request = {"spec": {"expirationSeconds": 3600}}
        token = core.create_namespaced_service_account_token(SERVICE_ACCOUNT, NAMESPACE, request).status.token
    finally:
        admin.close()
        api.close()
    kubeconfig = workdir / "gpuctl-sa.kubeconfig"
    kubeconfig.write_text(yaml.safe_dump({
        "apiVersion": "v1", "kind": "Config", "current-context": "gpuctl",
        "clusters": [{"name": "real",
                      "cluster": {"server": plane.url, "certificate-authority": str(plane.ca_file)}}],
        "users": [{"name": "gpuctl", "user": {"token": token}}],
        "contexts": [{"name": "gpuctl", "context": {"cluster": "real", "user": "gpuctl"}}],
    }))
    return kubeconfig
