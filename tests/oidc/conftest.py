"""Fixtures: two independent fake OIDC providers served over loopback HTTP."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from fake_provider import FakeProvider


@pytest.fixture
async def provider() -> AsyncIterator[FakeProvider]:
    p = FakeProvider().start()
    yield p
    p.stop()


@pytest.fixture
async def other_provider() -> AsyncIterator[FakeProvider]:
    p = FakeProvider().start()
    yield p
    p.stop()
