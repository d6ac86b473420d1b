"""Migration 0002 (zones) on a ledger in use: written at 0001 by a hub charging a server, upgraded,
charged on, downgraded and upgraded again, on SQLite and PostgreSQL."""

from __future__ import annotations

import subprocess
import sys
from datetime import timedelta

from alembic import command
from alembic.script import ScriptDirectory
from sqlalchemy import column, insert, inspect, select, table

from notebooks_service.services.credits.config import CreditsSection, Profile
from notebooks_service.services.credits.cycle import accounting_cycle
from notebooks_service.services.credits.db import alembic_config, open_engine
from notebooks_service.services.credits.ledger import Ledger, to_micro, verify
from notebooks_service.services.credits.models import Entry, RunningServer
from tests.credits.fakes import T0, FakeHub, balance, server
from tests.credits.postgres import PostgresServer

SETTINGS = CreditsSection(enabled=True, posting_interval=60, profiles={"small": Profile(price_per_hour=3.6)})
SESSION = "alice/@2025-03-01T09:00:00Z"
"""The key 0001's cycle gave alice's server (`server("alice")`), which a hub that is not a zone keeps."""


def interval(seconds: int) -> int:
    """The interval number of T0 + `seconds` (posting interval 60 s)."""
    return int((T0 + timedelta(seconds=seconds)).timestamp()) // 60


def write_at_0001(url: str) -> None:
    """A ledger as a hub left it before zones: alice funded, her server charged for its first minute.
    Written without the models, which know the zone column 0001 does not have."""
    engine = open_engine(url)
    command.upgrade(alembic_config(engine), "0001")
    naive = T0.replace(tzinfo=None)
    minute = naive + timedelta(seconds=60)
    wallets = table("wallets", column("id"), column("balance"), column("created"))
    entries = table("entries", *(column(name) for name in (
        "time", "wallet", "kind", "amount", "actor", "reason", "server", "profile", "seconds", "key")))
    running = table("running_servers", *(column(name) for name in (
        "server", "user", "server_name", "wallet", "profile", "price", "ready_since", "charged_until")))
    with engine.begin() as connection:
        connection.execute(insert(wallets).values(id="user:alice", balance=to_micro(10 - 0.06),
                                                  created=naive))
        connection.execute(insert(entries), [
            {"time": naive, "wallet": "user:alice", "kind": "adjustment", "amount": to_micro(10),
             "actor": "admin", "reason": "funding", "server": "", "profile": "", "seconds": 0, "key": None},
            {"time": minute, "wallet": "user:alice", "kind": "charge", "amount": -to_micro(0.06),
             "actor": "credits", "reason": "", "server": "alice/", "profile": "small", "seconds": 60,
             "key": f"charge:{SESSION}:{interval(60)}"}])
        connection.execute(insert(running).values(
            server=SESSION, user="alice", server_name="", wallet="user:alice", profile="small",
            price=to_micro(3.6), ready_since=naive, charged_until=minute))
    engine.dispose()


async def test_0002_keeps_a_single_hub_charging_across_the_upgrade(ledger_url: str) -> None:
    write_at_0001(ledger_url)
    ledger = Ledger.open(ledger_url)  # upgrades to head, as the hub and the service do at start
    try:
        columns = inspect(ledger.engine)
        assert "ix_running_servers_zone" in {i["name"] for i in columns.get_indexes("running_servers")}
        with ledger.session() as s:
            assert s.execute(select(Entry.kind, Entry.zone).order_by(Entry.id)).all() == [
                ("adjustment", ""), ("charge", "")]
            assert s.execute(select(RunningServer.server, RunningServer.zone)).all() == [(SESSION, "")]

        report = await accounting_cycle(FakeHub([server("alice")]), ledger, SETTINGS,
                                        T0 + timedelta(seconds=120))
        assert report.charges == 1
        with ledger.session() as s:
            latest = s.scalars(select(Entry).order_by(Entry.id.desc()).limit(1)).one()
            assert verify(s) == {}
        # charged on from where 0001's cycle stopped, not restarted from now
        assert (latest.seconds, latest.zone, latest.key) == (60, "", f"charge:{SESSION}:{interval(120)}")
        assert balance(ledger, "user:alice") == to_micro(10 - 0.12)

        config = alembic_config(ledger.engine)
        command.downgrade(config, "0001")
        assert "zone" not in {c["name"] for c in inspect(ledger.engine).get_columns("entries")}
        command.upgrade(config, "head")
        assert balance(ledger, "user:alice") == to_micro(10 - 0.12)
    finally:
        ledger.close()


def test_processes_migrating_a_new_postgresql_ledger_at_once_all_succeed(postgres: PostgresServer) -> None:
    """The hub and the credits Deployment start together on Kubernetes and both migrate: without the
    migration lock one of them failed on a table the other had just created."""
    url = postgres.create_database("credits_migrate_race")
    script = ("import sys\nfrom notebooks_service.services.credits.ledger import Ledger\n"
              "Ledger.open(sys.argv[1]).close()\n")
    racers = [subprocess.Popen([sys.executable, "-c", script, url], stderr=subprocess.PIPE, text=True)
              for _ in range(4)]
    errors = [racer.communicate(timeout=120)[1] for racer in racers]
    assert [racer.returncode for racer in racers] == [0, 0, 0, 0], errors
    engine = open_engine(url)
    try:
        with engine.connect() as connection:
            versions = connection.execute(select(column("version_num")).select_from(
                table("alembic_version"))).scalars().all()
        assert versions == [ScriptDirectory.from_config(alembic_config(engine)).get_current_head()]
    finally:
        engine.dispose()
