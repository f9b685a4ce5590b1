"""The session's headless Chromium (a fixture), shared by every browser test."""

from __future__ import annotations

import pytest

# Flags that keep a headless Chromium from reaching for Google's services on a closed network.
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="session")
def browser():
    """A headless Chromium driven by Playwright; skipped with the reason where there is none
    (failed instead under the strictness variable: see _capabilities.py)."""
    from _capabilities import chromium_executable, missing

    executable, reason = chromium_executable()
    if executable is None:
        missing(reason)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        yield browser
        browser.close()
