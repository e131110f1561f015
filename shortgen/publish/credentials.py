"""The signer's certificate chain and key: read from flags or environment, checked before any model loads.

Uses ``cryptography`` (installed with the ``c2pa`` extra). C2PA asks the signing certificate for the
``digitalSignature`` key usage and an extended key usage of emailProtection, documentSigning or the C2PA
claim-signing EKU, issued by a CA (a self-signed leaf is refused by validators).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from shortgen.errors import UsageError

CERT_ENV = "SHORTGEN_C2PA_CERT"
KEY_ENV = "SHORTGEN_C2PA_KEY"
INSTALL_HINT = "pip install 'shortgen[c2pa]'"
# emailProtection, documentSigning, C2PA claim signing (C2PA 2.x certificate profile).
SIGNING_EKUS = {"1.3.6.1.5.5.7.3.4": "emailProtection", "1.3.6.1.5.5.7.3.36": "documentSigning",
                "1.3.6.1.4.1.62558.2.1": "c2pa claim signing"}


@dataclass(frozen=True)
class SigningKey:
    chain_pem: bytes  # the signing certificate first, then its issuers (the root may be left out)
    key_pem: bytes
    alg: str  # ES256, ES384, ES512, PS256, ED25519
    tsa_url: str | None
    subject: str
    issuer: str


def _pem(value: str | None, what: str, flag: str, env: str) -> bytes:
    """A flag's or environment variable's value: a path, or the PEM text itself (handy for CI secrets)."""
    if not value:
        raise UsageError(f"--sign needs a {what}", f"pass {flag} PATH or set {env}")
    if value.lstrip().startswith("-----BEGIN"):
        return value.encode()
    path = Path(value).expanduser()
    try:
        return path.read_bytes()
    except OSError as err:
        raise UsageError(f"cannot read the {what} {path}: {err.strerror or err}", f"check {flag} / {env}") from None


def _crypto() -> Any:
    try:
        from cryptography import x509
    except ImportError:
        raise UsageError("--sign needs the cryptography and c2pa-python packages", INSTALL_HINT) from None
    return x509


def load_signing_key(cert: str | Path | None = None, key: str | Path | None = None,
                     tsa_url: str | None = None) -> SigningKey:
    """Read and check the chain and key (flags first, then ``SHORTGEN_C2PA_CERT`` / ``SHORTGEN_C2PA_KEY``)."""
    x509 = _crypto()
    chain_pem = _pem(str(cert) if cert else os.environ.get(CERT_ENV), "certificate chain", "--sign-cert", CERT_ENV)
    key_pem = _pem(str(key) if key else os.environ.get(KEY_ENV), "private key", "--sign-key", KEY_ENV)
    try:
        chain = x509.load_pem_x509_certificates(chain_pem)
    except ValueError:
        raise UsageError("the signing certificate is not a PEM certificate chain",
                         "give the signing certificate, then its CA certificates, as PEM") from None
    leaf = chain[0]
    _check_usage(leaf, x509)
    private = _load_key(key_pem)
    if private.public_key().public_bytes(*_spki()) != leaf.public_key().public_bytes(*_spki()):
        raise UsageError("the private key does not match the signing certificate",
                         "give the key the certificate was issued for")
    return SigningKey(chain_pem, key_pem, _algorithm(private), tsa_url, leaf.subject.rfc4514_string(),
                      leaf.issuer.rfc4514_string())


def _check_usage(leaf: Any, x509: Any) -> None:
    name = leaf.subject.rfc4514_string()
    if leaf.issuer == leaf.subject:
        raise UsageError(f"the signing certificate ({name}) is self-signed; C2PA validators refuse that",
                         "issue it from a CA of your own (see README: Publishing)")
    try:
        usage = leaf.extensions.get_extension_for_class(x509.KeyUsage).value
    except x509.ExtensionNotFound:
        usage = None
    if usage is None or not usage.digital_signature:
        raise UsageError(f"the signing certificate ({name}) lacks the digitalSignature key usage C2PA requires",
                         "issue one with keyUsage=digitalSignature")
    try:
        ekus = {oid.dotted_string for oid in leaf.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value}
    except x509.ExtensionNotFound:
        ekus = set()
    if not ekus & SIGNING_EKUS.keys():
        raise UsageError(f"the signing certificate ({name}) has no extended key usage C2PA accepts",
                         "issue one with extendedKeyUsage=" + " or ".join(SIGNING_EKUS.values()))


def _spki() -> tuple[Any, Any]:
    from cryptography.hazmat.primitives import serialization

    return serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo


def _load_key(key_pem: bytes) -> Any:
    from cryptography.hazmat.primitives import serialization

    try:
        return serialization.load_pem_private_key(key_pem, password=None)
    except (ValueError, TypeError) as err:
        raise UsageError(f"the private key cannot be read: {err}", "give an unencrypted PEM key") from None


def _algorithm(private: Any) -> str:
    from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

    if isinstance(private, ec.EllipticCurvePrivateKey):
        algs = {"secp256r1": "ES256", "secp384r1": "ES384", "secp521r1": "ES512"}
        if private.curve.name in algs:
            return algs[private.curve.name]
    if isinstance(private, ed25519.Ed25519PrivateKey):
        return "ED25519"
    if isinstance(private, rsa.RSAPrivateKey):
        return "PS256"
    raise UsageError("the private key's type is not one C2PA signs with", "use an EC P-256/P-384/P-521, RSA or "
                     "Ed25519 key")
