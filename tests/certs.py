"""A throwaway CA and signing certificates made with ``cryptography``, shaped as C2PA asks (or deliberately not)."""

from __future__ import annotations

import datetime
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name),
                      x509.NameAttribute(NameOID.ORGANIZATION_NAME, "shortgen tests")])


def _usage(*, signature: bool, ca: bool) -> x509.KeyUsage:
    return x509.KeyUsage(digital_signature=signature, content_commitment=False, key_encipherment=False,
                         data_encipherment=False, key_agreement=False, key_cert_sign=ca, crl_sign=ca,
                         encipher_only=False, decipher_only=False)


def _pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def make_root(folder: Path) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey, Path]:
    now = datetime.datetime.now(datetime.timezone.utc)
    key = ec.generate_private_key(ec.SECP256R1())
    root = (x509.CertificateBuilder().subject_name(_name("shortgen test root")).issuer_name(_name("shortgen test root"))
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=1)).not_valid_after(now + datetime.timedelta(days=3650))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(_usage(signature=True, ca=True), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
            .sign(key, hashes.SHA256()))
    path = folder / "root.pem"
    path.write_bytes(_pem(root))
    return root, key, path


def make_signer(folder: Path, root: x509.Certificate, root_key: ec.EllipticCurvePrivateKey, name: str = "signer", *,
                signature: bool = True, eku: bool = True, self_signed: bool = False) -> tuple[Path, Path]:
    """``(chain.pem, key.pem)``: a leaf (digitalSignature + emailProtection unless told otherwise) and the root."""
    now = datetime.datetime.now(datetime.timezone.utc)
    key = ec.generate_private_key(ec.SECP256R1())
    issuer_name, issuer_key = (_name(name), key) if self_signed else (root.subject, root_key)
    builder = (x509.CertificateBuilder().subject_name(_name(name)).issuer_name(issuer_name)
               .public_key(key.public_key()).serial_number(x509.random_serial_number())
               .not_valid_before(now - datetime.timedelta(days=1)).not_valid_after(now + datetime.timedelta(days=365))
               .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
               .add_extension(_usage(signature=signature, ca=False), critical=True)
               .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
               .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key()),
                              critical=False))
    if eku:
        builder = builder.add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.EMAIL_PROTECTION]), critical=False)
    leaf = builder.sign(issuer_key, hashes.SHA256())
    chain, key_path = folder / f"{name}-chain.pem", folder / f"{name}-key.pem"
    chain.write_bytes(_pem(leaf) + (b"" if self_signed else _pem(root)))
    key_path.write_bytes(_key_pem(key))
    return chain, key_path
