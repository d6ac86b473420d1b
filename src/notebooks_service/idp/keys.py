"""The IdP's RS256 signing key: generated once, kept in the state dir, published as a JWKS.

Keeping the key across restarts means tokens the hub already holds stay verifiable after the IdP
is restarted. NOT FOR PRODUCTION: the private key sits unencrypted on disk.
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import os
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

log = logging.getLogger(__name__)

ALGORITHM = "RS256"
KEY_FILE = "signing-key.pem"


def ensure_private_dir(path: str | Path) -> Path:
    """Create the state dir readable by its owner only (it holds secrets)."""
    directory = Path(path)
    directory.mkdir(parents=True, exist_ok=True)
    os.chmod(directory, 0o700)
    return directory


def write_secret_file(path: Path, data: bytes) -> None:
    """Write a file that is never group- or world-readable, not even briefly."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)


def jwk_thumbprint(public_jwk: dict[str, Any]) -> str:
    """RFC 7638 thumbprint of an RSA public JWK: a stable, content-derived key id."""
    members = {k: public_jwk[k] for k in ("e", "kty", "n")}
    canonical = json.dumps(members, separators=(",", ":"), sort_keys=True).encode()
    return base64.urlsafe_b64encode(hashlib.sha256(canonical).digest()).rstrip(b"=").decode()


class SigningKey:
    """Signs and verifies the IdP's JWTs with one RSA key identified by its thumbprint."""

    def __init__(self, private_key: rsa.RSAPrivateKey) -> None:
        self.private_key = private_key
        self.public_key = private_key.public_key()
        public = RSAAlgorithm.to_jwk(self.public_key, as_dict=True)
        self.kid = jwk_thumbprint(public)
        self.public_jwk: dict[str, Any] = {
            "kty": "RSA",
            "n": public["n"],
            "e": public["e"],
            "kid": self.kid,
            "alg": ALGORITHM,
            "use": "sig",
        }

    @classmethod
    def load_or_create(cls, state_dir: str | Path) -> SigningKey:
        """Reuse `{state_dir}/signing-key.pem`, generating it (mode 0600) on first start."""
        path = ensure_private_dir(state_dir) / KEY_FILE
        if path.exists():
            key = serialization.load_pem_private_key(path.read_bytes(), password=None)
            if not isinstance(key, rsa.RSAPrivateKey):
                raise ValueError(f"{path} does not hold an RSA private key")
            os.chmod(path, 0o600)
            log.info("Loaded signing key %s", path)
        else:
            key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
            pem = key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
            write_secret_file(path, pem)
            log.info("Generated a new signing key %s", path)
        return cls(key)

    def jwks(self) -> dict[str, Any]:
        return {"keys": [self.public_jwk]}

    def sign(self, claims: dict[str, Any], typ: str = "JWT") -> str:
        return jwt.encode(
            claims, self.private_key, algorithm=ALGORITHM, headers={"kid": self.kid, "typ": typ}
        )

    def verify(self, token: str, issuer: str) -> dict[str, Any]:
        """Claims of a JWT this IdP signed and that has not expired; raises jwt.PyJWTError."""
        header = jwt.get_unverified_header(token)
        if header.get("kid") != self.kid:
            raise jwt.InvalidTokenError("unknown key id")
        return jwt.decode(
            token,
            self.public_key,
            algorithms=[ALGORITHM],
            issuer=issuer,
            options={"verify_aud": False, "require": ["exp", "iat", "iss", "sub"]},
        )
