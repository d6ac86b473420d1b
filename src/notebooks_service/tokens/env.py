"""Operator-chosen environment variables filled from auth_state at spawn (e.g. D4Science's GCUBE_TOKEN)."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

log = logging.getLogger(__name__)


def env_tokens(mapping: Mapping[str, str], auth_state: Mapping[str, Any] | None, username: str
               ) -> dict[str, str]:
    """`{VARIABLE: value}` for every mapped auth_state field holding a string; missing ones are logged.

    A dotted field (`token_response.access_token`) reads nested values.
    """
    env: dict[str, str] = {}
    for variable, field in mapping.items():
        value: Any = auth_state or {}
        for part in field.split("."):
            value = value.get(part) if isinstance(value, Mapping) else None
        if isinstance(value, str) and value:
            env[variable] = value
        else:
            log.warning("No auth_state field %r for %s: %s is not set", field, username, variable)
    return env
