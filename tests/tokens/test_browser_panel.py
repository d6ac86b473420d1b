"""Item 5 in a real Chromium: the "Access token" panel's countdown, Copy, Save, and Keep refreshed."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Browser, Locator, Page

from tests.stack import Stack, stop_server, wait_until
from tests.tokens.conftest import LIFETIME, login, read_token, spawn, valid_for, verify_with_jwks

PANEL = "#notebooks-access-token"


def open_panel(page: Page, stack: Stack) -> None:
    page.goto(f"{stack.hub_url}/user/alice/lab")
    page.wait_for_selector("#jp-main-dock-panel", timeout=120_000)
    tab = page.locator('li[data-id="notebooks-access-token"]')
    tab.wait_for(timeout=60_000)
    page.wait_for_selector(".jp-LauncherCard", timeout=60_000)  # the layout is restored by now
    for _ in range(3):  # the tab toggles the panel: click until it shows
        if page.locator(PANEL).is_visible():
            break
        tab.click()
        page.wait_for_timeout(1000)
    page.wait_for_selector(f"{PANEL} .jp-NotebooksToken-expiry:has-text('expires in')", timeout=60_000)


def assert_fits(panel: Locator) -> None:
    """Nothing in the panel is wider than the panel: no clipped edge, no horizontal scrolling."""
    overflowing = panel.evaluate("""panel => {
        const box = panel.getBoundingClientRect();
        const out = [...panel.querySelectorAll('*')].filter(node => {
            const r = node.getBoundingClientRect();
            return r.width > 0 && (r.left < box.left - 0.5 || r.right > box.right + 0.5);
        }).map(node => node.className || node.tagName);
        if (panel.scrollWidth > panel.clientWidth) out.push('panel scrolls sideways');
        return out;
    }""")
    assert not overflowing, f"wider than the panel: {overflowing}"
    save = panel.locator(".jp-NotebooksToken-save")
    height = save.evaluate("node => node.getBoundingClientRect().height")
    assert height <= 40, f"the Save button's label wraps ({height}px high)"


def resize_sidebar(page: Page, width: int) -> None:
    """Drag the handle between the main area and the right sidebar until the sidebar is `width` wide."""
    sidebar = page.locator("#jp-right-stack")
    box = sidebar.bounding_box()
    assert box
    handle = page.locator("#jp-main-split-panel > .lm-SplitPanel-handle:not(.lm-mod-hidden)").last
    grip = handle.bounding_box()
    assert grip
    x, y = grip["x"] + grip["width"] / 2, grip["y"] + grip["height"] / 2
    page.mouse.move(x, y)
    page.mouse.down()
    page.mouse.move(x + box["width"] - width, y, steps=5)
    page.mouse.up()
    page.wait_for_timeout(300)


@pytest.mark.browser
def test_panel_copy_save_keep(token_stack: Stack, browser: Browser, artifacts: Path) -> None:
    alice = login(token_stack, "alice")
    spawn(alice, mount=True)
    context = browser.new_context(viewport={"width": 1280, "height": 800},
                                   permissions=["clipboard-read", "clipboard-write"])
    page = context.new_page()
    try:
        page.goto(f"{token_stack.hub_url}/hub/oauth_login?next=/user/alice/lab")
        page.fill("input[name=username]", "alice")
        page.fill("input[name=password]", "notebooks")
        page.click("button[type=submit], input[type=submit]")
        open_panel(page, token_stack)
        panel = page.locator(PANEL)
        assert "Mounted in this server: yes" in panel.inner_text()
        assert_fits(panel)
        panel.screenshot(path=artifacts / "token-panel.png")

        panel.locator(".jp-NotebooksToken-copy").click()
        page.wait_for_selector(f"{PANEL} .jp-NotebooksToken-message:has-text('Copied')")
        copied = page.evaluate("navigator.clipboard.readText()")
        assert verify_with_jwks(token_stack, copied)["preferred_username"] == "alice"

        saved = token_stack.home("alice") / "tokens" / "access_token.txt"
        panel.locator(".jp-NotebooksToken-path").fill("tokens/access_token.txt")
        panel.locator(".jp-NotebooksToken-save").click()
        page.wait_for_selector(f"{PANEL} .jp-NotebooksToken-message:has-text('Saved to')")
        first = read_token(saved)
        assert first and valid_for(token_stack, first) > 0
        assert saved.stat().st_mode & 0o777 == 0o600

        panel.locator(".jp-NotebooksToken-keep").check()
        page.wait_for_selector(f"{PANEL} .jp-NotebooksToken-message:has-text('Keeping')")
        assert_fits(panel)
        panel.screenshot(path=artifacts / "token-panel-keep.png")
        newer = wait_until(lambda: (t := read_token(saved)) != first and t, 3 * LIFETIME,
                           what="the kept file to get the next token")
        assert valid_for(token_stack, newer) > 0

        page.reload()
        open_panel(page, token_stack)
        assert page.locator(f"{PANEL} .jp-NotebooksToken-keep").is_checked(), "the toggle survives reload"

        panel = page.locator(PANEL)
        panel.locator(".jp-NotebooksToken-path").fill("/etc/token.txt")
        panel.locator(".jp-NotebooksToken-save").click()
        page.wait_for_selector(f"{PANEL} .jp-NotebooksToken-error:has-text('save inside')")
        assert_fits(panel)
        panel.screenshot(path=artifacts / "token-panel-error.png")
        page.screenshot(path=artifacts / "token-panel-lab.png")
        for width, name in ((150, "narrow"), (320, "medium"), (460, "wide")):  # as dragged (min. 250)
            resize_sidebar(page, width)
            assert_fits(panel)
            panel.screenshot(path=artifacts / f"token-panel-{name}.png")

        panel.locator(".jp-NotebooksToken-keep").uncheck()
        page.wait_for_selector(f"{PANEL} .jp-NotebooksToken-message:has-text('No longer')")
    finally:
        context.close()
        stop_server(alice.api, "alice")
