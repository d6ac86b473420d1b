"""System accounts for hub users: created on first spawn, in a configured uid range, never borrowed.

The account name is derived from the hub user name (see `account_name`); the account's comment field
records a digest of that hub name, so an account is reused only by the hub user it was made for. An
account of the same name that we did not make (outside our uid range, or made for another hub user) is
never reused: the spawn is refused with a message saying why.
"""

from __future__ import annotations

import asyncio
import grp
import hashlib
import logging
import pwd
import re
from dataclasses import dataclass

log = logging.getLogger(__name__)

MAX_NAME_LENGTH = 32
"""Longest user name the shadow tools accept."""
_UNSAFE = re.compile(r"[^a-z0-9_-]")
COMMENT_PREFIX = "notebooks-service user "


class AccountError(RuntimeError):
    """The account for a hub user cannot be used or created; the message is shown to the user."""


@dataclass(frozen=True)
class Account:
    name: str
    uid: int
    gid: int

    @property
    def sandbox_home(self) -> str:
        """Where the account's home appears inside its sandbox (and its home in /etc/passwd)."""
        return f"/home/{self.name}"


def account_name(prefix: str, hub_user: str) -> str:
    """A valid, collision-free system user name for `hub_user`.

    A hub name that is already a safe name and fits is kept as is after the prefix; any other name is
    made safe, cut short, and followed by a digest of the original, so that two hub names never map to
    the same account (the comment field check in `AccountManager` catches the astronomically rare rest).
    """
    safe = _UNSAFE.sub("-", hub_user.lower())
    name = prefix + safe
    if safe == hub_user and len(name) <= MAX_NAME_LENGTH:
        return name
    digest = _digest(hub_user)[:8]
    return f"{prefix}{safe[:MAX_NAME_LENGTH - len(prefix) - len(digest) - 1]}-{digest}"


def _digest(hub_user: str) -> str:
    return hashlib.sha256(hub_user.encode()).hexdigest()


def owner_comment(hub_user: str) -> str:
    """The comment (GECOS) field marking an account as ours and naming, by digest, its hub user."""
    return COMMENT_PREFIX + _digest(hub_user)[:32]


class AccountManager:
    """Finds or creates hub users' accounts; one creation at a time (the shadow files are locked)."""

    def __init__(self, prefix: str, uid_min: int, uid_max: int) -> None:
        self.prefix = prefix
        self.uid_min = uid_min
        self.uid_max = uid_max
        self._lock = asyncio.Lock()

    def existing(self, hub_user: str) -> Account | None:
        """The hub user's account if it exists and is ours; raises AccountError if it is not ours."""
        name = account_name(self.prefix, hub_user)
        try:
            entry = pwd.getpwnam(name)
        except KeyError:
            return None
        if not self.uid_min <= entry.pw_uid <= self.uid_max:
            raise AccountError(
                f"A system account named {name!r} already exists with uid {entry.pw_uid}, outside the "
                f"service's range {self.uid_min}-{self.uid_max}: it is not the service's, so it is not "
                "used. An administrator must rename it or change isolation.account_prefix.")
        if entry.pw_gecos != owner_comment(hub_user):
            raise AccountError(
                f"The system account {name!r} belongs to another hub user; an administrator must "
                "resolve the clash (rename one of the accounts).")
        return Account(name, entry.pw_uid, entry.pw_gid)

    async def ensure(self, hub_user: str) -> Account:
        """The hub user's account, created on first use."""
        account = self.existing(hub_user)
        if account is not None:
            return account
        async with self._lock:
            account = self.existing(hub_user)  # created meanwhile by a concurrent spawn
            if account is None:
                account = await self._create(hub_user)
        return account

    def _free_id(self) -> int:
        used = {entry.pw_uid for entry in pwd.getpwall()} | {entry.gr_gid for entry in grp.getgrall()}
        for candidate in range(self.uid_min, self.uid_max + 1):
            if candidate not in used:
                return candidate
        raise AccountError(f"No free uid left in the range {self.uid_min}-{self.uid_max} "
                           "(isolation.uid_min/uid_max): an administrator must widen it.")

    async def _create(self, hub_user: str) -> Account:
        name = account_name(self.prefix, hub_user)
        number = self._free_id()
        await _run("groupadd", "--gid", str(number), name)
        try:
            await _run("useradd", "--uid", str(number), "--gid", str(number), "--no-create-home",
                       "--home-dir", f"/home/{name}", "--shell", "/bin/bash",
                       "--comment", owner_comment(hub_user), name)
        except AccountError:
            await _run("groupdel", name)  # no stray group blocks the next try
            raise
        log.info("Created system account %s (uid %d) for hub user %s", name, number, hub_user)
        return Account(name, number, number)


async def _run(*argv: str) -> None:
    process = await asyncio.create_subprocess_exec(
        *argv, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE)
    _, stderr = await process.communicate()
    if process.returncode != 0:
        message = stderr.decode(errors="replace").strip()
        raise AccountError(f"{argv[0]} failed ({process.returncode}): {message}")
