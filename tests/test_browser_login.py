"""A person's first visit, in a real Chromium: hub -> IdP login page -> JupyterLab."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Browser

from tests.stack import Stack, browser_login, hub_api, hub_token, stop_server


@pytest.mark.browser
def test_demo_user_logs_in_and_lands_in_jupyterlab(stack: Stack, browser: Browser,
                                                    artifacts: Path) -> None:
    page = browser.new_page(viewport={"width": 1280, "height": 800})
    page.goto(f"{stack.hub_url}/")
    page.click("a[href*=oauth_login]")
    page.wait_for_url(f"{stack.issuer}/**")
    assert "not for production" in page.content().lower()
    page.screenshot(path=artifacts / "login-idp-page.png")
    page.fill("input[name=username]", "alice")
    page.fill("input[name=password]", "notebooks")
    page.click("button[type=submit], input[type=submit]")
    page.wait_for_url(f"{stack.hub_url}/**")
    if "/hub/spawn" in page.url:  # the server options form, with the defaults
        page.screenshot(path=artifacts / "login-spawn-form.png")
        page.click("form [type=submit]")
    page.wait_for_url(f"{stack.hub_url}/user/alice/lab**", timeout=120_000)
    page.wait_for_selector("#jp-main-dock-panel", timeout=120_000)
    page.wait_for_selector(".jp-LauncherCard", timeout=60_000)
    page.screenshot(path=artifacts / "login-jupyterlab.png")
    assert (artifacts / "login-jupyterlab.png").stat().st_size > 10_000
    page.close()

    client, _ = browser_login(stack, "alice")
    stop_server(hub_api(stack, hub_token(client, stack, "alice")), "alice")
