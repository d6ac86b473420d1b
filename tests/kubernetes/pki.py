"""The test cluster's certificates and keys: what kubeadm would generate, made with `cryptography`.

One CA signs the API server's serving certificate (for 127.0.0.1 only) and the client certificates of
the admin and the controller manager; a separate key pair signs service-account tokens.
"""

from __future__ import annotations

import datetime
import ipaddress
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

LIFETIME = datetime.timedelta(days=2)
"""Long enough for any test session; the files live in the session's temporary directory."""


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    path.chmod(0o600)
    return path


@dataclass(frozen=True)
class CertPair:
    cert: Path
    key: Path


class ClusterPki:
    """Creates the files under `directory` when constructed."""

    def __init__(self, directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        self.directory = directory
        self._ca_key = ec.generate_private_key(ec.SECP256R1())
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "notebooks-test-cluster-ca")])
        now = datetime.datetime.now(datetime.UTC)
        self._ca_name = name
        ca = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
              .public_key(self._ca_key.public_key()).serial_number(x509.random_serial_number())
              .not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(now + LIFETIME)
              .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
              .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                           content_commitment=False, key_encipherment=False,
                                           data_encipherment=False, key_agreement=False,
                                           encipher_only=False, decipher_only=False), critical=True)
              .sign(self._ca_key, hashes.SHA256()))
        self.ca = _write(directory / "ca.crt", ca.public_bytes(serialization.Encoding.PEM))
        self.ca_key = _write(directory / "ca.key", _key_pem(self._ca_key))
        self.serving = self._issue("kube-apiserver", (), server=True)
        self.admin = self._issue("notebooks-test-admin", ("system:masters",))
        self.controller_manager = self._issue("system:kube-controller-manager", ())
        sa_key = ec.generate_private_key(ec.SECP256R1())
        self.service_account_key = _write(directory / "sa.key", _key_pem(sa_key))
        self.service_account_pub = _write(directory / "sa.pub", sa_key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))

    def _issue(self, common_name: str, organizations: tuple[str, ...], server: bool = False) -> CertPair:
        key = ec.generate_private_key(ec.SECP256R1())
        subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name),
                             *(x509.NameAttribute(NameOID.ORGANIZATION_NAME, o) for o in organizations)])
        now = datetime.datetime.now(datetime.UTC)
        usage = ExtendedKeyUsageOID.SERVER_AUTH if server else ExtendedKeyUsageOID.CLIENT_AUTH
        builder = (x509.CertificateBuilder().subject_name(subject).issuer_name(self._ca_name)
                   .public_key(key.public_key()).serial_number(x509.random_serial_number())
                   .not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(now + LIFETIME)
                   .add_extension(x509.ExtendedKeyUsage([usage]), critical=False))
        if server:
            builder = builder.add_extension(x509.SubjectAlternativeName([
                x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")]),
                critical=False)
        cert = builder.sign(self._ca_key, hashes.SHA256())
        stem = common_name.replace(":", "-")
        return CertPair(_write(self.directory / f"{stem}.crt", cert.public_bytes(serialization.Encoding.PEM)),
                        _write(self.directory / f"{stem}.key", _key_pem(key)))
