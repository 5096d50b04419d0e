"""DSSE envelopes (https://github.com/secure-systems-lab/dsse, protocol v1) signed with Ed25519 or ECDSA P-256.

The signature is over the pre-authentication encoding ``PAE(type, body) = "DSSEv1" SP LEN(type) SP type SP
LEN(body) SP body`` (lengths in ASCII decimal), never over the base64 text. Ed25519 signs the PAE bytes as
they are; ECDSA P-256 signs their SHA-256 and the signature is DER-encoded (as securesystemslib and sigstore
write it). ``keyid`` is the SHA-256 of the public key's DER SubjectPublicKeyInfo, in hex: the same public key
always has the same id, whoever computes it. The primitive is ``cryptography``'s (benchmarks/README.md says
why it was chosen over securesystemslib and in-toto).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519

from changebot.errors import ChangebotError

PAYLOAD_TYPE = "application/vnd.in-toto+json"

PrivateKey = ed25519.Ed25519PrivateKey | ec.EllipticCurvePrivateKey
PublicKey = ed25519.Ed25519PublicKey | ec.EllipticCurvePublicKey


class KeyFileError(ChangebotError):
    """A key file that is not an Ed25519 or ECDSA P-256 key in PEM."""


class BadEnvelope(ChangebotError):
    """An envelope whose shape is wrong or that no signature by the given key verifies."""


def pae(payload_type: str, payload: bytes) -> bytes:
    """DSSE's pre-authentication encoding of ``payload`` under ``payload_type``."""
    kind = payload_type.encode()
    return b"DSSEv1 %d %s %d %s" % (len(kind), kind, len(payload), payload)


def keyid(public: PublicKey) -> str:
    """SHA-256 of the DER SubjectPublicKeyInfo, hex."""
    der = public.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return hashlib.sha256(der).hexdigest()


def _supported(key: object, what: str) -> None:
    if isinstance(key, ed25519.Ed25519PrivateKey | ed25519.Ed25519PublicKey):
        return
    if isinstance(key, ec.EllipticCurvePrivateKey | ec.EllipticCurvePublicKey) and isinstance(key.curve, ec.SECP256R1):
        return
    raise KeyFileError(
        f"{what} is not an Ed25519 or ECDSA P-256 key", "make one with: openssl genpkey -algorithm ed25519"
    )


@dataclass(frozen=True)
class Signer:
    """A private key and its id."""

    key: PrivateKey
    keyid: str

    def sign(self, message: bytes) -> bytes:
        """The signature of ``message``."""
        if isinstance(self.key, ed25519.Ed25519PrivateKey):
            return self.key.sign(message)
        return self.key.sign(message, ec.ECDSA(hashes.SHA256()))


def signer_from_pem(pem: bytes, what: str = "the signing key") -> Signer:
    """A ``Signer`` from an unencrypted PEM private key (PKCS#8 or traditional)."""
    try:
        key = serialization.load_pem_private_key(pem, password=None)
    except (ValueError, TypeError, UnsupportedAlgorithm) as exc:
        raise KeyFileError(f"{what} is not an unencrypted PEM private key ({exc})") from None
    _supported(key, what)
    assert isinstance(key, ed25519.Ed25519PrivateKey | ec.EllipticCurvePrivateKey)  # noqa: S101 - for mypy
    return Signer(key, keyid(key.public_key()))


def public_from_pem(pem: bytes, what: str = "the key") -> PublicKey:
    """A public key from PEM; a private key's PEM gives its public half."""
    try:
        key: Any = serialization.load_pem_public_key(pem)
    except (ValueError, TypeError, UnsupportedAlgorithm):
        try:
            key = serialization.load_pem_private_key(pem, password=None).public_key()
        except (ValueError, TypeError, UnsupportedAlgorithm) as exc:
            raise KeyFileError(f"{what} is not a PEM public key ({exc})") from None
    _supported(key, what)
    assert isinstance(key, ed25519.Ed25519PublicKey | ec.EllipticCurvePublicKey)  # noqa: S101 - for mypy
    return key


def envelope(payload: bytes, signer: Signer, payload_type: str = PAYLOAD_TYPE) -> dict[str, Any]:
    """A DSSE envelope of ``payload`` with one signature."""
    sig = signer.sign(pae(payload_type, payload))
    return {
        "payloadType": payload_type,
        "payload": base64.b64encode(payload).decode(),
        "signatures": [{"keyid": signer.keyid, "sig": base64.b64encode(sig).decode()}],
    }


def _verifies(public: PublicKey, signature: bytes, message: bytes) -> bool:
    try:
        if isinstance(public, ed25519.Ed25519PublicKey):
            public.verify(signature, message)
        else:
            public.verify(signature, message, ec.ECDSA(hashes.SHA256()))
    except InvalidSignature:
        return False
    return True


def _b64(value: Any, what: str) -> bytes:
    if not isinstance(value, str):
        raise BadEnvelope(f"{what} is not a base64 string")
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise BadEnvelope(f"{what} is not valid base64") from None


def open_envelope(data: Mapping[str, Any], public: PublicKey) -> tuple[str, bytes]:
    """``(payloadType, payload)`` when a signature by ``public`` verifies over the PAE; else ``BadEnvelope``."""
    payload_type, signatures = data.get("payloadType"), data.get("signatures")
    if not isinstance(payload_type, str) or "payload" not in data or not isinstance(signatures, list):
        raise BadEnvelope("not a DSSE envelope: payloadType, payload and signatures are required")
    payload = _b64(data["payload"], "payload")
    message = pae(payload_type, payload)
    for index, entry in enumerate(signatures):
        if not isinstance(entry, Mapping):
            raise BadEnvelope(f"signatures[{index}] is not an object")
        if _verifies(public, _b64(entry.get("sig"), f"signatures[{index}].sig"), message):
            return payload_type, payload
    raise BadEnvelope(f"no signature verifies with the key {keyid(public)[:16]}…")
