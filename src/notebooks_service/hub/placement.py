"""Where a deployment puts what the operator config does not place: the one thing the appliers need
besides the config's sections.

`notebooks up` decides it at start (loopback ports, the data dir, generated secrets); on Kubernetes the
hub pod derives it from the release (cluster Services, Secrets passed as environment variables). The
appliers in `hub/config.py` and the capability modules take the validated sections plus a Placement, so
one machine and Kubernetes configure the hub with the same code.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class ServiceEndpoint:
    """How the hub reaches one of its services and how the service is run."""

    url: str
    """Where the hub and the proxy reach it (a loopback port, or a cluster Service)."""
    api_token: str | None = None
    """Its hub API token; None where the deployment provides one (the chart generates them)."""
    command: list[str] | None = None
    """The process the hub runs for it; None when something else runs it (a Deployment, the launcher)."""
    environment: dict[str, str] = field(default_factory=dict)
    """Environment the hub gives the process it runs."""

    def hub_service(self, name: str, *, pages: bool = False) -> dict[str, Any]:
        """The `c.JupyterHub.services` entry for the service `name` here. `pages`: users open its pages
        in their browser and log in to them through the hub, with no confirmation page."""
        entry: dict[str, Any] = {"name": name, "url": self.url, "display": False}
        if pages:
            entry["oauth_no_confirm"] = True
        if self.command:
            entry.update(command=self.command, environment=dict(self.environment))
        if self.api_token:
            entry["api_token"] = self.api_token
        return entry


@dataclass(frozen=True)
class Placement:
    public_url: str
    """The URL users open (no trailing slash)."""
    issuer: str
    """The effective OIDC issuer (the development IdP's URL when the config leaves it empty)."""
    client_secret: str
    jwt: ServiceEndpoint
    tokens: ServiceEndpoint
    credits: ServiceEndpoint
    zones: ServiceEndpoint
    ledger_url: str = ""
    """The credits ledger's database URL (empty when credits are off)."""
