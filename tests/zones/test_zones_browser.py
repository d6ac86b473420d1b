"""The zones as a user sees them in Chromium: the zone in the hub's navigation bar, and the page that
lets them pick a zone, with each zone's health and prices and where their servers run."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tests.stack import DEMO_PASSWORD, browser_login, hub_api, hub_token, start_server, stop_server
from tests.zones.conftest import Federation

if TYPE_CHECKING:
    from playwright.sync_api import Browser

pytestmark = pytest.mark.browser


def test_a_user_picks_a_zone_and_sees_their_servers(federation: Federation, browser: Browser,
                                                    artifacts: Path) -> None:
    eu1, eu2 = federation.eu1, federation.eu2
    client, _ = browser_login(eu2, "alice")
    eu2_api = hub_api(eu2, hub_token(client, eu2, "alice"))
    start_server(eu2_api, "alice")
    try:
        page = browser.new_page(viewport={"width": 1280, "height": 800})
        page.goto(f"{eu1.hub_url}/hub/home")
        page.click("a[href*=oauth_login]")
        page.wait_for_url(f"{eu1.issuer}/**")
        page.fill("input[name=username]", "alice")
        page.fill("input[name=password]", DEMO_PASSWORD)
        page.click("button[type=submit], input[type=submit]")
        page.wait_for_url(f"{eu1.hub_url}/hub/**")
        nav = page.locator("#zones-nav")
        assert nav.inner_text().strip() == "Zone EU 1"
        assert "You are working in zone EU 1" in page.locator("#zone-here").inner_text()
        page.screenshot(path=artifacts / "zones-hub-home.png")

        page.locator("#zone-here a").click()
        page.wait_for_url(f"{eu1.hub_url}/services/zones/home")
        rows = {row.get_attribute("data-zone"): row for row in page.locator("#zones tbody tr").all()}
        assert list(rows) == ["eu-1", "eu-2", "eu-3"]
        assert "up" in rows["eu-2"].locator("td").nth(1).inner_text()
        assert "down" in rows["eu-3"].locator("td").nth(1).inner_text()
        assert "72 credits/h" in rows["eu-2"].inner_text()
        link = rows["eu-2"].locator("td.servers a")
        assert link.inner_text() == "default"
        assert (link.get_attribute("href") or "").startswith(f"{eu2.hub_url}/user/alice/")
        assert rows["eu-1"].locator("td.servers").inner_text().strip() == "none"
        page.screenshot(path=artifacts / "zones-page.png", full_page=True)
        page.close()
    finally:
        stop_server(eu2_api, "alice")
