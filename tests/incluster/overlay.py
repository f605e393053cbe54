"""The test overlay of deploy/base for the in-cluster test: the locally imported image with
`imagePullPolicy: Never`, a hostPath PersistentVolume for the audit claim (nothing provisions
volumes here), egress to the test's `git daemon` in the NetworkPolicy, and settings that poll
the repository every 2 s with a short Lease."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
BASE = ROOT / "deploy" / "base"


@dataclass(frozen=True)
class OverlayInputs:
    image: str  # name:tag as imported, e.g. docker.io/library/gpuctl:dev
    repo_url: str
    git_port: int
    audit_dir: Path  # on the node's host, backs the audit PersistentVolume
    node: str


def _settings(inputs: OverlayInputs) -> dict[str, object]:
    settings = yaml.safe_load((BASE / "settings.yaml").read_text())
    settings.update({
        "repo": inputs.repo_url,
        "poll-interval": "2s",
        "lease-duration": "6s",
        "renew-deadline": "4s",
        "retry-period": "1s",
        "capture": False,
    })
    return dict(settings)


def _deployment_patch() -> dict[str, object]:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "gpuctl"},
        "spec": {"template": {"spec": {"containers": [{"name": "gpuctl", "imagePullPolicy": "Never"}]}}},
    }


def _git_egress(inputs: OverlayInputs) -> list[dict[str, object]]:
    rule = {"ports": [{"port": inputs.git_port, "protocol": "TCP"}]}
    return [{"op": "add", "path": "/spec/egress/-", "value": rule}]


def _audit_volume(inputs: OverlayInputs) -> dict[str, object]:
    return {
        "apiVersion": "v1",
        "kind": "PersistentVolume",
        "metadata": {"name": "gpuctl-audit-incluster"},
        "spec": {
            "capacity": {"storage": "1Gi"},
            "accessModes": ["ReadWriteOnce"],
            "persistentVolumeReclaimPolicy": "Retain",
            "storageClassName": "",
            "claimRef": {"namespace": "gpuctl-system", "name": "gpuctl-audit"},
            "hostPath": {"path": str(inputs.audit_dir), "type": "DirectoryOrCreate"},
            "nodeAffinity": {"required": {"nodeSelectorTerms": [{"matchExpressions": [
                {"key": "kubernetes.io/hostname", "operator": "In", "values": [inputs.node]},
            ]}]}},
        },
    }


def write_overlay(directory: Path, inputs: OverlayInputs) -> Path:
    """Copy deploy/base into `directory` and write the test overlay beside it; returns the
    overlay's directory (for `kubectl apply -k`)."""
    shutil.copytree(BASE, directory / "base")
    overlay = directory / "incluster"
    overlay.mkdir()
    name, _, tag = inputs.image.rpartition(":")
    base_image = yaml.safe_load((BASE / "kustomization.yaml").read_text())["images"][0]["newName"]
    (overlay / "settings.yaml").write_text(yaml.safe_dump(_settings(inputs), sort_keys=False))
    (overlay / "deployment-patch.yaml").write_text(yaml.safe_dump(_deployment_patch()))
    (overlay / "git-egress.yaml").write_text(yaml.safe_dump(_git_egress(inputs)))
    (overlay / "audit-pv.yaml").write_text(yaml.safe_dump(_audit_volume(inputs)))
    kustomization = {
        "apiVersion": "kustomize.config.k8s.io/v1beta1",
        "kind": "Kustomization",
        "resources": ["../base", "audit-pv.yaml"],
        "patches": [
            {"path": "deployment-patch.yaml"},
            {"path": "git-egress.yaml", "target": {"kind": "NetworkPolicy", "name": "gpuctl"}},
        ],
        "configMapGenerator": [
            {"name": "gpuctl-settings", "behavior": "replace", "files": ["settings.yaml"]},
        ],
        "images": [{"name": base_image, "newName": name, "newTag": tag}],
    }
    (overlay / "kustomization.yaml").write_text(yaml.safe_dump(kustomization, sort_keys=False))
    return overlay
