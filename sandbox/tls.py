"""A throw-away certificate authority and server certificate for the sandbox's HTTPS
endpoint. kubectl (client-go) refuses to send a bearer token over plain HTTP, so the
sandbox serves TLS and writes the CA into the kubeconfig (`certificate-authority-data`)."""

from __future__ import annotations

import base64
import ipaddress
import ssl
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID


@dataclass(frozen=True)
class ServerCertificate:
    ca_pem: bytes
    cert_pem: bytes
    key_pem: bytes

    @property
    def ca_data(self) -> str:
        """The CA as kubeconfig's `certificate-authority-data` (base64 of the PEM)."""
        return base64.b64encode(self.ca_pem).decode()

    def server_context(self, directory: Path) -> ssl.SSLContext:
        """A server-side TLS context (the key is written to `directory`, mode 0600)."""
        cert_file, key_file = directory / "server.crt", directory / "server.key"
        cert_file.write_bytes(self.cert_pem)
        key_file.touch(mode=0o600)
        key_file.write_bytes(self.key_pem)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        context.set_alpn_protocols(["http/1.1"])
        context.load_cert_chain(cert_file, key_file)
        return context


def _name(common_name: str, organizations: tuple[str, ...] = ()) -> x509.Name:
    """A subject: the CN and one O per entry (Kubernetes reads them as user and groups)."""
    attributes = [x509.NameAttribute(NameOID.ORGANIZATION_NAME, org) for org in organizations]
    attributes.append(x509.NameAttribute(NameOID.COMMON_NAME, common_name))
    return x509.Name(attributes)


@dataclass(frozen=True)
class CertificateAuthority:
    """A throw-away CA that signs server and client certificates."""

    key: ec.EllipticCurvePrivateKey
    cert: x509.Certificate

    @property
    def pem(self) -> bytes:
        return self.cert.public_bytes(serialization.Encoding.PEM)

    def sign(
        self,
        common_name: str,
        *,
        organizations: tuple[str, ...] = (),
        usage: x509.ObjectIdentifier = ExtendedKeyUsageOID.SERVER_AUTH,
        alt_names: list[x509.GeneralName] | None = None,
    ) -> tuple[bytes, bytes]:
        """A new key and a certificate for it signed by this CA, both PEM: `(cert, key)`."""
        now, until = _validity()
        key = ec.generate_private_key(ec.SECP256R1())
        builder = (
            x509.CertificateBuilder()
            .subject_name(_name(common_name, organizations))
            .issuer_name(self.cert.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now)
            .not_valid_after(until)
            .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        )
        if alt_names:
            builder = builder.add_extension(x509.SubjectAlternativeName(alt_names), critical=False)
        cert = builder.sign(self.key, hashes.SHA256())
        return cert.public_bytes(serialization.Encoding.PEM), private_pem(key)


def private_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    """A private key as unencrypted PKCS#8 PEM."""
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def _validity() -> tuple[datetime, datetime]:
    now = datetime.now(UTC) - timedelta(minutes=5)
    return now, now + timedelta(days=30)


def new_ca(common_name: str) -> CertificateAuthority:
    """A new self-signed CA valid for 30 days."""
    now, until = _validity()
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(_name(common_name))
        .issuer_name(_name(common_name))
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(until)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                key_cert_sign=True,
                crl_sign=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .sign(ca_key, hashes.SHA256())
    )
    return CertificateAuthority(ca_key, ca_cert)


def loopback_names(host: str = "127.0.0.1") -> list[x509.GeneralName]:
    """Subject alternative names for `host`, `localhost` and 127.0.0.1."""
    alt_names: list[x509.GeneralName] = [
        x509.DNSName("localhost"),
        x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
    ]
    try:
        address = ipaddress.ip_address(host)
        if str(address) != "127.0.0.1":
            alt_names.append(x509.IPAddress(address))
    except ValueError:
        if host != "localhost":
            alt_names.append(x509.DNSName(host))
    return alt_names


def issue(host: str) -> ServerCertificate:
    """A new CA and a certificate for `host`, `localhost` and 127.0.0.1, valid for 30 days."""
    ca = new_ca("gpuctl-sandbox-ca")
    cert_pem, key_pem = ca.sign("gpuctl-sandbox", alt_names=loopback_names(host))
    return ServerCertificate(ca_pem=ca.pem, cert_pem=cert_pem, key_pem=key_pem)
