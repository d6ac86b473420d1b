"""Finding the user's OIDC access token, and refusing an expired one before any zone sees it.

The places, in order: `--token-file`, `$OIDC_ACCESS_TOKEN` (the variable the fedcloud client reads),
`$OIDC_ACCESS_TOKEN_FILE` (set in a session that mounts the token), then the files the seeds read in a
session: `/var/run/secrets/oidc/access_token` and `/var/run/secrets/egi.eu/access_token`. An explicit
`--token-file` that cannot be read is an error of its own: silently using another token would act as
someone the user did not mean.

The token's value never appears in a message, a log line or a `repr`.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import jwt

from notebooks_service.client.errors import ClientError
from notebooks_service.tokens.contract import ACCESS_TOKEN_FILE_ENV

TOKEN_ENV = "OIDC_ACCESS_TOKEN"
SESSION_TOKEN_FILES = (Path("/var/run/secrets/oidc/access_token"),
                       Path("/var/run/secrets/egi.eu/access_token"))


@dataclass(frozen=True)
class AccessToken:
    value: str = field(repr=False)
    source: str
    """Where it was found, for messages: `$OIDC_ACCESS_TOKEN`, `/path/to/file`..."""

    def claims(self) -> dict[str, Any] | None:
        """The JWT's claims, unverified (the zones verify it), or None for an opaque token."""
        try:
            claims = jwt.decode(self.value, options={"verify_signature": False})
        except jwt.PyJWTError:
            return None
        return claims if isinstance(claims, dict) else None

    @property
    def issuer(self) -> str | None:
        claims = self.claims() or {}
        issuer = claims.get("iss")
        return issuer if isinstance(issuer, str) else None

    def check_not_expired(self, now: float | None = None) -> None:
        """Raise ClientError naming when the token expired. Opaque tokens and JWTs without `exp`
        pass: only the zone can judge them."""
        expires = (self.claims() or {}).get("exp")
        if not isinstance(expires, int | float):
            return
        now = time.time() if now is None else now
        if expires > now:
            return
        when = datetime.fromtimestamp(expires, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
        raise ClientError(f"the access token from {self.source} expired at {when} "
                          f"({_ago(now - expires)} ago): get a fresh one")


def _ago(seconds: float) -> str:
    if seconds < 120:
        return f"{int(seconds)} s"
    if seconds < 7200:
        return f"{int(seconds // 60)} min"
    return f"{int(seconds // 3600)} h"


def _read(path: Path) -> str:
    """The file's token, stripped; ClientError when it is empty (a half-written or revoked file)."""
    value = path.read_text(encoding="utf-8").strip()
    if not value:
        raise ClientError(f"token file {path} is empty")
    return value


def find_token(token_file: Path | None, environ: Mapping[str, str],
               session_files: Sequence[Path] = SESSION_TOKEN_FILES) -> AccessToken:
    """The first token found in the documented places; ClientError saying where it looked."""
    if token_file is not None:
        try:
            return AccessToken(_read(token_file), str(token_file))
        except OSError as exc:
            raise ClientError(f"cannot read --token-file {token_file}: {exc.strerror or exc}") from None
    if environ.get(TOKEN_ENV, "").strip():
        return AccessToken(environ[TOKEN_ENV].strip(), f"${TOKEN_ENV}")
    looked = ["--token-file (not given)", f"${TOKEN_ENV} (unset)"]
    candidates: list[tuple[Path, str]] = []
    if environ.get(ACCESS_TOKEN_FILE_ENV):
        path = Path(environ[ACCESS_TOKEN_FILE_ENV])
        candidates.append((path, f"${ACCESS_TOKEN_FILE_ENV} = {path}"))
    else:
        looked.append(f"${ACCESS_TOKEN_FILE_ENV} (unset)")
    candidates += [(path, str(path)) for path in session_files]
    for path, label in candidates:
        try:
            return AccessToken(_read(path), str(path))
        except FileNotFoundError:
            looked.append(f"{label} (absent)")
        except OSError as exc:
            looked.append(f"{label} ({exc.strerror or exc})")
    raise ClientError("no access token found; looked at " + ", ".join(looked))
