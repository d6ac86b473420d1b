"""In a real Chromium: JupyterLab from the user environment shows the add-ons a researcher expects, and
its share dialog shows a collaborator, who then opens the owner's JupyterLab."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, Locator, Page, expect

from tests.environment.conftest import user_env_built
from tests.stack import DEMO_PASSWORD, Stack, browser_login, hub_api, hub_token, stop_server


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


@dataclass
class AliceLab:
    """alice's JupyterLab, spawned from the browser, and her hub API."""

    page: Page
    api: httpx.Client


@pytest.fixture(scope="module")
def alice_lab(stack: Stack, browser: Browser) -> Iterator[AliceLab]:
    """alice's lab; her shares are revoked and her server stopped after the module."""
    user_env_built()
    page = log_in(browser, stack, "alice", "/hub/spawn")
    page.wait_for_url(f"{stack.hub_url}/hub/**")
    if page.url.endswith("/hub/spawn"):  # the options form, when other modules add options
        page.click("form [type=submit]")
    wait_for_lab(page, stack, "alice")
    client, _ = browser_login(stack, "alice")
    api = hub_api(stack, hub_token(client, stack, "alice"))
    yield AliceLab(page, api)
    page.close()
    api.delete("/shares/alice/")
    stop_server(api, "alice")


@pytest.mark.browser
def test_lab_shows_collaboration_resource_usage_and_elyra(alice_lab: AliceLab, artifacts: Path) -> None:
    page = alice_lab.page
    launcher = page.locator(".jp-LauncherCard").all_inner_texts()
    assert {"Generic Pipeline Editor", "Python Editor", "R Editor"} <= {" ".join(t.split()) for t in launcher}
    expect(page.locator("#jp-main-statusbar")).to_contain_text(re.compile(r"Mem:\s+[0-9.]+\s*(/\s*[0-9.]+\s*)?[MG]B"),
                                                               timeout=30_000)
    page.locator(".jp-SideBar [data-id='jp-collaboration-panel']").click()
    page.screenshot(path=artifacts / "environment-lab-addons.png")
    # the operator manages the environment: no news-feed question, no "upgrade JupyterLab" notice
    settings = page.evaluate("""() => {
        const xsrf = document.cookie.match(/_xsrf=([^;]+)/)[1];  // the server wants it on cookie requests
        return fetch('/user/alice/lab/api/settings/@jupyterlab/apputils-extension:notification',
                     {headers: {'X-XSRFToken': xsrf}}).then(reply => reply.json());
    }""")
    defaults = settings["schema"]["properties"]  # the environment's overrides are the schema's defaults
    assert (defaults["fetchNews"]["default"], defaults["checkForUpdates"]["default"]) == ("false", False)
    assert page.locator(".Toastify__toast").all_inner_texts() == []


def open_share_dialog(page: Page) -> Locator:
    page.locator("#jp-top-panel [data-command='collaboration:shared-link']").click()  # top-right icon
    dialog = page.locator(".jp-Dialog")
    # the hub-sharing form (not only a copyable link) appears only with the scopes hub/sharing.py grants
    search = dialog.get_by_placeholder(re.compile("search for a user or a group"))
    expect(search).to_be_visible(timeout=30_000)
    return dialog


@pytest.mark.browser
def test_share_dialog_lists_a_collaborator_who_then_opens_the_lab(
        stack: Stack, browser: Browser, alice_lab: AliceLab, artifacts: Path) -> None:
    dialog = open_share_dialog(alice_lab.page)
    expect(dialog).to_contain_text("Your server is not shared to anybody yet")
    # no recipients to pick: listing users or groups is not granted (see hub/sharing.py)
    expect(dialog.locator(".jp-ManageSharesBody-user-item")).to_have_count(0)
    dialog.get_by_role("button", name="Close").click()

    bob = log_in(browser, stack, "bob", "/hub/home")  # the hub knows users once they have logged in
    try:
        bob.wait_for_url(f"{stack.hub_url}/hub/home")
        assert alice_lab.api.post("/shares/alice/", json={"user": "bob"}).status_code == 200
        dialog = open_share_dialog(alice_lab.page)
        shares = dialog.locator(".jp-ManageSharesBody-shares-table")
        expect(shares).to_contain_text("bob")
        expect(shares).not_to_contain_text("not shared to anybody")
        alice_lab.page.screenshot(path=artifacts / "environment-share-dialog.png")

        bob.goto(f"{stack.hub_url}/user/alice/lab")
        bob.get_by_role("button", name="Authorize").click()  # the hub asks once per server
        wait_for_lab(bob, stack, "alice")
        bob.screenshot(path=artifacts / "environment-shared-lab-bob.png")
    finally:
        bob.close()
