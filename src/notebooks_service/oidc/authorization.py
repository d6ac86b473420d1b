"""The token in an HTTP `Authorization` header: one parser for every service that takes one.

The JWT API takes `Bearer <OIDC token>`; the token release service takes the server's hub token as
`token <t>` or `Bearer <t>`. Both read the header with `credentials`, so a header one accepts is read
the same way by the other, and a malformed one is refused with the same reason.
"""

from __future__ import annotations

from collections.abc import Collection

from notebooks_service.oidc.verify import InvalidToken


class MalformedAuthorization(InvalidToken):
    """No header, another scheme, or not exactly one token after the scheme."""


def credentials(header: str | None, schemes: Collection[str] = ("bearer",)) -> str:
    """The token of a `<scheme> <token>` header, `scheme` one of `schemes` (lower case; the header's
    scheme is compared case-insensitively, RFC 9110 11.1)."""
    if not header:
        raise MalformedAuthorization("missing Authorization header")
    scheme, _, token = header.strip().partition(" ")
    token = token.strip()
    if scheme.lower() not in schemes or not token or " " in token:
        expected = " or ".join(f"'{s.capitalize()} <token>'" for s in schemes)
        raise MalformedAuthorization(f"Authorization header must be {expected}")
    return token
