"""deploy/: the kustomize base renders with kubectl, every object is valid against the
Kubernetes schemas, the Deployment is hardened as documented, the settings file is one
`gpuctl run` accepts, and the base applies to the sandbox with `kubectl apply -k`."""

import re
import shutil
import subprocess
from pathlib import Path

import kubernetes_validate
import pytest
import yaml

import sandbox
from reconciler.daemon.settings import load_settings

ROOT = Path(__file__).resolve().parents[2]
BASE = ROOT / "deploy" / "base"
KUBERNETES_VERSION = "1.33"

kubectl = pytest.mark.skipif(shutil.which("kubectl") is None, reason="needs the kubectl binary")


def render() -> list[dict]:
    out = subprocess.run(["kubectl", "kustomize", str(BASE)], check=True, capture_output=True, text=True)
    return [d for d in yaml.safe_load_all(out.stdout) if d]


def by_kind(docs: list[dict], kind: str) -> dict:
    (doc,) = [d for d in docs if d["kind"] == kind]
    return doc


@kubectl
@pytest.mark.kubectl
def test_base_renders_the_documented_objects():
    """`kubectl kustomize deploy/base` yields every object the issue lists, in gpuctl-system
    (the aggregated ClusterRole gpuctl and the two it aggregates)."""
    docs = render()
    kinds = sorted(d["kind"] for d in docs)
    assert kinds == sorted([
        "Namespace", "ServiceAccount", "ClusterRole", "ClusterRole", "ClusterRole",
        "ClusterRoleBinding", "Role", "RoleBinding", "ConfigMap", "PersistentVolumeClaim", "Deployment",
        "Service", "PodDisruptionBudget", "NetworkPolicy",
    ])
    namespaced = [d for d in docs if d["kind"] not in {"Namespace", "ClusterRole", "ClusterRoleBinding"}]
    assert {d["metadata"]["namespace"] for d in namespaced} == {"gpuctl-system"}


@kubectl
@pytest.mark.kubectl
def test_every_object_validates_against_the_kubernetes_schema():
    """Each rendered object passes strict validation against the Kubernetes OpenAPI schemas."""
    for doc in render():
        kubernetes_validate.validate(doc, KUBERNETES_VERSION, strict=True)


@kubectl
@pytest.mark.kubectl
def test_deployment_is_hardened():
    """Two replicas, non-root, read-only root filesystem, no capabilities, probes and requests."""
    docs = render()
    deployment = by_kind(docs, "Deployment")
    pod = deployment["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    assert deployment["spec"]["replicas"] == 2
    assert pod["securityContext"]["runAsNonRoot"] is True and pod["securityContext"]["runAsUser"] != 0
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert container["securityContext"]["allowPrivilegeEscalation"] is False
    assert container["securityContext"]["capabilities"]["drop"] == ["ALL"]
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert {"cpu", "memory"} <= set(container["resources"]["requests"])
    claim = by_kind(docs, "PersistentVolumeClaim")["metadata"]["name"]
    assert {"name": "audit", "persistentVolumeClaim": {"claimName": claim}} in pod["volumes"]
    assert pod["serviceAccountName"] == by_kind(docs, "ServiceAccount")["metadata"]["name"]
    assert by_kind(docs, "PodDisruptionBudget")["spec"]["minAvailable"] == 1


def test_settings_file_is_accepted_by_gpuctl_run(monkeypatch):
    """deploy/base/settings.yaml loads as `gpuctl run` settings with the in-cluster paths."""
    monkeypatch.delenv("GPUCTL_CONFIG", raising=False)
    settings = load_settings({"in_cluster": True}, BASE / "settings.yaml")
    assert settings.is_remote
    assert str(settings.audit_db) == "/var/lib/gpuctl/audit.db"
    assert settings.listen == "0.0.0.0:8080"
    assert settings.lease_namespace == "gpuctl-system"


def test_dockerfile_is_multi_stage_and_non_root():
    """The image is built in one stage and runs as a numeric non-root user in another."""
    text = (ROOT / "deploy" / "Dockerfile").read_text()
    assert len(re.findall(r"^FROM ", text, flags=re.M)) >= 2
    users = re.findall(r"^USER (\S+)", text, flags=re.M)
    assert users and users[-1].split(":")[0] not in {"0", "root"}


@kubectl
@pytest.mark.kubectl
@pytest.mark.slow
def test_kubectl_apply_k_to_the_sandbox(tmp_path):
    """`kubectl apply -k deploy/base` creates every object of a kind the sandbox serves; the
    only refusals are for kinds it does not serve (it has no storage or network policies)."""
    with sandbox.start() as cluster:
        base = ["kubectl", "--kubeconfig", str(cluster.kubeconfig_path)]
        # The sandbox publishes no OpenAPI document; the schemas are checked offline above.
        applied = subprocess.run([*base, "apply", "--validate=false", "-k", str(BASE)],
                                 check=False, capture_output=True, text=True)
        served = subprocess.run([*base, "api-resources", "-o", "name"], check=True,
                                capture_output=True, text=True).stdout.split()
        refused = set(re.findall(r'no matches for kind "(\w+)"', applied.stderr))
        other_errors = [line for line in applied.stderr.splitlines()
                        if line.strip() and "no matches for kind" not in line and "ensure CRDs" not in line]
        assert other_errors == []
        plural = {"PersistentVolumeClaim": "persistentvolumeclaims", "NetworkPolicy": "networkpolicies"}
        assert refused <= set(plural)
        assert not any(p.split(".")[0] == plural[kind] for kind in refused for p in served)
        assert applied.returncode == (1 if refused else 0)
        got = subprocess.run([*base, "-n", "gpuctl-system", "get", "deployment", "gpuctl", "-o", "yaml"],
                             check=True, capture_output=True, text=True)
        assert yaml.safe_load(got.stdout)["spec"]["replicas"] == 2
