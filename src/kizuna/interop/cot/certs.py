"""Certificates for CoT over TLS: a certificate authority, a server certificate, client certificates.

A client certificate's common name is the Kizuna user id the connection acts as. For tests and
exercises on one machine (`kizuna cot certs`); a real deployment uses its own PKI.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path


@dataclass(frozen=True, slots=True)
class CertFiles:
    """PEM files of one certificate and its key."""

    cert: Path
    key: Path


def _key() -> object:
    from cryptography.hazmat.primitives.asymmetric import ec

    return ec.generate_private_key(ec.SECP256R1())


def _write(directory: Path, name: str, cert: object, key: object) -> CertFiles:
    from cryptography.hazmat.primitives import serialization

    directory.mkdir(parents=True, exist_ok=True)
    cert_path, key_path = directory / f"{name}.pem", directory / f"{name}.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))  # type: ignore[attr-defined]
    key_path.write_bytes(
        key.private_bytes(  # type: ignore[attr-defined]
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    key_path.chmod(0o600)
    return CertFiles(cert_path, key_path)


def make_certificates(
    directory: Path, *, users: list[str], host: str = "127.0.0.1", days: int = 30
) -> dict[str, CertFiles]:
    """Write `ca`, `server` (for `host`) and one client certificate per user id into `directory`."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    now = datetime.now(UTC)
    ca_key = _key()
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Kizuna CoT test CA")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())  # type: ignore[attr-defined]
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .sign(ca_key, hashes.SHA256())  # type: ignore[arg-type]
    )
    out = {"ca": _write(directory, "ca", ca, ca_key)}

    def issue(name: str, common: str, usage: x509.ObjectIdentifier, san: list[x509.GeneralName]) -> CertFiles:
        key = _key()
        builder = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common)]))
            .issuer_name(ca_name)
            .public_key(key.public_key())  # type: ignore[attr-defined]
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(minutes=5))
            .not_valid_after(now + timedelta(days=days))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
        )
        if san:
            builder = builder.add_extension(x509.SubjectAlternativeName(san), critical=False)
        return _write(directory, name, builder.sign(ca_key, hashes.SHA256()), key)  # type: ignore[arg-type]

    try:
        address: x509.GeneralName = x509.IPAddress(ipaddress.ip_address(host))
    except ValueError:
        address = x509.DNSName(host)
    out["server"] = issue("server", host, ExtendedKeyUsageOID.SERVER_AUTH, [address])
    for user in users:
        out[user] = issue(f"client-{user}", user, ExtendedKeyUsageOID.CLIENT_AUTH, [])
    return out
