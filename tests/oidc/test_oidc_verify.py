"""JwtVerifier: every attack case, key rotation and the JWKS refetch rate limit."""

from __future__ import annotations

import asyncio
import time

import pytest
from fake_provider import FakeProvider, attack_tokens, new_key

from notebooks_service.oidc import (
    InvalidToken,
    JwtVerifier,
    ProviderUnavailable,
    discover_async,
)
from notebooks_service.oidc.verify import check_shape, key_matches

ALGS = ["RS256", "RS384", "RS512", "ES256", "ES384", "PS256"]


async def make_verifier(p: FakeProvider, **kw) -> JwtVerifier:
    kw.setdefault("algorithms", ALGS)
    return JwtVerifier(await discover_async(p.issuer), **kw)


async def test_valid_rsa_and_ec_tokens(provider: FakeProvider) -> None:
    v = await make_verifier(provider, audience="notebooks-hub")
    assert (await v.verify(provider.token()))["preferred_username"] == "alice"
    assert (await v.verify(provider.token("ec-1")))["sub"] == "sub-alice"
    assert provider.hits["jwks"] == 1, "keys are cached"


async def test_audience_list_and_override(provider: FakeProvider) -> None:
    v = await make_verifier(provider, audience="notebooks-hub")
    await v.verify(provider.token(aud=["x", "notebooks-hub"]))
    with pytest.raises(InvalidToken, match="wrong audience"):
        await v.verify(provider.token(aud="x"))
    # audience=None disables the check for this call only
    await v.verify(provider.token(aud="x"), audience=None)


async def test_no_audience_configured_accepts_any_aud(provider: FakeProvider) -> None:
    v = await make_verifier(provider)
    await v.verify(provider.token(aud="anything"))


@pytest.mark.parametrize("case", [
    "alg-none", "hs256-public-key", "bad-signature", "expired", "not-yet-valid", "wrong-issuer",
    "wrong-audience", "unknown-kid", "other-issuer", "other-issuer-claiming-ours", "truncated",
    "huge-header", "non-ascii", "revoked-opaque",
])
async def test_attack_suite_rejected(provider: FakeProvider, other_provider: FakeProvider,
                                     case: str) -> None:
    v = await make_verifier(provider, audience="notebooks-hub", min_jwks_refetch_interval=0)
    await v.verify(provider.token())  # prime the key cache
    token = attack_tokens(provider, other_provider)[case]
    with pytest.raises(InvalidToken):
        await v.verify(token)


@pytest.mark.parametrize("garbage", [
    "", ".", "..", "a.b.c", "a.b", "a.b.c.d", "\x00.\x00.\x00", "eyJhbGciOiJSUzI1NiJ9.e30.",
    "eyJhbGciOiJSUzI1NiJ9.!!!.???", "W10.e30.e30", "bnVsbA.e30.e30", "eyJhbGciOjF9.e30.e30",
    "eyJhbGciOiJSUzI1NiIsImtpZCI6MX0.e30.e30", "x" * 20000, "ä.ö.ü",
])
async def test_garbage_is_invalid_token(provider: FakeProvider, garbage: str) -> None:
    v = await make_verifier(provider)
    with pytest.raises(InvalidToken):
        await v.verify(garbage)


async def test_header_alg_outside_allow_list(provider: FakeProvider) -> None:
    provider.keys.append(new_key("rsa-512", "RS512"))
    v = await make_verifier(provider, algorithms=["RS256"])
    with pytest.raises(InvalidToken, match="algorithm not allowed"):
        await v.verify(provider.token("rsa-512"))


async def test_key_alg_must_match_header(provider: FakeProvider) -> None:
    v = await make_verifier(provider)
    # RS384 signature with a key published as RS256
    with pytest.raises(InvalidToken, match="does not match"):
        await v.verify(provider.token("rsa-1", alg="RS384"))
    # RSA signature claiming an EC key id
    token = provider.token("rsa-1", headers={"kid": "ec-1"})
    with pytest.raises(InvalidToken):
        await v.verify(token)


def test_key_matches_rules() -> None:
    assert key_matches({"kty": "RSA"}, "PS256")
    assert not key_matches({"kty": "RSA", "use": "enc"}, "RS256")
    assert not key_matches({"kty": "EC", "crv": "P-384"}, "ES256")
    assert not key_matches({"kty": "oct"}, "RS256")


def test_symmetric_only_allow_list_refused(provider: FakeProvider) -> None:
    from notebooks_service.oidc import ProviderMetadata

    meta = ProviderMetadata("i", "a", "t", "j")
    with pytest.raises(ValueError):
        JwtVerifier(meta, algorithms=["HS256", "none"])


def test_shape_limits() -> None:
    check_shape("a" * 100 + ".b.c")
    with pytest.raises(InvalidToken, match="too large"):
        check_shape("a" * (16 * 1024) + ".b.c")


async def test_missing_exp_rejected(provider: FakeProvider) -> None:
    v = await make_verifier(provider)
    with pytest.raises(InvalidToken, match="exp"):
        await v.verify(provider.token(exp=None))


async def test_leeway_applies(provider: FakeProvider) -> None:
    v = await make_verifier(provider, leeway=30)
    now = int(time.time())
    await v.verify(provider.token(exp=now - 10))
    await v.verify(provider.token(nbf=now + 10))
    with pytest.raises(InvalidToken, match="not yet valid"):
        await v.verify(provider.token(iat=now + 120, nbf=now))


async def test_key_rotation_refetches_on_unknown_kid(provider: FakeProvider) -> None:
    v = await make_verifier(provider, min_jwks_refetch_interval=0)
    await v.verify(provider.token())
    provider.keys = [new_key("rsa-2")]
    assert (await v.verify(provider.token("rsa-2")))["sub"] == "sub-alice"
    assert provider.hits["jwks"] == 2


async def test_unknown_kid_refetch_is_rate_limited(provider: FakeProvider) -> None:
    v = await make_verifier(provider, min_jwks_refetch_interval=0.5)
    await v.verify(provider.token())
    forged = [provider.token(headers={"kid": f"k{i}"}) for i in range(20)]
    results = await asyncio.gather(*(v.verify(t) for t in forged), return_exceptions=True)
    assert all(isinstance(r, InvalidToken) for r in results)
    assert provider.hits["jwks"] == 1, "within the interval no refetch at all"
    # a genuinely new key becomes usable once the interval has passed
    provider.keys.append(new_key("rsa-new"))
    with pytest.raises(InvalidToken, match="unknown signing key"):
        await v.verify(provider.token("rsa-new"))
    await asyncio.sleep(0.6)
    await v.verify(provider.token("rsa-new"))
    assert provider.hits["jwks"] == 2


async def test_withdrawn_key_stops_working_after_the_keys_age(provider: FakeProvider) -> None:
    v = await make_verifier(provider, min_jwks_refetch_interval=0, max_jwks_age=0.3)
    old = provider.token()
    await v.verify(old)
    provider.keys = [new_key("rsa-2")]  # the provider withdrew the key, e.g. after a leak
    await v.verify(old)  # still within the age: no fetch per request
    assert provider.hits["jwks"] == 1
    await asyncio.sleep(0.4)
    with pytest.raises(InvalidToken, match="unknown signing key"):
        await v.verify(old)
    assert provider.hits["jwks"] == 2
    await v.verify(provider.token("rsa-2"))


async def test_old_keys_kept_when_the_provider_is_down_at_their_age(provider: FakeProvider) -> None:
    v = await make_verifier(provider, min_jwks_refetch_interval=0, max_jwks_age=0.2)
    token = provider.token()
    await v.verify(token)
    provider.fail_jwks = True
    await asyncio.sleep(0.3)
    assert (await v.verify(token))["sub"] == "sub-alice"
    assert provider.hits["jwks"] == 2, "it tried"


async def test_concurrent_first_use_fetches_once(provider: FakeProvider) -> None:
    v = await make_verifier(provider)
    await asyncio.gather(*(v.verify(provider.token()) for _ in range(10)))
    assert provider.hits["jwks"] == 1


async def test_provider_down_cached_keys_still_work(provider: FakeProvider) -> None:
    v = await make_verifier(provider, min_jwks_refetch_interval=0)
    await v.verify(provider.token())
    fresh = provider.token()
    provider.keys.append(new_key("rsa-late"))
    late = provider.token("rsa-late")
    await provider.shutdown()
    assert (await v.verify(fresh))["sub"] == "sub-alice"
    with pytest.raises(ProviderUnavailable):
        await v.verify(late)


async def test_jwks_error_is_provider_unavailable(provider: FakeProvider) -> None:
    v = await make_verifier(provider, min_jwks_refetch_interval=10)
    provider.fail_jwks = True
    with pytest.raises(ProviderUnavailable):
        await v.verify(provider.token())
    # still unavailable (not "unknown key") while the rate limit holds
    with pytest.raises(ProviderUnavailable):
        await v.verify(provider.token())
    assert provider.hits["jwks"] == 1
