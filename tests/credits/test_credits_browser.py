"""Credits in a real Chromium: prices on the spawn form, the credits page, the hub's warning banner.

Runs on the SQLite stack only: the pages do not depend on the ledger's database, which the stack
tests cover on both. Screenshots go to `test-artifacts/credits-*.png`.
"""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.credits.helpers import User, wait_ready
from tests.credits.stack_config import HOW_TO_GET_MORE
from tests.stack import DEMO_PASSWORD, Stack, stop_server, wait_until

pytestmark = [pytest.mark.browser, pytest.mark.parametrize("credits_stack", ["sqlite"], indirect=True)]

CREDITS_PAGE = "/services/credits/"


def log_in(page: Page, stack: Stack, username: str) -> None:
    page.goto(f"{stack.hub_url}/hub/home")
    page.click("a[href*=oauth_login]")
    page.wait_for_url(f"{stack.issuer}/**")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", DEMO_PASSWORD)
    page.click("button[type=submit], input[type=submit]")
    page.wait_for_url(f"{stack.hub_url}/hub/**")


def test_prices_at_spawn_spending_on_the_credits_page_and_the_warning(
        credits_stack: Stack, browser: Browser, artifacts: Path) -> None:
    alice, admin = User(credits_stack, "alice"), User(credits_stack, "admin")
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    log_in(page, credits_stack, "alice")

    page.goto(f"{credits_stack.hub_url}/hub/spawn")
    form = page.locator(".credits-options")
    expect(form).to_be_visible()
    page.screenshot(path=artifacts / "credits-spawn-form.png", full_page=True)
    for profile, price in (("small", "72"), ("large", "720")):
        row = form.locator("tr", has=page.locator(f"#profile-{profile}"))
        expect(row.locator(".price")).to_have_text(price)
    expect(form.locator("#profile-small")).to_be_checked()  # the default profile
    expect(form.locator("#credits-wallet option")).to_have_text(
        ["user:alice: 5.00 credits", "group:proj: 3.00 credits"])

    form.locator("#credits-wallet").select_option("user:alice")
    page.click("form button[type=submit], form input[type=submit]")
    page.wait_for_url(f"{credits_stack.hub_url}/**/user/alice/**", timeout=120_000)
    wait_ready(alice)
    time.sleep(8)  # a few posting intervals of charges

    page.goto(f"{credits_stack.hub_url}/hub/home")
    page.click("#credits-nav")
    page.wait_for_url(f"{credits_stack.hub_url}{CREDITS_PAGE}**")
    wallet = page.locator('#wallets tr[data-wallet="user:alice"]')
    balance = float(wallet.locator(".balance").inner_text())
    assert 4 < balance < 5
    expect(wallet.locator(".runway")).to_have_text(re.compile(r"^\d+ min$"))
    expect(wallet).to_contain_text("alice/ (small)")
    expect(page.locator('#wallets tr[data-wallet="group:proj"] .balance')).to_have_text("3.00")
    today = datetime.now(UTC).date().isoformat()
    bar = page.locator("#usage-chart svg rect title", has_text=f"{today} small")
    expect(bar).to_have_count(1)
    expect(page.locator("#usage-chart svg text", has_text="small")).to_have_count(1)  # the legend
    kinds = page.locator("#history tr td:nth-child(3)").all_inner_texts()
    assert "grant" in kinds and kinds.count("charge") >= 2, kinds
    expect(page.get_by_text(HOW_TO_GET_MORE)).to_be_visible()
    page.screenshot(path=artifacts / "credits-page.png", full_page=True)

    left = 0.5  # 25 s of the small profile: under the 35 s warning threshold
    taken = admin.credits.post("api/wallets/user:alice/entries", json={
        "kind": "adjustment", "amount": round(left - alice.balance("user:alice"), 6),
        "reason": "browser test: run low"})
    assert taken.status_code == 201, taken.text
    banner = page.locator("#credits-warning")

    def warned() -> bool:  # the hub reads warnings once per posting interval, off the page path
        page.goto(f"{credits_stack.hub_url}/hub/home")
        return banner.is_visible()

    wait_until(warned, 10, what="the hub's credits warning")
    expect(banner).to_contain_text("wallet user:alice lasts")
    expect(banner.get_by_role("link", name="Details")).to_have_attribute("href", CREDITS_PAGE)
    page.screenshot(path=artifacts / "credits-hub-warning.png", full_page=True)
    page.close()
    stop_server(alice.hub, "alice")
