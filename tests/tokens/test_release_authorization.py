"""The token release service reads its Authorization header with the shared parser
(`oidc.authorization.credentials`): a header it cannot read is a 401 that says what it wants, and
never reaches the hub as a token."""

from __future__ import annotations

import httpx
import pytest

from tests.stack import Stack

MALFORMED = [
    None,                      # no header
    "",                        # empty
    "token",                   # a scheme and no token
    "Basic YWxpY2U6eA==",      # another scheme
    "tokenabc",                # no separator
    "token abc def",           # two tokens: the old parser sent "abc def" to the hub
    "Bearer abc def",
]


@pytest.mark.parametrize("header", MALFORMED, ids=[repr(h) for h in MALFORMED])
def test_malformed_authorization_is_a_401_naming_the_schemes(token_stack: Stack, header: str | None) -> None:
    headers = {} if header is None else {"Authorization": header}
    response = httpx.get(f"{token_stack.hub_url}/services/tokens/api/token/alice", headers=headers,
                         timeout=30)
    assert response.status_code == 401, response.text
    reason = response.json()["reason"]
    assert "Authorization header" in reason and "hub token" in reason, reason


@pytest.mark.parametrize("scheme", ["token", "Bearer", "BEARER"])
def test_a_well_formed_header_is_read_in_either_scheme(token_stack: Stack, scheme: str) -> None:
    response = httpx.get(f"{token_stack.hub_url}/services/tokens/api/token/alice",
                         headers={"Authorization": f"{scheme}  not-a-hub-token"}, timeout=30)
    assert response.status_code == 403, response.text  # read, then refused by the hub's answer
    assert "not a valid hub token" in response.json()["reason"]
