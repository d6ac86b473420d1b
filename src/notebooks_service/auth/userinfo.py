"""Completing the verified ID token's claims with the userinfo endpoint, when it agrees to answer.

Some IdPs issue access tokens meant for a resource server (RFC 8707 resource indicators, RFC 9068 JWT
access tokens) which their own userinfo endpoint refuses. The ID token was verified and says who the
user is, so a refusal (401/403) costs only the extra claims, not the login. Any other failure is the
IdP's and is reported as such by the caller. An answer about another subject than the ID token's is
never merged (OIDC Core 5.3.2): it would let one user log in with another's name and groups.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from tornado.httpclient import HTTPClientError

from notebooks_service.auth.idp_errors import idp_page

log = logging.getLogger(__name__)

REFUSALS = (401, 403)


async def with_userinfo(claims: dict[str, Any], fetch: Callable[[], Awaitable[Any]],
                        issuer: str) -> dict[str, Any]:
    """`claims` (verified, possibly empty) completed by `fetch()`'s userinfo answer."""
    try:
        info = await fetch()
    except HTTPClientError as exc:
        if claims and exc.response is not None and exc.code in REFUSALS:
            log.warning("The userinfo endpoint of %s refused the access token (HTTP %d): "
                        "logging in from the ID token's claims", issuer, exc.code)
            return claims
        raise
    if not isinstance(info, dict):
        raise idp_page(502, "The identity provider's userinfo endpoint sent an unusable answer.")
    if claims.get("sub") is not None and info.get("sub") != claims["sub"]:
        log.warning("Userinfo of %s is about subject %r, the ID token about %r: login refused",
                    issuer, info.get("sub"), claims["sub"])
        raise idp_page(502, "The identity provider's userinfo answer is about another user than "
                            "its ID token. The login was refused.")
    return {**claims, **info}
