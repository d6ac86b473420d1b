"""Two zones on one machine: two `notebooks up`, one identity provider (eu-1's development IdP, which
eu-2's hub trusts as a real IdP), one credits ledger on PostgreSQL, and a third zone listed in the
federation that never answers."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from notebooks_service.launcher.ports import free_port
from notebooks_service.launcher.token import fetch_token
from tests.conftest import DEMO_USERS
from tests.credits.postgres import PostgresServer
from tests.credits.stack_config import credits_sections
from tests.stack import DEMO_PASSWORD, Stack, make_stack, toml_value, write_toml

EU2_CLIENT = ("eu-2-hub", "eu-2-client-secret-for-the-test")


@dataclass
class Federation:
    eu1: Stack
    eu2: Stack
    down_url: str
    """Where the third zone, eu-3, would be: nothing listens there."""
    described_at_start: dict[str, int]
    """The status of each zone's `/services/zones/self` asked the moment its `notebooks up` said it was up."""

    def token(self, user: str) -> str:
        """An access token from the one IdP (eu-1's), as `notebooks token` gets it."""
        return fetch_token(self.eu1.data_dir, user, DEMO_PASSWORD)


def array_of_tables(name: str, rows: list[dict[str, Any]]) -> str:
    """TOML `[[name]]` tables (tests.stack.write_toml writes plain tables only)."""
    lines = []
    for row in rows:
        lines.append(f"[[{name}]]")
        for key, value in row.items():
            lines.append(f"{key} = {toml_value(value)}")
    return "\n".join(lines) + "\n"


def configure(stack: Stack, sections: dict[str, dict[str, Any]], zones: list[dict[str, str]],
              users: list[dict[str, Any]] | None, clients: list[dict[str, Any]] | None = None) -> None:
    base = {"service": {"port": stack.port, "data_dir": str(stack.data_dir), "auth_refresh_age": 5}}
    write_toml(stack.config_path, {**base, **sections}, users)
    extra = array_of_tables("federation.zones", zones)
    if clients:
        extra += array_of_tables("dev_idp.clients", clients)
    with stack.config_path.open("a") as config:
        config.write(extra)


def described(zone: Stack) -> int:
    """The status of the zone's own description, which the other zones' health checks read."""
    return httpx.get(f"{zone.hub_url}/services/zones/self", timeout=10).status_code


@pytest.fixture(scope="package")  # one federation for every test module of the zones
def federation(postgres: PostgresServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Federation]:
    base: Path = tmp_path_factory.mktemp("zones")
    ledger = postgres.create_database("zones_ledger")
    eu1, eu2 = make_stack(base, "eu-1"), make_stack(base, "eu-2")
    down_url = f"http://127.0.0.1:{free_port()}"
    zones = [{"name": "eu-1", "display_name": "EU 1", "url": eu1.hub_url},
             {"name": "eu-2", "display_name": "EU 2", "url": eu2.hub_url},
             {"name": "eu-3", "display_name": "EU 3", "url": down_url}]
    shared = {**credits_sections(ledger), "federation": {"health_interval": 1, "health_timeout": 2}}
    client_id, secret = EU2_CLIENT
    configure(eu1, {**shared, "dev_idp": {"port": eu1.idp_port},
                    "zone": {"name": "eu-1", "display_name": "EU 1"}}, zones, DEMO_USERS,
              clients=[{"client_id": client_id, "client_secret": secret,
                        "redirect_uris": [f"{eu2.hub_url}/hub/oauth_callback"]}])
    configure(eu2, {**shared, "dev_idp": {"enabled": False},
                    "oidc": {"issuer": eu1.issuer, "client_id": client_id, "client_secret": secret},
                    "zone": {"name": "eu-2", "display_name": "EU 2"}}, zones, None)
    described_at_start = {}
    eu1.start()
    try:
        described_at_start["eu-1"] = described(eu1)
        eu2.start()
        described_at_start["eu-2"] = described(eu2)
    except BaseException:
        eu2.stop()
        eu1.stop()
        raise
    yield Federation(eu1=eu1, eu2=eu2, down_url=down_url, described_at_start=described_at_start)
    eu2.stop()
    eu1.stop()
