"""`POST /hub/api/notebooks/bearer-login`: a login with an OIDC bearer token, for the JWT API.

A user who first reaches the hub through `/services/jwt` must exist exactly as a browser login would
make them: same name, groups and `admin` flag. Only the hub can set the `admin` flag without holding
admin rights itself, so the JWT service hands the caller's token to this endpoint, which verifies it
again (the service is not trusted with claims), applies the authenticator's admission rules, records
the login through the hub's own `auth_to_user` and returns a hub token of that user with the user's
own permissions. The caller needs the custom scope `LOGIN_SCOPE` and nothing else.
"""

from __future__ import annotations

import json
import time
from typing import Any

from jupyterhub import orm
from jupyterhub.apihandlers.base import APIHandler
from tornado import web

from notebooks_service.auth.admission import Admission, MissingUsernameClaim
from notebooks_service.oidc.verify import InvalidToken, ProviderUnavailable, time_claim

LOGIN_SCOPE = "custom:notebooks:bearer-login"
LOGIN_SCOPE_DESCRIPTION = "Log users in with their OIDC bearer token and issue them a hub token."
ROUTE = r"/api/notebooks/bearer-login"
MAX_TOKEN_LIFETIME = 3600
"""Seconds: the longest hub token issued, whatever the caller asks, also for OIDC tokens without `exp`."""


def _request(body: Any) -> tuple[str, int, str]:
    """(token, expires_in, note) of a valid request body, else HTTP 400."""
    if not isinstance(body, dict):
        raise web.HTTPError(400, "body must be a JSON object")
    token, expires_in, note = body.get("token"), body.get("expires_in"), body.get("note", "")
    if not isinstance(token, str) or not token:
        raise web.HTTPError(400, "'token' must be a non-empty string")
    if not isinstance(expires_in, int) or isinstance(expires_in, bool) or expires_in < 1:
        raise web.HTTPError(400, "'expires_in' must be a positive integer (seconds)")
    if not isinstance(note, str):
        raise web.HTTPError(400, "'note' must be a string")
    return token, expires_in, note


class BearerLoginHandler(APIHandler):
    async def post(self) -> None:
        if LOGIN_SCOPE not in self.expanded_scopes:
            raise web.HTTPError(403, f"requires the {LOGIN_SCOPE} scope")
        token, expires_in, note = _request(self.get_json_body())
        authenticator = self.authenticator
        try:
            claims = (await authenticator.bearer_claims(token)).claims
            admission = authenticator.admit(claims)
        except InvalidToken as e:
            raise web.HTTPError(401, str(e)) from None
        except ProviderUnavailable as e:
            raise web.HTTPError(503, f"identity provider unavailable: {e}") from None
        except MissingUsernameClaim as e:
            raise web.HTTPError(403, str(e)) from None
        name = authenticator.normalize_username(admission.username)
        if not authenticator.validate_username(name) or not authenticator.check_blocked_users(
                name, None):
            raise web.HTTPError(403, f"user {name!r} may not log in")
        # the browser login's rule: groups, or anything else the hub allows (allowed_users...)
        await authenticator.check_allowed(name, {
            "name": name, "admin": admission.admin, "groups": list(admission.groups),
            "auth_state": {authenticator.user_auth_state_key: claims}})
        exp = time_claim(claims, "exp")
        if exp is not None:
            expires_in = min(expires_in, int(exp - time.time()))
        expires_in = min(expires_in, MAX_TOKEN_LIFETIME)
        if expires_in < 1:
            raise web.HTTPError(401, "token expired")
        async with authenticator.bearer_login_locks[name]:  # logins of one user apply in order
            user = await self.auth_to_user(
                await self._login_model(name, admission, time_claim(claims, "iat")))
        issued = user.new_api_token(note=note, expires_in=expires_in)
        orm_token = orm.APIToken.find(self.db, issued)
        if orm_token is None:
            raise web.HTTPError(500, "failed to issue a token")
        self.log.info("Bearer-token login of %s by %s; issued hub token %s for %ds",
                      name, self.current_user.name, orm_token.api_id, expires_in)
        self.set_status(201)
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps({"name": user.name, "token": issued,
                                "id": orm_token.api_id, "expires_in": expires_in}))

    async def _login_model(self, name: str, admission: Admission, issued: float | None
                           ) -> dict[str, Any]:
        """The login to record: groups and admin flag only from a token at least as new (`iat`) as
        the newest one already applied (a browser login or refresh, or an earlier bearer-login), so
        an older token of a demoted admin cannot make them admin again. A token without `iat`
        cannot be placed in that order and applies as a browser login would."""
        model: dict[str, Any] = {"name": name, "groups": None}  # None: leave the groups as they are
        newest = 0.0
        user = self.find_user(name)
        if user is not None:
            auth_state = await user.get_auth_state() or {}
            # whole seconds, like `iat`: a token issued in the second of the login counts as as new
            newest = float(int(auth_state.get("access_token_issued_at") or 0))
        applied = self.authenticator.identity_issued_at
        newest = max(newest, applied.get(name, 0.0))
        if issued is not None and issued < newest:
            self.log.info("Bearer-token login of %s with a token older than the last login: "
                          "groups and admin flag unchanged", name)
            return model
        if issued is not None:
            applied[name] = issued
        return {**model, "admin": admission.admin, "groups": list(admission.groups)}
