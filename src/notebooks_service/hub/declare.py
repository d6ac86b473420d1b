"""Add services and roles to a hub config without clobbering what was there.

On Kubernetes the chart's `jupyterhub_config.py` runs first: it declares `hub.services` (with the API
tokens it generated) and `hub.loadRoles` (and the culler's service and role). Our appliers run after it,
so they merge by name: an entry of ours updates the chart's entry of the same name, keeping its token.
"""

from __future__ import annotations

from typing import Any


def _merged(entries: list[dict[str, Any]], entry: dict[str, Any]) -> list[dict[str, Any]]:
    for index, existing in enumerate(entries):
        if existing.get("name") == entry["name"]:
            return [*entries[:index], {**existing, **entry}, *entries[index + 1:]]
    return [*entries, entry]


def declare_service(c: Any, entry: dict[str, Any]) -> None:
    services = list(c.JupyterHub.services) if "services" in c.JupyterHub else []
    c.JupyterHub.services = _merged(services, entry)


def declare_role(c: Any, role: dict[str, Any]) -> None:
    roles = list(c.JupyterHub.load_roles) if "load_roles" in c.JupyterHub else []
    c.JupyterHub.load_roles = _merged(roles, role)


def with_user_role_scopes(c: Any, scopes: tuple[str, ...]) -> None:
    """Add `scopes` to the `user` role, creating it (with `self`) if no one declared it."""
    roles = list(c.JupyterHub.load_roles) if "load_roles" in c.JupyterHub else []
    user = next((role for role in roles if role.get("name") == "user"), {"name": "user", "scopes": ["self"]})
    current = list(user.get("scopes", ["self"]))
    declare_role(c, {**user, "scopes": current + [s for s in scopes if s not in current]})
