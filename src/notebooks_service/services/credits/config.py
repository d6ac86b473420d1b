"""The `[credits]` section of the operator config: server sizes with prices, grants, enforcement.

Kept here rather than in `config/schema.py` so the credits capability owns its settings; the schema
only adds one field. Durations are seconds (like the rest of the config) except grant periods and
lifetimes, which operators think of in days.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

Positive = Annotated[float, Field(gt=0)]
NonNegative = Annotated[float, Field(ge=0)]


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class Profile(_Section):
    """One server size. The table key (`[credits.profiles.<name>]`) is the profile's name."""

    description: str = ""
    cpu: Positive = 1.0
    """CPU cores (`CPU_LIMIT` in the server's environment)."""
    memory_gb: Positive = 2.0
    """Memory in GiB (`MEM_LIMIT` in bytes in the server's environment)."""
    gpu: Annotated[int, Field(ge=0)] = 0
    price_per_hour: NonNegative = 1.0
    """Credits charged per hour of ready server time."""
    groups: list[str] = []
    """Groups allowed to use this profile; empty: every user."""

    def allows(self, groups: list[str] | set[str]) -> bool:
        return not self.groups or bool(set(self.groups) & set(groups))


class GroupGrant(_Section):
    """Credits given every `period_days` to a group (`[credits.grants.<group>]`)."""

    amount: Positive
    period_days: Positive = 90.0
    cap: NonNegative = 0.0
    """The grant never lifts the wallet above this balance; 0 means no cap."""
    wallet: Literal["personal", "project"] = "personal"
    """`personal`: each member's own wallet gets `amount`. `project`: the group's shared wallet."""


def _default_profiles() -> dict[str, Profile]:
    return {
        "small": Profile(description="1 CPU, 2 GiB", cpu=1.0, memory_gb=2.0, price_per_hour=1.0),
        "large": Profile(description="4 CPU, 16 GiB", cpu=4.0, memory_gb=16.0, price_per_hour=6.0),
    }


class CreditsSection(_Section):
    """Credits for resource use. Off by default: then servers are free and the spawn form unchanged."""

    enabled: bool = False
    database_url: str = ""
    """SQLAlchemy URL of the ledger; empty: `credits.sqlite` in the data dir. PostgreSQL is supported
    (`postgresql+psycopg://user:password@host/db`)."""
    profiles: dict[str, Profile] = Field(default_factory=_default_profiles)
    default_profile: str = ""
    """Profile used when none is chosen; empty: the first one the user may use."""
    grants: dict[str, GroupGrant] = {}
    grant_lifetime_days: Positive = 180.0
    """Granted credits expire this long after the grant, oldest first."""
    unlimited_users: list[str] = []
    """Operators' own accounts: charged for the record, never refused or stopped."""
    minimum_runway: Annotated[int, Field(ge=0)] = 900
    """A spawn is refused when the wallet pays for less than this many seconds at the profile's price."""
    warning_thresholds: list[Annotated[int, Field(gt=0)]] = [900, 300]
    """Runway (seconds) at which users are warned."""
    grace_period: Annotated[int, Field(ge=0)] = 300
    """Seconds a server keeps running at zero balance before it is stopped."""
    posting_interval: Annotated[int, Field(gt=0, le=60)] = 60
    """Seconds between accounting cycles; charges are posted at least this often."""
    how_to_get_more: str = "Ask your group's manager or the service operators for more credits."
    """Shown when a spawn is refused and on the credits page."""
    service_port: Annotated[int, Field(ge=0, le=65535)] = 0
    """Internal port of the credits service; 0 picks a free one at start."""

    @model_validator(mode="after")
    def _consistent(self) -> CreditsSection:
        if self.enabled and not self.profiles:
            raise ValueError("credits.enabled needs at least one profile in credits.profiles")
        if self.default_profile and self.default_profile not in self.profiles:
            raise ValueError(f"credits.default_profile {self.default_profile!r} is not a profile")
        return self

    def ledger_url(self, data_dir: str) -> str:
        return self.database_url or f"sqlite:///{data_dir}/credits.sqlite"

    def profiles_for(self, groups: list[str] | set[str]) -> dict[str, Profile]:
        """The profiles a member of `groups` may use, in config order."""
        return {name: p for name, p in self.profiles.items() if p.allows(groups)}
