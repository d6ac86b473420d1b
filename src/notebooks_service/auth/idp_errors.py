"""What the user sees when the identity provider fails: a clear page, never a 500 with a traceback.

Every call the hub makes to the IdP runs inside `idp_call`, which turns the ways such a call fails
(no answer, no connection, an error answer, an unreadable answer) into a `web.HTTPError` whose
`jupyterhub_message` the hub's error page shows. The status tells who is at fault: 503 the IdP could
not be reached or did not answer, 502 it answered something unusable, 403 it refused the request.
The background refresher reads the same status: only a refusal (4xx) ends a session's tokens.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager

from tornado import web
from tornado.httpclient import HTTPClientError

from notebooks_service.oidc.discovery import DiscoveryError
from notebooks_service.oidc.provider_lookup import ProviderNotResponding

log = logging.getLogger(__name__)

MAX_DETAIL = 200
"""Characters of the IdP's own error text shown on the page."""


def idp_page(status: int, message: str) -> web.HTTPError:
    """An HTTP error whose page shows `message` (and only it) to the user."""
    error = web.HTTPError(status, message)
    error.jupyterhub_message = message  # type: ignore[attr-defined]
    return error


def not_responding(issuer: str) -> web.HTTPError:
    return idp_page(503, f"The identity provider ({issuer}) is not responding. "
                         "Please try again in a few minutes.")


def unreachable(issuer: str) -> web.HTTPError:
    return idp_page(503, f"The identity provider ({issuer}) cannot be reached. "
                         "Please try again in a few minutes.")


def oauth_error_detail(body: bytes | None) -> str:
    """`error: error_description` of an OAuth error answer (RFC 6749 5.2), shortened; else ""."""
    try:
        answer = json.loads(body or b"")
    except ValueError:
        return ""
    if not isinstance(answer, dict):
        return ""
    parts = [str(answer[k]) for k in ("error", "error_description") if answer.get(k)]
    return ": ".join(parts)[:MAX_DETAIL]


def is_refusal(error: web.HTTPError) -> bool:
    """Whether the IdP (or our verification of its answer) said no, rather than failed to answer."""
    return error.status_code < 500


@contextmanager
def idp_call(what: str, issuer: str) -> Iterator[None]:
    """Run one call to the IdP's `what` (e.g. "token endpoint"); failures become clear pages."""
    try:
        yield
    except web.HTTPError as exc:
        if exc.status_code < 500 or hasattr(exc, "jupyterhub_message"):
            raise
        # oauthenticator's own 500s ("Bad response: <the whole answer>") are the IdP's fault
        log.warning("Unusable answer from the %s of %s: %s", what, issuer, exc.log_message)
        raise idp_page(502, f"The identity provider's {what} sent an unusable answer.") from None
    except (TimeoutError, ProviderNotResponding):
        log.warning("No answer from the %s of %s in time", what, issuer)
        raise not_responding(issuer) from None
    except HTTPClientError as exc:
        if exc.response is None or exc.code == 599:  # 599: tornado's timeout / no connection
            log.warning("No answer from the %s of %s: %s", what, issuer, exc)
            raise (not_responding(issuer) if "timeout" in str(exc).lower()
                   else unreachable(issuer)) from None
        detail = oauth_error_detail(exc.response.body)
        said = f"HTTP {exc.code}" + (f", {detail}" if detail else "")
        if exc.code in (400, 401, 403):
            raise idp_page(403, f"The identity provider refused the request at its {what} "
                                f"({said}). Please log in again.") from None
        raise idp_page(502, f"The identity provider's {what} failed ({said}). "
                            "Please try again in a few minutes.") from None
    except (OSError, DiscoveryError) as exc:
        log.warning("Cannot reach the %s of %s: %s", what, issuer, exc)
        raise unreachable(issuer) from None
    except ValueError as exc:  # JSON that does not parse
        log.warning("Unreadable answer from the %s of %s: %s", what, issuer, exc)
        raise idp_page(502, f"The identity provider's {what} sent an unreadable answer.") from None
