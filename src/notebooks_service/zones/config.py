"""The `[zone]` and `[federation]` sections of the operator config.

A zone is one hub (one `notebooks up`, or one Kubernetes release). The federation lists the zones a user
may work in; every zone serves that directory (`/services/zones`), checks the others' health, and may
share one credits ledger with them, so that one token and one wallet serve every zone.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, model_validator

ZoneName = Annotated[str, Field(pattern=r"^[a-z0-9]([-a-z0-9]{0,30}[a-z0-9])?$")]
Url = Annotated[str, Field(pattern=r"^https?://[^/\s]+(/[^\s]*)?$")]


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class ZoneSection(_Section):
    """This hub as a zone."""

    name: ZoneName | None = None
    """The zone's name, e.g. `eu-1`; unset: a hub of its own, not part of a federation."""
    display_name: str = ""
    """Shown to users; empty: the name."""
    public_url: Annotated[str, Field(pattern=r"^(https?://[^/\s]+)?$")] = ""
    """The URL users open for this zone; empty: the hub's own (`service` or `kubernetes.public_url`)."""

    @property
    def label(self) -> str:
        return self.display_name or self.name or ""


class FederationZone(_Section):
    """Another zone of the federation (this zone may be listed too: it is known by its name)."""

    name: ZoneName
    display_name: str = ""
    url: Url
    """Its public URL, e.g. `https://eu-2.notebooks.example.org`."""


class FederationSection(_Section):
    """The zones users can choose from, with the health of each checked in the background."""

    zones: list[FederationZone] = []
    health_interval: Annotated[float, Field(gt=0)] = 30.0
    """Seconds between health checks of the other zones."""
    health_timeout: Annotated[float, Field(gt=0, le=30)] = 3.0
    """A zone that does not answer within this many seconds is shown as down."""

    @model_validator(mode="after")
    def _unique(self) -> FederationSection:
        names = [zone.name for zone in self.zones]
        twice = sorted({name for name in names if names.count(name) > 1})
        if twice:
            raise ValueError(f"federation.zones: zone(s) listed twice: {', '.join(twice)}")
        return self
