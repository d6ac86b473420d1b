"""In JupyterLab, a kernel killed for exceeding the memory limit is explained to the user."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from playwright.sync_api import Browser

from tests.environment.test_browser_lab import log_in, wait_for_lab
from tests.isolation.conftest import Tenant
from tests.stack import Stack

GREEDY = "hog = bytearray(1024 ** 3)\nhog[::4096] = b'x' * len(hog[::4096])"


@pytest.mark.browser
def test_the_lab_says_why_the_kernel_died(shared_machine: Stack, alice: Tenant, browser: Browser,
                                          artifacts: Path) -> None:
    page = log_in(browser, shared_machine, "alice", "/user/alice/lab")
    wait_for_lab(page, shared_machine, "alice")
    with ThreadPoolExecutor(1) as pool, pytest.raises(Exception):  # noqa: B017
        # the kernel dies mid-execution, so it never answers (a thread: Playwright owns this loop)
        pool.submit(alice.run, GREEDY, 15).result()
    notice = page.get_by_text("Kernel stopped: it exceeded this server's 0.75 GiB memory limit. "
                              "Use less memory or a larger profile.")
    notice.wait_for(timeout=30_000)
    page.screenshot(path=str(artifacts / "isolation-memory-notice.png"))
    assert notice.is_visible()
    page.close()
