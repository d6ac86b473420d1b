"""When an access token is due for refresh: one rule for the hub's request path and the refresher.

The authenticator decides on a request whether to refresh; the background refresher decides when to
wake up for it. Were the two computed apart, a change to one would make the refresher wake too early
(a request finds nothing due: busy loop) or too late (the token in a server expires first).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def refresh_due_at(auth_state: Mapping[str, Any], margin_fraction: float) -> float | None:
    """Epoch seconds from which the access token is due: when less than `margin_fraction` of its
    lifetime is left. None when its expiry is unknown (the provider gave no `expires_in`)."""
    expires_at = auth_state.get("access_token_expires_at")
    if not expires_at:
        return None
    issued_at = float(auth_state.get("access_token_issued_at") or 0)
    lifetime = max(float(expires_at) - issued_at, 1.0)
    return float(expires_at) - lifetime * margin_fraction
