"""Hub configuration for credits: the managed service, its role, the spawn section, nav link, banner.

Least privilege for the service's own token (user-facing calls are authorised per user):
- `list:users`, `read:users:name`, `read:users:groups`, `read:servers`: list active servers with
  their `user_options` and their owners' groups and admin flag;
- `delete:servers`: stop a server whose wallet is empty after the grace period.
Users get `access:services!service=credits` so that their browser (OAuth) and their hub tokens
reach the service; single-user servers may put it in the tokens they issue to browsers (JupyterLab's
page token), so that the lab's status-bar item asks with the browsing user's own token.
"""

from __future__ import annotations

import logging
import sys
from typing import Any

from notebooks_service.hub.declare import declare_role, declare_service, with_user_role_scopes
from notebooks_service.hub.placement import ServiceEndpoint
from notebooks_service.services.credits.banner import WarningBoard
from notebooks_service.services.credits.config import CreditsSection
from notebooks_service.services.credits.ledger import Ledger
from notebooks_service.services.credits.spawn import CreditsOptionSection

log = logging.getLogger(__name__)

SERVICE_NAME = "credits"
ROLE_NAME = "notebooks-credits-service"
SCOPES = ("list:users", "read:users:name", "read:users:groups", "read:servers", "delete:servers")
PAGE_URL = f"/services/{SERVICE_NAME}/"


def bind_section(settings: CreditsSection, ledger_url: str) -> type[CreditsOptionSection]:
    """A section class carrying the settings (the spawner instantiates sections without arguments)."""
    return type("BoundCreditsOptionSection", (CreditsOptionSection,),
                {"settings": settings, "ledger_url": ledger_url, "page_url": PAGE_URL, "_ledger": None})


def warning_for(section: type[CreditsOptionSection]) -> Any:
    """The `credits_warning` template variable: a callable the hub calls with the current user on
    every page it renders, so it reads a snapshot (`banner.WarningBoard`) and never the ledger."""
    board = WarningBoard(section.ledger, section.settings)

    def credits_warning(user: Any) -> str:
        board.start()
        if user is None or getattr(user, "kind", "user") != "user":
            return ""
        return board.text_for(user.name, [g.name for g in user.groups])
    return credits_warning


ACCESS_SCOPE = f"access:services!service={SERVICE_NAME}"


def credits_role() -> dict[str, Any]:
    return {"name": ROLE_NAME, "description": "Charge running servers and stop them at zero credits",
            "scopes": list(SCOPES), "services": [SERVICE_NAME]}


CREDITS_COMMAND = [sys.executable, "-m", "notebooks_service.services.credits"]


def credits_service(endpoint: ServiceEndpoint) -> dict[str, Any]:
    """The `c.JupyterHub.services` entry: a process the hub runs (one machine) or a Deployment's
    Service (Kubernetes), with a page users open."""
    return endpoint.hub_service(SERVICE_NAME, pages=True)


def configure_credits(c: Any, settings: CreditsSection, endpoint: ServiceEndpoint, ledger_url: str) -> None:
    """Add credits to the hub config `c` when `[credits] enabled = true`."""
    if not settings.enabled:
        return
    Ledger.open(ledger_url).close()  # migrate before the hub starts the service and renders forms
    declare_service(c, credits_service(endpoint))
    declare_role(c, credits_role())
    with_user_role_scopes(c, (ACCESS_SCOPE,))
    spawner = c.Spawner
    allowed = list(spawner.oauth_client_allowed_scopes) if "oauth_client_allowed_scopes" in spawner else []
    c.Spawner.oauth_client_allowed_scopes = [*allowed, ACCESS_SCOPE]
    section = bind_section(settings, ledger_url)
    c.SpawnOptionsMixin.option_sections.append(section)
    c.JupyterHub.template_vars.update({"credits_url": PAGE_URL, "credits_warning": warning_for(section)})
    log.info("credits enabled at %s, ledger %s", PAGE_URL, ledger_url.split("@")[-1])
