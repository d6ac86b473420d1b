"""The background refresher wakes when the authenticator will find the token due, never long before
(a wasted wake-up) or after (a token that expires in a server): both use `refresh_due_at`."""

from __future__ import annotations

import time
from types import SimpleNamespace

import pytest

from notebooks_service.auth.authenticator import NotebooksAuthenticator
from notebooks_service.auth.refresh_due import refresh_due_at
from notebooks_service.tokens.refresher import TokenRefresher

NOW = 1_800_000_000.0


@pytest.mark.parametrize(("lifetime", "margin"), [(300, 1 / 3), (8, 0.5), (3600, 0.1), (0.5, 0.9)])
def test_refresher_wakes_when_the_authenticator_finds_the_token_due(
        monkeypatch: pytest.MonkeyPatch, lifetime: float, margin: float) -> None:
    auth = NotebooksAuthenticator(issuer="http://127.0.0.1:9/realm", refresh_margin_fraction=margin)
    refresher = TokenRefresher(check_interval=10 * lifetime + 10)
    state = {"access_token_issued_at": NOW, "access_token_expires_at": NOW + lifetime}
    monkeypatch.setattr(time, "time", lambda: NOW)
    wake = NOW + refresher._next_delay(SimpleNamespace(authenticator=auth), state)
    due = refresh_due_at(state, margin)
    assert due is not None and abs(wake - max(due + 0.05, NOW + 0.2)) < 1e-6
    monkeypatch.setattr(time, "time", lambda: due - 0.01)
    assert not auth._needs_refresh(state)
    monkeypatch.setattr(time, "time", lambda: wake)
    assert auth._needs_refresh(state)


def test_unknown_expiry_is_never_due(monkeypatch: pytest.MonkeyPatch) -> None:
    auth = NotebooksAuthenticator(issuer="http://127.0.0.1:9/realm")
    refresher = TokenRefresher(check_interval=5.0)
    state = {"access_token_issued_at": NOW, "access_token_expires_at": None}
    assert refresh_due_at(state, 1 / 3) is None
    assert not auth._needs_refresh(state)
    assert refresher._next_delay(SimpleNamespace(authenticator=auth), state) == 5.0
