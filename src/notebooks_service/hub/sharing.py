"""Let users share their servers with each other through JupyterHub's sharing feature (JupyterHub >= 5).

Real-time collaboration needs a second user inside the owner's server. JupyterHub grants that with a
*share* (to a named user or group) or a *share code* (a link anyone logged in can accept), both revocable
by the owner at any time, without an administrator. Users cannot share by default; this module grants it.

Scopes, and why each one:

- `shares!user` on the `user` role: manage shares of one's own servers (grant, list, revoke, share codes).
- `read:users:name` and `read:groups:name` on the `user` role: sharing *by name* requires seeing the
  name of the user or group shared with. This makes user and group names visible to every user, which
  suits a research collaboration service; share codes work without it.
- No `list:users` nor `list:groups`: the share dialog of jupyter-collaboration (its `shared-link`
  plugin) offers as recipients only users and groups it can list, when the token's scopes from
  `GET /user` contain exactly `list:users` (resp. `list:groups`); filtered scopes do not count.
  Unfiltered `list:users` would let every user's tokens list all users, while `GET /users` answering
  with oneself only is what the JWT API (`/services/jwt`) documents and tests. Group shares do not
  work through tokens in JupyterHub 6.1 (`scopes.get_scopes_for` adds a token owner's direct shares,
  not their groups' shares), so members of a group shared with are refused by the server: offering
  groups in the dialog would mislead. The dialog therefore lists and revokes shares; granting one is
  done with the hub API (`POST /shares/<owner>/`) or a share code.
- `oauth_client_allowed_scopes` of the single-user servers: the token a user's browser holds for a server
  (JupyterLab's page token, which the dialog uses) may also carry `shares!server` (only for the server it
  was issued for) and the two name scopes, so that the dialog can manage the server's
  shares. A collaborator's token only gets the subset of these scopes they hold themselves, and no
  `shares` scope on the owner's server, so collaborators can use but never re-share the server.
- A single-user server caches the hub's answer about a token for `HubOAuth.cache_max_age` (5 minutes by
  default); it is shortened so that a revoked share ends a collaborator's access within that many seconds.
"""

from __future__ import annotations

from typing import Any

from notebooks_service.hub.declare import with_user_role_scopes

USER_SHARING_SCOPES = ("shares!user", "read:users:name", "read:groups:name")
"""Added to the default `user` role (which keeps its default `self`)."""

SERVER_SHARING_SCOPES = ("shares!server", "read:users:name", "read:groups:name")
"""What a token issued by a single-user server may carry besides access to that server."""

REVOCATION_DELAY = 20
"""Seconds a single-user server may keep trusting a collaborator whose share was revoked."""


def configure_sharing(c: Any) -> None:
    """Enable sharing of servers between users, keeping roles and scopes other modules configured."""
    with_user_role_scopes(c, USER_SHARING_SCOPES)
    spawner = c.Spawner
    allowed = list(spawner.oauth_client_allowed_scopes) if "oauth_client_allowed_scopes" in spawner else []
    c.Spawner.oauth_client_allowed_scopes = allowed + [s for s in SERVER_SHARING_SCOPES if s not in allowed]
    args = list(spawner.args) if "args" in spawner else []
    c.Spawner.args = [*args, f"--HubOAuth.cache_max_age={REVOCATION_DELAY}"]
