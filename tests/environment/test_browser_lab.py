"""In a real Chromium: JupyterLab from the user environment shows the add-ons a researcher expects."""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from tests.environment.conftest import user_env_built
from tests.stack import DEMO_PASSWORD, Stack, browser_login, hub_api, hub_token, stop_server

CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    executable = shutil.which("chromium")
    assert executable, "Debian's chromium is required: apt-get install chromium"
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_FLAGS)
        yield chromium
        chromium.close()


def open_lab(browser: Browser, stack: Stack, username: str) -> Page:
    page = browser.new_page(viewport={"width": 1400, "height": 900})
    page.goto(f"{stack.hub_url}/hub/oauth_login?next=/hub/spawn")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", DEMO_PASSWORD)
    page.click("button[type=submit], input[type=submit]")
    page.wait_for_url(f"{stack.hub_url}/hub/**")
    if page.url.endswith("/hub/spawn"):  # the options form, when other modules add options
        page.click("form [type=submit]")
    page.wait_for_url(f"{stack.hub_url}/user/{username}/lab**", timeout=120_000)
    page.wait_for_selector(".jp-LauncherCard", timeout=120_000)
    return page


@pytest.mark.browser
def test_lab_shows_collaboration_resource_usage_and_elyra(stack: Stack, browser: Browser,
                                                          artifacts: Path) -> None:
    user_env_built()
    page = open_lab(browser, stack, "alice")
    try:
        launcher = page.locator(".jp-LauncherCard").all_inner_texts()
        assert {"Generic Pipeline Editor", "Python Editor", "R Editor"} <= {" ".join(t.split())
                                                                            for t in launcher}
        expect(page.locator("#jp-main-statusbar")).to_contain_text(re.compile(r"Mem:\s+[0-9.]+\s*[MG]B"),
                                                                   timeout=30_000)
        page.locator(".jp-SideBar [data-id='jp-collaboration-panel']").click()
        page.screenshot(path=artifacts / "environment-lab-addons.png")

        page.locator("#jp-top-panel [data-command='collaboration:shared-link']").click()  # top-right icon
        dialog = page.locator(".jp-Dialog")
        # the hub-sharing form (not only a copyable link) appears only with the scopes hub/sharing.py grants
        expect(dialog).to_contain_text("Your server is not shared to anybody yet", timeout=30_000)
        expect(dialog.get_by_placeholder(re.compile("search for a user or a group"))).to_be_visible()
        page.screenshot(path=artifacts / "environment-share-dialog.png")
    finally:
        page.close()
        client, _ = browser_login(stack, "alice")
        stop_server(hub_api(stack, hub_token(client, stack, "alice")), "alice")
