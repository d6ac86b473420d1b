"""Server-side state of the development IdP in sqlite, so it survives an IdP restart.

Only SHA-256 hashes of codes and tokens are stored: a copy of the database is not a copy of
anyone's credentials. Every token belongs to a *family* (one login / one grant); revoking the
family is how code reuse and refresh-token reuse kill everything derived from the same grant.
"""

from __future__ import annotations

import hashlib
import logging
import sqlite3
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)

DB_FILE = "state.sqlite"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS families (
    family_id TEXT PRIMARY KEY,
    client_id TEXT NOT NULL,
    username TEXT NOT NULL,
    auth_time INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    revoked_at INTEGER
);
CREATE TABLE IF NOT EXISTS auth_codes (
    code_hash TEXT PRIMARY KEY,
    client_id TEXT NOT NULL,
    username TEXT NOT NULL,
    redirect_uri TEXT,
    scope TEXT NOT NULL,
    nonce TEXT,
    auth_time INTEGER NOT NULL,
    code_challenge TEXT,
    code_challenge_method TEXT,
    expires_at INTEGER NOT NULL,
    used_at INTEGER,
    family_id TEXT
);
CREATE INDEX IF NOT EXISTS auth_codes_nonce ON auth_codes (client_id, nonce);
CREATE TABLE IF NOT EXISTS access_tokens (
    token_id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    family_id TEXT NOT NULL,
    client_id TEXT NOT NULL,
    username TEXT NOT NULL,
    scope TEXT NOT NULL,
    issued_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    revoked_at INTEGER
);
CREATE INDEX IF NOT EXISTS access_tokens_family ON access_tokens (family_id);
CREATE TABLE IF NOT EXISTS refresh_tokens (
    token_hash TEXT PRIMARY KEY,
    family_id TEXT NOT NULL,
    client_id TEXT NOT NULL,
    username TEXT NOT NULL,
    scope TEXT NOT NULL,
    issued_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    rotated_at INTEGER,
    revoked_at INTEGER
);
CREATE INDEX IF NOT EXISTS refresh_tokens_family ON refresh_tokens (family_id);
"""


def token_hash(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def now() -> int:
    return int(time.time())


@dataclass(frozen=True)
class CodeRow:
    code_hash: str
    client_id: str
    username: str
    redirect_uri: str | None
    scope: str
    nonce: str | None
    auth_time: int
    code_challenge: str | None
    code_challenge_method: str | None
    expires_at: int
    used_at: int | None
    family_id: str | None


@dataclass(frozen=True)
class AccessRow:
    token_id: str
    kind: str
    family_id: str
    client_id: str
    username: str
    scope: str
    issued_at: int
    expires_at: int
    revoked_at: int | None
    family_revoked_at: int | None
    auth_time: int


@dataclass(frozen=True)
class RefreshRow:
    token_hash: str
    family_id: str
    client_id: str
    username: str
    scope: str
    issued_at: int
    expires_at: int
    rotated_at: int | None
    revoked_at: int | None
    family_revoked_at: int | None
    auth_time: int


class Store:
    """One sqlite connection guarded by a lock: simple and safe with the threaded dev server."""

    def __init__(self, state_dir: str | Path) -> None:
        self.path = Path(state_dir) / DB_FILE
        self._lock = threading.Lock()
        self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        self._db.row_factory = sqlite3.Row
        with self._lock:
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.executescript(_SCHEMA)
        self.path.chmod(0o600)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def purge_expired(self, keep_used_codes_for: int) -> None:
        """Drop rows nobody can use any more; used codes stay a while to detect replays."""
        t = now()
        with self._lock:
            self._db.execute("DELETE FROM access_tokens WHERE expires_at < ?", (t,))
            self._db.execute("DELETE FROM refresh_tokens WHERE expires_at < ?", (t,))
            self._db.execute(
                "DELETE FROM auth_codes WHERE expires_at < ?", (t - keep_used_codes_for,)
            )
            self._db.execute(
                "DELETE FROM families WHERE created_at < ? "
                "AND family_id NOT IN (SELECT family_id FROM access_tokens) "
                "AND family_id NOT IN (SELECT family_id FROM refresh_tokens) "
                "AND family_id NOT IN "
                "(SELECT family_id FROM auth_codes WHERE family_id IS NOT NULL)",
                (t - keep_used_codes_for,),
            )

    # -- families -----------------------------------------------------------------------------

    def new_family(self, client_id: str, username: str, auth_time: int) -> str:
        family_id = uuid.uuid4().hex
        with self._lock:
            self._db.execute(
                "INSERT INTO families VALUES (?, ?, ?, ?, ?, NULL)",
                (family_id, client_id, username, auth_time, now()),
            )
        return family_id

    def revoke_family(self, family_id: str) -> None:
        with self._lock:
            self._db.execute(
                "UPDATE families SET revoked_at = ? WHERE family_id = ? AND revoked_at IS NULL",
                (now(), family_id),
            )

    # -- authorization codes ------------------------------------------------------------------

    def save_code(self, code: str, row: CodeRow) -> None:
        with self._lock:
            self._db.execute(
                "INSERT INTO auth_codes VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, NULL, NULL)",
                (
                    token_hash(code), row.client_id, row.username, row.redirect_uri, row.scope,
                    row.nonce, row.auth_time, row.code_challenge, row.code_challenge_method,
                    row.expires_at,
                ),
            )

    def get_code(self, code: str) -> CodeRow | None:
        with self._lock:
            r = self._db.execute(
                "SELECT * FROM auth_codes WHERE code_hash = ?", (token_hash(code),)
            ).fetchone()
        return CodeRow(**dict(r)) if r else None

    def claim_code(
        self, code_hash: str, client_id: str, username: str, auth_time: int
    ) -> str | None:
        """Mark a code used and open its token family, atomically; None if it was already used."""
        family_id = uuid.uuid4().hex
        t = now()
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                cur = self._db.execute(
                    "UPDATE auth_codes SET used_at = ?, family_id = ? "
                    "WHERE code_hash = ? AND used_at IS NULL",
                    (t, family_id, code_hash),
                )
                if cur.rowcount != 1:
                    self._db.execute("ROLLBACK")
                    return None
                self._db.execute(
                    "INSERT INTO families VALUES (?, ?, ?, ?, ?, NULL)",
                    (family_id, client_id, username, auth_time, t),
                )
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
        return family_id

    def get_code_family(self, code_hash: str) -> str | None:
        with self._lock:
            r = self._db.execute(
                "SELECT family_id FROM auth_codes WHERE code_hash = ?", (code_hash,)
            ).fetchone()
        return r["family_id"] if r else None

    def nonce_used(self, client_id: str, nonce: str) -> bool:
        with self._lock:
            r = self._db.execute(
                "SELECT 1 FROM auth_codes WHERE client_id = ? AND nonce = ?", (client_id, nonce)
            ).fetchone()
        return r is not None

    # -- access tokens ------------------------------------------------------------------------

    def save_access(
        self, token_id: str, kind: str, family_id: str, client_id: str, username: str,
        scope: str, issued_at: int, expires_at: int,
    ) -> None:
        with self._lock:
            self._db.execute(
                "INSERT INTO access_tokens VALUES (?, ?, ?, ?, ?, ?, ?, ?, NULL)",
                (token_id, kind, family_id, client_id, username, scope, issued_at, expires_at),
            )

    def get_access(self, token_id: str) -> AccessRow | None:
        with self._lock:
            r = self._db.execute(
                "SELECT a.*, f.revoked_at AS family_revoked_at, f.auth_time AS auth_time "
                "FROM access_tokens a JOIN families f USING (family_id) WHERE a.token_id = ?",
                (token_id,),
            ).fetchone()
        return AccessRow(**dict(r)) if r else None

    def revoke_access(self, token_id: str) -> None:
        with self._lock:
            self._db.execute(
                "UPDATE access_tokens SET revoked_at = ? WHERE token_id = ? AND revoked_at IS NULL",
                (now(), token_id),
            )

    # -- refresh tokens -----------------------------------------------------------------------

    def save_refresh(
        self, token: str, family_id: str, client_id: str, username: str, scope: str,
        issued_at: int, expires_at: int,
    ) -> None:
        with self._lock:
            self._db.execute(
                "INSERT INTO refresh_tokens VALUES (?, ?, ?, ?, ?, ?, ?, NULL, NULL)",
                (token_hash(token), family_id, client_id, username, scope, issued_at, expires_at),
            )

    def get_refresh(self, token: str) -> RefreshRow | None:
        with self._lock:
            r = self._db.execute(
                "SELECT r.*, f.revoked_at AS family_revoked_at, f.auth_time AS auth_time "
                "FROM refresh_tokens r JOIN families f USING (family_id) WHERE r.token_hash = ?",
                (token_hash(token),),
            ).fetchone()
        return RefreshRow(**dict(r)) if r else None

    def retry_rotation(self, hashed: str, family_id: str, within: int) -> bool:
        """Let the newest rotated refresh token of a family be used once more, within `within`
        seconds of its rotation, when its client never received the answer (a timeout): the token
        issued in its place is revoked, and so is this one for any further use. False when it is
        not that token, too late, or already retried: then its use is a replay."""
        with self._lock:
            newest = self._db.execute(
                "SELECT token_hash, rotated_at, revoked_at FROM refresh_tokens "
                "WHERE family_id = ? AND rotated_at IS NOT NULL ORDER BY rowid DESC LIMIT 1",
                (family_id,),
            ).fetchone()
            if (newest is None or newest["token_hash"] != hashed or newest["revoked_at"] is not None
                    or now() - newest["rotated_at"] > within):
                return False
            t = now()
            # the replaced token counts as used: if it was received after all (a thief repeating
            # the refresh), its holder's next use is a reuse and revokes the family
            self._db.execute(
                "UPDATE refresh_tokens SET rotated_at = ?, revoked_at = ? "
                "WHERE family_id = ? AND rotated_at IS NULL AND revoked_at IS NULL",
                (t, t, family_id),
            )
            self._db.execute("UPDATE refresh_tokens SET revoked_at = ? WHERE token_hash = ?",
                             (t, hashed))
        return True

    def rotate_refresh(self, hashed: str) -> bool:
        """Retire a refresh token atomically; False if another request already rotated it."""
        with self._lock:
            cur = self._db.execute(
                "UPDATE refresh_tokens SET rotated_at = ? "
                "WHERE token_hash = ? AND rotated_at IS NULL AND revoked_at IS NULL",
                (now(), hashed),
            )
        return cur.rowcount == 1
