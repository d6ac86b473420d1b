"""The hub's OpenID Connect authenticator.

It extends oauthenticator's GenericOAuthenticator with what research infrastructures need and the generic
class lacks: endpoints found by OIDC discovery from the issuer alone, signature verification of every token
the IdP hands out, admission by group/entitlement shared with the JWT API, and refresh of the access token
*before* it expires (so the token in a session stays usable) rather than after a request fails.
"""

from __future__ import annotations

import asyncio
import contextvars
import time
from collections import defaultdict
from collections.abc import Mapping
from functools import cached_property
from typing import Any

from oauthenticator.generic import GenericOAuthenticator
from tornado import web
from traitlets import Bool, Float, List, Unicode, default, validate

from notebooks_service.auth.admission import Admission, MissingUsernameClaim, admit
from notebooks_service.auth.bearer_login import ROUTE as BEARER_LOGIN_ROUTE
from notebooks_service.auth.bearer_login import BearerLoginHandler
from notebooks_service.auth.idp_errors import idp_call, idp_page, is_refusal
from notebooks_service.auth.login_handler import DiscoveringLoginHandler
from notebooks_service.auth.refresh_due import refresh_due_at
from notebooks_service.auth.userinfo import with_userinfo
from notebooks_service.config.schema import OidcSection
from notebooks_service.oidc.bearer import BearerClaims, bearer_claims, looks_like_jwt
from notebooks_service.oidc.discovery import ProviderMetadata
from notebooks_service.oidc.introspect import Introspector
from notebooks_service.oidc.provider_lookup import ProviderLookup
from notebooks_service.oidc.verify import InvalidToken, JwtVerifier, ProviderUnavailable

_previous_claims: contextvars.ContextVar[dict[str, Any] | None] = contextvars.ContextVar(
    "previous_claims", default=None)
"""During a refresh: the claims of the login being refreshed, for when neither a new ID token nor
the userinfo endpoint tells who the user is."""


class RefreshRefused(Exception):
    """The IdP refused to refresh: only a new login brings new tokens."""


class RefreshUnavailable(Exception):
    """The IdP could not be reached; the current tokens stay in place."""


def keep_session_tokens(authenticator: Any, auth_model: dict[str, Any],
                        existing: dict[str, Any] | None) -> dict[str, Any] | None:
    """A bearer-token login carries no tokens of its own: it keeps those of the browser session
    (which refresh and token delivery depend on) instead of erasing them."""
    new = auth_model.get("auth_state")
    return existing if new is None else new


class NotebooksAuthenticator(GenericOAuthenticator):
    """Log users in with an OIDC provider configured by its issuer URL."""

    issuer = Unicode(
        config=True,
        help="""OpenID Connect issuer URL, e.g. ``https://aai.egi.eu/auth/realms/egi``.

        The authorization, token, userinfo and JWKS endpoints are read from
        ``<issuer>/.well-known/openid-configuration`` when the hub starts.
        """,
    )
    groups_claim = Unicode(
        "eduperson_entitlement",
        config=True,
        help="Claim whose values become the user's hub groups (EGI Check-in: eduperson_entitlement).",
    )
    signature_algorithms = List(
        Unicode(),
        ["RS256", "RS384", "RS512", "ES256", "ES384", "PS256"],
        config=True,
        help="Allow-list of JWT signature algorithms; symmetric algorithms are never accepted.",
    )
    access_token_audience = Unicode(
        "",
        config=True,
        help="Expected ``aud`` of JWT access tokens; empty skips the audience check for them.",
    )
    refresh_margin_fraction = Float(
        1 / 3,
        config=True,
        help="""Refresh the access token once less than this fraction of its lifetime is left.""",
    )
    use_userinfo = Bool(
        True,
        config=True,
        help="""Complete the ID token's claims with the userinfo endpoint's answer at login.

        When the endpoint refuses the access token (IdPs issuing access tokens for a resource server,
        RFC 8707/9068) the login proceeds from the verified ID token alone; False never asks it.
        """,
    )
    idp_timeout = Float(
        8.0,
        config=True,
        help="""Seconds any one call to the identity provider may take (discovery, token, userinfo,
        keys, introspection): the longest a user waits for a page when the IdP does not answer.""",
    )

    login_handler = DiscoveringLoginHandler

    @default("login_service")
    def _login_service_default(self) -> str:
        return "your research identity"

    @default("manage_groups")
    def _manage_groups_default(self) -> bool:
        return True

    @default("enable_auth_state")
    def _enable_auth_state_default(self) -> bool:
        return True

    @default("reconcile_auth_state_hook")
    def _reconcile_auth_state_hook_default(self) -> Any:
        return keep_session_tokens

    @default("http_request_kwargs")
    def _http_request_kwargs_default(self) -> dict[str, Any]:
        return self._with_timeouts({})

    @validate("http_request_kwargs")
    def _keep_timeouts(self, proposal: Any) -> dict[str, Any]:
        """Operators' own request options (proxy, CA) keep the timeouts unless they set theirs."""
        return self._with_timeouts(proposal["value"])

    def _with_timeouts(self, kwargs: dict[str, Any]) -> dict[str, Any]:
        # tornado's own default waits 20 s to connect and 20 s more for an answer
        return {"connect_timeout": self.idp_timeout, "request_timeout": self.idp_timeout, **kwargs}

    def get_handlers(self, app: Any) -> list[tuple[str, Any]]:
        self.provider_lookup.prefetch()
        return [*super().get_handlers(app), (BEARER_LOGIN_ROUTE, BearerLoginHandler)]

    @cached_property
    def provider_lookup(self) -> ProviderLookup:
        if not self.issuer:
            raise ValueError("NotebooksAuthenticator.issuer is not set")
        return ProviderLookup(self.issuer, timeout=self.idp_timeout)

    async def discovered(self) -> ProviderMetadata:
        """The issuer's discovery document, fetched once without blocking the hub; a clear 503 page
        (after at most `idp_timeout` seconds) while the IdP does not answer."""
        with idp_call("discovery document", self.issuer):
            return await self.provider_lookup.get()

    @property
    def provider(self) -> ProviderMetadata:
        """The discovery document; only once `discovered()` succeeded (every IdP path awaits it)."""
        metadata = self.provider_lookup.metadata
        if metadata is None:
            raise ProviderUnavailable(f"{self.issuer} has not been discovered yet")
        return metadata

    @default("authorize_url")
    def _authorize_url_default(self) -> str:
        return self.provider.authorization_endpoint

    @default("token_url")
    def _token_url_default(self) -> str:
        return self.provider.token_endpoint

    @default("userdata_url")
    def _userdata_url_default(self) -> str:
        return self.provider.userinfo_endpoint or ""

    @cached_property
    def verifier(self) -> JwtVerifier:
        return JwtVerifier(
            self.provider,
            algorithms=list(self.signature_algorithms),
            audience=self.access_token_audience or None,
            timeout=self.idp_timeout,
        )

    @cached_property
    def introspector(self) -> Introspector | None:
        """For opaque bearer tokens; None when the provider publishes no introspection endpoint."""
        if not self.provider.introspection_endpoint:
            return None
        return Introspector(self.provider, self.client_id, self.client_secret,
                            timeout=self.idp_timeout)

    @cached_property
    def bearer_login_locks(self) -> defaultdict[str, asyncio.Lock]:
        """One lock per user: concurrent bearer-logins of a user apply one after the other."""
        return defaultdict(asyncio.Lock)

    @cached_property
    def identity_issued_at(self) -> dict[str, float]:
        """Per user, the `iat` of the newest bearer token whose groups and admin flag were applied
        (in this hub process; browser logins are recorded in auth_state)."""
        return {}

    async def bearer_claims(self, token: str) -> BearerClaims:
        """Verified claims of an access token presented as a bearer token (bearer-login)."""
        try:
            await self.provider_lookup.get()
        except Exception as exc:
            raise ProviderUnavailable(str(exc)) from None
        return await bearer_claims(token, self.verifier, self.introspector)

    @property
    def admission_rules(self) -> OidcSection:
        """The admission settings in the shape the shared `admit` function takes."""
        claim = self.username_claim
        return OidcSection(
            issuer=self.issuer,
            username_claim=claim if isinstance(claim, str) else getattr(claim, "__name__", "name"),
            groups_claim=self.groups_claim,
            allowed_groups=sorted(self.allowed_groups),
            admin_groups=sorted(self.admin_groups),
        )

    def admit(self, claims: Mapping[str, Any]) -> Admission:
        """Name, groups and admission of the holder of `claims`: the one rule for browser logins and
        bearer-logins, so both name a person alike, also when `username_claim` is a function."""
        username_of = self.username_claim if callable(self.username_claim) else None
        try:
            return admit(claims, self.admission_rules, username_of=username_of)
        except MissingUsernameClaim:
            raise
        except Exception as exc:  # a configured function that fails on these claims
            self.log.warning("username_claim function failed: %r", exc)
            raise MissingUsernameClaim("the token's claims do not name a user") from None

    def user_info_to_username(self, user_info: dict[str, Any]) -> str:
        """The user name by the shared rule; a clear 403 page when the claims name nobody."""
        try:
            return self.admit(user_info).username
        except MissingUsernameClaim as exc:
            raise idp_page(403, f"The identity provider did not say who you are ({exc}).") from None

    async def _verified_claims(self, token_info: dict[str, Any]) -> dict[str, Any]:
        """Verify the ID token and a JWT access token; return the ID token's claims. The signing keys
        come from discovery, which every caller (login, refresh, a direct call) may not have awaited."""
        await self.discovered()
        claims: dict[str, Any] = {}
        try:
            id_token = token_info.get("id_token")
            if id_token:
                claims = await self.verifier.verify(id_token, audience=self.client_id)
            access_token = token_info["access_token"]
            if looks_like_jwt(access_token):
                await self.verifier.verify(access_token)
        except InvalidToken as exc:
            self.log.warning("Rejected a token from %s: %s", self.issuer, exc)
            raise idp_page(403, f"The identity provider's token is not valid: {exc}.") from None
        except ProviderUnavailable as exc:
            raise idp_page(503, f"The identity provider's signing keys cannot be read: {exc}"
                           ) from None
        return claims

    async def authenticate(self, handler: Any, data: Any = None, **kwargs: Any) -> Any:
        await self.discovered()
        return await super().authenticate(handler, data, **kwargs)

    async def get_token_info(self, handler: Any, params: dict[str, Any]) -> dict[str, Any]:
        """The token endpoint's answer; a clear page (never a 500) for each way it can fail."""
        with idp_call("token endpoint", self.issuer):
            token_info = await super().get_token_info(handler, params)
        expires_in = token_info.get("expires_in") if isinstance(token_info, dict) else None
        if not isinstance(token_info, dict) or not isinstance(token_info.get("access_token"), str) \
                or not (expires_in is None or isinstance(expires_in, int | float)) \
                or isinstance(expires_in, bool):
            raise idp_page(502, "The identity provider's token endpoint sent an unusable answer.")
        token_info.setdefault("token_type", "Bearer")  # required by RFC 6749, yet omitted by some
        return token_info

    async def token_to_user(self, token_info: dict[str, Any]) -> dict[str, Any]:
        """Verified ID-token claims, completed by the userinfo endpoint unless it refuses."""
        claims = await self._verified_claims(token_info) or dict(_previous_claims.get() or {})
        if not self.use_userinfo or not self.userdata_url:
            if not claims:
                raise idp_page(502, "The identity provider sent no ID token, and its userinfo "
                                    "endpoint is not used: nothing says who you are.")
            return claims
        with idp_call("userinfo endpoint", self.issuer):
            return await with_userinfo(claims, lambda: super(NotebooksAuthenticator, self)
                                       .token_to_user(token_info), self.issuer)

    def build_auth_state_dict(self, token_info: dict[str, Any], user_info: dict[str, Any]
                              ) -> dict[str, Any]:
        """Add the access token's lifetime, which proactive refresh and token delivery rely on."""
        auth_state = super().build_auth_state_dict(token_info, user_info)
        lifetime = float(token_info.get("expires_in") or 0)
        now = time.time()
        auth_state["access_token_issued_at"] = now
        auth_state["access_token_expires_at"] = now + lifetime if lifetime else None
        return auth_state

    def _admission(self, auth_model: dict[str, Any]) -> Admission:
        user_info = auth_model["auth_state"][self.user_auth_state_key]
        try:
            return self.admit(user_info)
        except MissingUsernameClaim as exc:
            raise idp_page(403, f"The identity provider did not say who you are ({exc}).") from None

    async def update_auth_model(self, auth_model: dict[str, Any]) -> dict[str, Any]:
        admission = self._admission(auth_model)
        auth_model["admin"] = admission.admin
        return auth_model

    async def get_user_groups(self, auth_state: dict[str, Any]) -> set[str]:
        user_info = auth_state[self.user_auth_state_key]
        return set(self.admit(user_info).groups)

    async def check_allowed(self, username: str, auth_model: dict[str, Any] | None) -> bool:
        """Allowed by the group rules, or by anything the base class allows (`allowed_users`,
        `allowed_scopes`, admins); otherwise a 403 page that says why."""
        if auth_model is None:
            return True
        admission = self._admission(auth_model)
        if admission.allowed or await super().check_allowed(username, auth_model):
            return True
        self.log.warning("Refused login: %s", admission.reason)
        error = web.HTTPError(403, admission.reason)
        error.jupyterhub_message = (  # type: ignore[attr-defined]
            f"Your account is not allowed to use this service: {admission.reason}. "
            "Ask your community's manager to add you to one of these groups."
        )
        raise error

    def _needs_refresh(self, auth_state: dict[str, Any]) -> bool:
        due = refresh_due_at(auth_state, self.refresh_margin_fraction)
        return due is not None and time.time() > due

    @cached_property
    def _refresh_locks(self) -> defaultdict[str, asyncio.Lock]:
        return defaultdict(asyncio.Lock)

    @cached_property
    def _unavailable_at(self) -> dict[str, tuple[float, str]]:
        """Per user, when (monotonic) and why the last refresh found the IdP unavailable."""
        return {}

    async def refresh_tokens(self, user: Any, *, force: bool = False, handler: Any = None
                             ) -> dict[str, Any] | None:
        """Refresh `user`'s tokens when due (or when `force`d), save them and return the auth model.

        The one refresh path shared by requests and the background token refresher. A per-user lock
        ensures a rotated refresh token is never sent twice (the IdP would revoke the whole family).
        Returns None when the tokens are still fresh; raises RefreshRefused or RefreshUnavailable.
        """
        asked_at = time.monotonic()
        async with self._refresh_locks[user.name]:
            failed = self._unavailable_at.get(user.name)
            if failed is not None and failed[0] > asked_at:
                # the IdP failed the refresh this call waited for: don't make the caller wait again
                raise RefreshUnavailable(failed[1])
            auth_state = await user.get_auth_state()
            if not auth_state or "token_response" not in auth_state:
                raise RefreshRefused("no tokens recorded for this login")
            if not force and not self._needs_refresh(auth_state):
                return None
            refresh_token = auth_state.get("refresh_token")
            if not refresh_token:
                raise RefreshRefused("no refresh token")
            try:
                model = await self._refreshed_model(auth_state, refresh_token, handler)
            except RefreshUnavailable as exc:
                self._unavailable_at[user.name] = (time.monotonic(), str(exc))
                raise
            self._unavailable_at.pop(user.name, None)
            # An ID token describes the login; providers may omit a new one on refresh.
            new_state = model["auth_state"]
            new_state["id_token"] = new_state.get("id_token") or auth_state.get("id_token")
            await user.save_auth_state(new_state)
            self.log.info("Refreshed the access token of %s", user.name)
            return model

    async def _refreshed_model(self, auth_state: dict[str, Any], refresh_token: str,
                               handler: Any) -> dict[str, Any]:
        """The auth model from a refresh. Only the IdP's refusal (or a new token that fails
        verification) is RefreshRefused; no answer, an IdP fault or a bug here is RefreshUnavailable,
        which keeps the session's tokens for a retry instead of deleting them."""
        params = self.build_refresh_token_request_params(refresh_token)
        previous = _previous_claims.set(auth_state.get(self.user_auth_state_key))
        try:
            await self.discovered()
            token_info = await self.get_token_info(handler, params)
            token_info.setdefault("refresh_token", refresh_token)
            return await self._token_to_auth_model(token_info)
        except web.HTTPError as exc:
            reason = getattr(exc, "jupyterhub_message", None) or exc.log_message or str(exc)
            if is_refusal(exc):
                raise RefreshRefused(reason) from None
            raise RefreshUnavailable(reason) from None
        except Exception as exc:
            self.log.exception("Unexpected error refreshing tokens; keeping the current ones")
            raise RefreshUnavailable(f"{type(exc).__name__}: {exc}") from None
        finally:
            _previous_claims.reset(previous)

    async def refresh_user(self, user: Any, handler: Any = None, **kwargs: Any) -> Any:
        """Refresh the tokens before they expire; on a refused refresh ask for a new login.

        Returning False only makes the hub ask the user to log in again: running servers are untouched.
        """
        try:
            model = await self.refresh_tokens(user, handler=handler)
        except RefreshRefused as exc:
            self.log.info("Refresh refused for %s (%s): a new login is needed", user.name, exc)
            return False
        except RefreshUnavailable as exc:
            auth_state = await user.get_auth_state() or {}
            self.log.warning("Token refresh for %s failed, IdP unreachable: %s", user.name, exc)
            return (auth_state.get("access_token_expires_at") or 0) > time.time()
        return True if model is None else model
