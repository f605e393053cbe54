"""The files a fresh control plane needs: a CA, the apiserver's serving certificate, the
service-account key pair, client certificates and kubeconfigs for the admin
(`O=system:masters`), the controller manager and the scheduler, and etcd's config."""

from __future__ import annotations

import base64
import ipaddress
from dataclasses import dataclass
from pathlib import Path

import yaml
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID

from sandbox.tls import CertificateAuthority, loopback_names, new_ca, private_pem

# The apiserver's first Service IP (the `kubernetes` Service) in the service CIDR.
KUBERNETES_SERVICE_IP = "10.0.0.1"
SERVICE_NAMES = (
    "kubernetes",
    "kubernetes.default",
    "kubernetes.default.svc",
    "kubernetes.default.svc.cluster.local",
)

_COMPONENT_USERS = {
    "admin": ("kubernetes-admin", ("system:masters",)),
    "kube-controller-manager": ("system:kube-controller-manager", ()),
    "kube-scheduler": ("system:kube-scheduler", ()),
}


def _write_secret(path: Path, data: bytes) -> None:
    path.touch(mode=0o600)
    path.write_bytes(data)


@dataclass(frozen=True)
class ControlPlaneFiles:
    directory: Path
    ca: CertificateAuthority

    @property
    def ca_file(self) -> Path:
        return self.directory / "ca.crt"

    @property
    def serving_cert(self) -> Path:
        return self.directory / "apiserver.crt"

    @property
    def serving_key(self) -> Path:
        return self.directory / "apiserver.key"

    @property
    def sa_public(self) -> Path:
        return self.directory / "sa.pub"

    @property
    def sa_private(self) -> Path:
        return self.directory / "sa.key"

    @property
    def admin_cert(self) -> Path:
        return self.directory / "admin.crt"

    @property
    def admin_key(self) -> Path:
        return self.directory / "admin.key"

    @property
    def etcd_config(self) -> Path:
        return self.directory / "etcd.yaml"

    def kubeconfig_for(self, component: str) -> Path:
        return self.directory / f"{component}.kubeconfig"

    def client_kubeconfig(
        self, url: str, user: str, groups: tuple[str, ...], name: str | None = None
    ) -> Path:
        """Issue a client certificate for `user` in `groups` and write a kubeconfig using it."""
        cert_pem, key_pem = self.ca.sign(user, organizations=groups, usage=ExtendedKeyUsageOID.CLIENT_AUTH)
        stem = name or user.replace(":", "-")
        path = self.kubeconfig_for(stem)
        config = {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [
                {
                    "name": "envtest",
                    "cluster": {"server": url, "certificate-authority-data": _b64(self.ca.pem)},
                }
            ],
            "users": [
                {
                    "name": stem,
                    "user": {"client-certificate-data": _b64(cert_pem), "client-key-data": _b64(key_pem)},
                }
            ],
            "contexts": [{"name": stem, "context": {"cluster": "envtest", "user": stem}}],
            "current-context": stem,
        }
        _write_secret(path, yaml.safe_dump(config, sort_keys=False).encode())
        return path


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def write_files(directory: Path, url: str, *, etcd_port: int, peer_port: int) -> ControlPlaneFiles:
    """Write fresh certificates, keys, kubeconfigs and etcd's config into `directory`."""
    ca = new_ca("gpuctl-envtest-ca")
    files = ControlPlaneFiles(directory, ca)
    files.ca_file.write_bytes(ca.pem)
    alt_names = [*loopback_names(), x509.IPAddress(ipaddress.ip_address(KUBERNETES_SERVICE_IP))]
    alt_names += [x509.DNSName(name) for name in SERVICE_NAMES]
    cert_pem, key_pem = ca.sign("kube-apiserver", alt_names=alt_names)
    files.serving_cert.write_bytes(cert_pem)
    _write_secret(files.serving_key, key_pem)
    sa_key = ec.generate_private_key(ec.SECP256R1())
    _write_secret(files.sa_private, private_pem(sa_key))
    files.sa_public.write_bytes(
        sa_key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    for component, (user, groups) in _COMPONENT_USERS.items():
        files.client_kubeconfig(url, user, groups, name=component)
    admin_cert, admin_key = ca.sign(
        "kubernetes-admin", organizations=("system:masters",), usage=ExtendedKeyUsageOID.CLIENT_AUTH
    )
    files.admin_cert.write_bytes(admin_cert)
    _write_secret(files.admin_key, admin_key)
    etcd = {
        "name": "default",
        "data-dir": str(directory / "etcd-data"),
        "listen-client-urls": f"http://127.0.0.1:{etcd_port}",
        "advertise-client-urls": f"http://127.0.0.1:{etcd_port}",
        "listen-peer-urls": f"http://127.0.0.1:{peer_port}",
        "initial-advertise-peer-urls": f"http://127.0.0.1:{peer_port}",
        "initial-cluster": f"default=http://127.0.0.1:{peer_port}",
    }
    files.etcd_config.write_text(yaml.safe_dump(etcd))
    return files
