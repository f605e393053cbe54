"""A fresh real control plane prepared as deploy/ expects it (`gpuctl.realprep`: the
operators' CRDs, the GPU Operator's namespace, one Node per GPU pool at its MIG layout), with
deploy/base's Namespace, ServiceAccount and RBAC applied by an admin; and a kubeconfig for
deploy/'s ServiceAccount `gpuctl-system/gpuctl` (a TokenRequest token)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from kubernetes import client as k8s
from kubernetes import config

from gpuctl.realprep import prepare_cluster, wait_for
from reconciler.cluster.client import KubeClusterClient
from sandbox.controlplane import ControlPlane
from schemas.kinds import GPUNodePool

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


def prepare(plane: ControlPlane, pools: list[GPUNodePool], workdir: Path) -> Path:
    """Set the cluster up as an admin; the ServiceAccount's kubeconfig."""
    api = config.new_client_from_config(str(plane.kubeconfig))
    admin = KubeClusterClient(api)
    try:
        prepare_cluster(admin, pools)
        for obj in deploy_rbac_objects():
            admin.apply(obj)
        role = ("rbac.authorization.k8s.io/v1", "ClusterRole", "gpuctl")
        wait_for(lambda: (admin.get(*role) or {}).get("rules"), "the aggregated ClusterRole's rules")
        core = k8s.CoreV1Api(api)
        wait_for(lambda: core.list_namespaced_service_account(NAMESPACE).items, "the ServiceAccount")
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
