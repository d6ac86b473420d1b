"""Credits in JupyterLab, in a real Chromium: the status-bar item with the paying wallet's balance and
runway, a notification per warning threshold crossed, nothing for a collaborator of a shared server,
and nothing at all when credits are off. Screenshots go to `test-artifacts/credits-lab-*.png`.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, ConsoleMessage, Page, Response, expect

from tests.credits.helpers import User, start_with
from tests.credits.test_credits_browser import log_in
from tests.stack import Stack, start_server, stop_server, wait_until

pytestmark = pytest.mark.browser

ITEM = ".jp-NotebooksCredits"
TOAST = ".Toastify__toast"
PAYING = "user:alice"
on_sqlite = pytest.mark.parametrize("credits_stack", ["sqlite"], indirect=True)


def open_lab(page: Page, stack: Stack, owner: str, consent: Path | None = None) -> None:
    """Open `owner`'s JupyterLab; on someone else's server, give the consent the hub asks for first
    (and take a screenshot of it into `consent`)."""
    page.goto(f"{stack.hub_url}/user/{owner}/lab")
    page.wait_for_selector("#jp-main-statusbar, h1:has-text('Authorize access')", state="attached",
                           timeout=120_000)
    if "/oauth2/authorize" in page.url:
        if consent:
            page.screenshot(path=consent)
        page.get_by_role("button", name="Authorize").click()
    page.wait_for_selector("#jp-main-statusbar", state="attached", timeout=120_000)
    page.wait_for_selector(".jp-LauncherCard", timeout=60_000)
    # Our extension is active once the access-token tab is there (it loads with the credits plugin).
    page.wait_for_selector('li[data-id="notebooks-access-token"]', timeout=60_000)


def with_page_token(page: Page, url: str) -> Any:
    """`url` fetched by the page with its own hub token, as the extension does: status and JSON."""
    return page.evaluate("""async url => {
        const token = JSON.parse(document.getElementById('jupyter-config-data').textContent).token;
        const response = await fetch(url, {headers: {Authorization: `token ${token}`}});
        return {status: response.status, body: await response.json()};
    }""", url)


def paying_status(user: User) -> dict[str, Any]:
    return next(w for w in user.status()["wallets"] if w["wallet"] == PAYING)


def toast_runways(page: Page) -> list[int]:
    """Seconds of runway in each "lasts N s" notification shown, longest (oldest) first."""
    texts = page.locator(TOAST, has_text=f"wallet {PAYING} lasts").all_inner_texts()
    return sorted((int(m.group(1)) for t in texts if (m := re.search(r"lasts (\d+) s", t))), reverse=True)


@on_sqlite
def test_status_item_shows_the_paying_wallet_and_collaborators_see_nothing(
        credits_stack: Stack, browser: Browser, artifacts: Path) -> None:
    alice = User(credits_stack, "alice")
    User(credits_stack, "bob")  # a share needs bob to be known to the hub
    start_with(alice, {"profile": "small", "wallet": PAYING})
    wait_until(lambda: paying_status(alice)["runway_seconds"], 30, what="the cycle to charge alice's server")

    page = browser.new_page(viewport={"width": 1280, "height": 800})
    log_in(page, credits_stack, "alice")
    open_lab(page, credits_stack, "alice")
    item = page.locator(ITEM)
    expect(item).to_have_text(re.compile(r"^Credits \d+(\.\d+)? · \d+ min left$"), timeout=30_000)
    shown = re.match(r"Credits ([\d.]+) · (\d+) min left", item.inner_text())
    assert shown
    api = paying_status(alice)
    assert abs(float(shown.group(1)) - api["balance"]) < 0.2, (shown.group(0), api)
    assert abs(int(shown.group(2)) - api["runway_seconds"] / 60) <= 1, (shown.group(0), api)
    expect(item).not_to_have_class(re.compile("jp-mod-warning"))
    expect(page.locator(TOAST, has_text="Credits:")).to_have_count(0)
    page.screenshot(path=artifacts / "credits-lab-status.png")
    page.close()

    shared = alice.hub.post("/shares/alice/", json={"user": "bob"})
    assert shared.status_code == 200, shared.text
    page = browser.new_page(viewport={"width": 1280, "height": 800})
    log_in(page, credits_stack, "bob")
    open_lab(page, credits_stack, "alice", consent=artifacts / "credits-lab-consent.png")
    page.wait_for_timeout(3_000)  # time for the credits plugin to ask and decide
    expect(page.locator(ITEM)).to_have_count(0)
    told = with_page_token(page, "/user/alice/notebooks-credits/wallet")
    assert told == {"status": 200, "body": {"wallet": "", "page_url": ""}}, told
    own = with_page_token(page, "/services/credits/api/status")
    assert own["status"] == 200 and own["body"]["user"] == "bob", own  # the page token reaches the service
    assert PAYING not in [w["wallet"] for w in own["body"]["wallets"]]
    refused = with_page_token(page, f"/services/credits/api/status?wallet={PAYING}")
    assert refused["status"] == 403, refused
    page.screenshot(path=artifacts / "credits-lab-collaborator.png")
    page.close()
    assert alice.hub.delete("/shares/alice/").status_code in (200, 204)


@on_sqlite
def test_a_notification_per_threshold_crossed_before_the_stop(
        credits_stack: Stack, browser: Browser, artifacts: Path) -> None:
    alice, admin = User(credits_stack, "alice"), User(credits_stack, "admin")
    if not (alice.hub.get("/users/alice").json()["servers"].get("") or {}).get("ready"):
        start_with(alice, {"profile": "small", "wallet": PAYING})
    wait_until(lambda: paying_status(alice)["runway_seconds"], 30, what="the cycle to charge alice's server")

    # 0.9 credits at 72 per hour: 45 s, so the 35 s and 15 s thresholds (stack_config) pass within seconds.
    taken = admin.credits.post(f"api/wallets/{PAYING}/entries", json={
        "kind": "adjustment", "amount": round(0.9 - alice.balance(PAYING), 6),
        "reason": "lab test: run low"})
    assert taken.status_code == 201, taken.text
    page = browser.new_page(viewport={"width": 1280, "height": 800})
    log_in(page, credits_stack, "alice")
    open_lab(page, credits_stack, "alice")
    item = page.locator(ITEM)

    wait_until(lambda: [s for s in toast_runways(page) if s <= 15], 60, what="the 15 s warning")
    runways = toast_runways(page)
    assert len(runways) == 2 and 15 < runways[0] <= 35 and runways[1] <= 15, runways  # once each
    expect(item).to_have_class(re.compile("jp-mod-warning"))
    expect(item).to_have_text(re.compile(r"^Credits 0\.\d+ · \d+ s left$"))
    toast = page.locator(TOAST, has_text=f"wallet {PAYING} lasts {runways[1]} s")
    expect(toast).to_contain_text(re.compile(r"^Credits: wallet user:alice lasts \d+ s at current use\."))
    expect(toast.get_by_role("button", name="Open the credits page")).to_be_visible()
    page.screenshot(path=artifacts / "credits-lab-warning.png")

    expect(page.locator(TOAST, has_text=f"wallet {PAYING} is empty")).to_have_count(1, timeout=40_000)
    expect(item).to_have_text(re.compile(r"^Credits -?0(\.\d+)? · empty$"))
    page.screenshot(path=artifacts / "credits-lab-empty.png")
    with page.context.expect_page() as opened:
        page.locator(TOAST, has_text="is empty").get_by_role("button", name="Open the credits page").click()
    credits_page = opened.value
    credits_page.wait_for_load_state()
    assert "/services/credits/" in credits_page.url
    page.close()
    wait_until(lambda: "" not in alice.hub.get("/users/alice").json()["servers"], 60,
               what="the credits service to stop alice's server at zero")


def test_no_item_and_no_errors_when_credits_are_off(stack: Stack, browser: Browser, artifacts: Path) -> None:
    alice = User(stack, "alice")
    start_server(alice.hub, "alice")
    page = browser.new_page(viewport={"width": 1280, "height": 800})
    problems: list[str] = []

    def console(message: ConsoleMessage) -> None:
        if message.type == "error" and "credits" in message.text.lower():
            problems.append(message.text)

    def response(reply: Response) -> None:
        if "credits" in reply.url and reply.status >= 400:
            problems.append(f"{reply.status} {reply.url}")

    page.on("console", console)
    page.on("response", response)
    log_in(page, stack, "alice")
    open_lab(page, stack, "alice")
    page.wait_for_timeout(3_000)  # time for the credits plugin to ask and decide
    expect(page.locator(ITEM)).to_have_count(0)
    told = with_page_token(page, "/user/alice/notebooks-credits/wallet")
    assert told == {"status": 200, "body": {"wallet": "", "page_url": ""}}, told
    assert not problems, problems
    page.screenshot(path=artifacts / "credits-lab-off.png")
    page.close()
    stop_server(alice.hub, "alice")
