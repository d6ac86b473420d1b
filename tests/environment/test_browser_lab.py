"""In a real Chromium: JupyterLab from the user environment shows the add-ons a researcher expects, and
its share dialog lets a collaborator in."""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Locator, Page, expect, sync_playwright

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


def log_in(browser: Browser, stack: Stack, username: str, next_url: str) -> Page:
    """A new browser context (its own cookies), logged in at the development IdP, sent on to `next_url`."""
    page = browser.new_page(viewport={"width": 1400, "height": 900})
    page.goto(f"{stack.hub_url}/hub/oauth_login?next={next_url}")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", DEMO_PASSWORD)
    page.click("button[type=submit], input[type=submit]")
    return page


def wait_for_lab(page: Page, stack: Stack, owner: str) -> None:
    page.wait_for_url(f"{stack.hub_url}/user/{owner}/lab**", timeout=120_000)
    page.wait_for_selector(".jp-LauncherCard", timeout=120_000)


@pytest.fixture(scope="module")
def alice_lab(stack: Stack, browser: Browser) -> Iterator[Page]:
    """alice's JupyterLab, spawned from the browser; her shares are revoked and the server stopped after."""
    user_env_built()
    page = log_in(browser, stack, "alice", "/hub/spawn")
    page.wait_for_url(f"{stack.hub_url}/hub/**")
    if page.url.endswith("/hub/spawn"):  # the options form, when other modules add options
        page.click("form [type=submit]")
    wait_for_lab(page, stack, "alice")
    yield page
    page.close()
    client, _ = browser_login(stack, "alice")
    api = hub_api(stack, hub_token(client, stack, "alice"))
    api.delete("/shares/alice/")
    stop_server(api, "alice")


@pytest.mark.browser
def test_lab_shows_collaboration_resource_usage_and_elyra(alice_lab: Page, artifacts: Path) -> None:
    page = alice_lab
    launcher = page.locator(".jp-LauncherCard").all_inner_texts()
    assert {"Generic Pipeline Editor", "Python Editor", "R Editor"} <= {" ".join(t.split()) for t in launcher}
    expect(page.locator("#jp-main-statusbar")).to_contain_text(re.compile(r"Mem:\s+[0-9.]+\s*[MG]B"),
                                                               timeout=30_000)
    page.locator(".jp-SideBar [data-id='jp-collaboration-panel']").click()
    page.screenshot(path=artifacts / "environment-lab-addons.png")


def open_share_dialog(page: Page) -> Locator:
    page.locator("#jp-top-panel [data-command='collaboration:shared-link']").click()  # top-right icon
    return page.locator(".jp-Dialog")


@pytest.mark.browser
def test_share_from_lab_with_a_group_then_a_member_opens_it(stack: Stack, browser: Browser, alice_lab: Page,
                                                            artifacts: Path) -> None:
    dialog = open_share_dialog(alice_lab)
    # the hub-sharing form (not only a copyable link) appears only with the scopes hub/sharing.py grants
    expect(dialog).to_contain_text("Your server is not shared to anybody yet", timeout=30_000)
    dialog.get_by_placeholder(re.compile("search for a user or a group")).fill("research")
    # groups are listable (`list:groups`), users are not (see hub/sharing.py): only groups are offered
    results = dialog.locator(".jp-ManageSharesBody-search-results")
    expect(results).to_have_text("Group researchers")
    results.get_by_text("Group researchers").click()
    shares = dialog.locator(".jp-ManageSharesBody-shares-table")
    expect(shares).to_contain_text("researchers")
    expect(shares).not_to_contain_text("not shared to anybody")
    alice_lab.screenshot(path=artifacts / "environment-share-dialog.png")

    bob = log_in(browser, stack, "bob", "/user/alice/lab")  # bob is in the group researchers
    try:
        bob.get_by_role("button", name="Authorize").click()  # the hub asks once per server
        wait_for_lab(bob, stack, "alice")
        bob.screenshot(path=artifacts / "environment-shared-lab-bob.png")
    finally:
        bob.close()
