"""The one `Authorization` header parser, as the JWT API and the token release service call it."""

from __future__ import annotations

import pytest

from notebooks_service.oidc.authorization import MalformedAuthorization, credentials
from notebooks_service.oidc.verify import InvalidToken

HUB_TOKEN_SCHEMES = ("token", "bearer")
"""The release service's: a server's hub token, as JupyterHub clients send it."""

ACCEPTED = {
    "Bearer abc": "abc",
    "bEaReR abc": "abc",
    "  Bearer   abc  ": "abc",
}
REFUSED = [None, "", " ", "Bearer", "Bearer ", "Bearer a b", "Basic dXNlcjpwYXNz", "Bearerabc",
           "Bearer\tabc", "abc", "Bearer abc\r\nX-Injected: 1"]


@pytest.mark.parametrize(("header", "token"), ACCEPTED.items())
def test_accepted(header: str, token: str) -> None:
    assert credentials(header) == token
    assert credentials(header, HUB_TOKEN_SCHEMES) == token


@pytest.mark.parametrize("header", REFUSED)
def test_refused_alike_by_both_services(header: str | None) -> None:
    for schemes in (("bearer",), HUB_TOKEN_SCHEMES):
        with pytest.raises(MalformedAuthorization):
            credentials(header, schemes)


def test_the_scheme_set_decides() -> None:
    assert credentials("token abc", HUB_TOKEN_SCHEMES) == "abc"
    with pytest.raises(MalformedAuthorization, match="must be 'Bearer <token>'"):
        credentials("token abc")


def test_a_malformed_header_is_an_invalid_token_to_the_jwt_api() -> None:
    """So the JWT API answers it 401 with `WWW-Authenticate: Bearer error="invalid_token"`."""
    assert issubclass(MalformedAuthorization, InvalidToken)
