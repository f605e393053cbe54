"""What kube-controller-manager gives every namespace shortly after it is created: the
serviceaccount controller's `default` ServiceAccount and the root-ca-cert-publisher's
`kube-root-ca.crt` ConfigMap (the cluster's CA bundle under `ca.crt`). Both come back when
deleted, and the ConfigMap's bundle is put back when edited, as the real controllers do.
Namespaces being deleted get nothing. Embedded sandbox only: a real control plane runs the
real controllers."""

from __future__ import annotations

from typing import Any

from sandbox.api.handlers import Api
from sandbox.gpu.port import CONFIGMAPS, LocalPort, Resource

NAMESPACES: Resource = ("", "namespaces")
SERVICE_ACCOUNTS: Resource = ("", "serviceaccounts")
ROOT_CA = "kube-root-ca.crt"
DEFAULT_ACCOUNT = "default"
_MANAGER = "kube-controller-manager"
_DESCRIPTION = (
    "Contains a CA bundle that can be used to verify the kube-apiserver when using internal endpoints "
    "such as the internal service IP or kubernetes.default.svc. No other usage is guaranteed across "
    "distributions of Kubernetes clusters."
)


def _active(namespace: dict[str, Any]) -> bool:
    phase = (namespace.get("status") or {}).get("phase", "Active")
    return not namespace["metadata"].get("deletionTimestamp") and phase != "Terminating"


class NamespaceDefaults:
    """The serviceaccount and root-ca-cert-publisher controllers of kube-controller-manager."""

    watched = frozenset({NAMESPACES, SERVICE_ACCOUNTS, CONFIGMAPS})

    def __init__(self, api: Api, ca_pem: bytes) -> None:
        self._port = LocalPort(api)
        self._ca = ca_pem.decode()

    def reconcile(self, now: float) -> float | None:
        for namespace in self._port.list(NAMESPACES):
            if _active(namespace):
                self._ensure(namespace["metadata"]["name"])
        return None

    def _ensure(self, namespace: str) -> None:
        if self._port.get(SERVICE_ACCOUNTS, namespace, DEFAULT_ACCOUNT) is None:
            account = {
                "apiVersion": "v1",
                "kind": "ServiceAccount",
                "metadata": {"name": DEFAULT_ACCOUNT, "namespace": namespace},
            }
            self._port.create(SERVICE_ACCOUNTS, account, _MANAGER)
        published = self._port.get(CONFIGMAPS, namespace, ROOT_CA)
        data = {"ca.crt": self._ca}
        if published is None:
            bundle = {
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "metadata": {
                    "name": ROOT_CA,
                    "namespace": namespace,
                    "annotations": {"kubernetes.io/description": _DESCRIPTION},
                },
                "data": data,
            }
            self._port.create(CONFIGMAPS, bundle, _MANAGER)
        elif published.get("data") != data:
            self._port.update(CONFIGMAPS, {**published, "data": data}, _MANAGER)
