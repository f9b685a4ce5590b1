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


def guarded_page(browser, url: str, problems: list[str]):
    """A page that records console errors, page errors, failed requests, HTTP errors and
    requests off the machine (which it aborts) into ``problems``."""
    page = browser.new_page()
    origin = url.split("/", 3)[:3]

    def guard(route):
        if route.request.url.split("/", 3)[:3] != origin and not route.request.url.startswith(
            "data:"
        ):
            problems.append(f"request leaves the machine: {route.request.url}")
            return route.abort()
        return route.continue_()

    page.route("**/*", guard)
    page.on("console", lambda m: m.type == "error" and problems.append(f"console: {m.text}"))
    page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
    page.on("requestfailed", lambda r: problems.append(f"failed request: {r.url}"))
    page.on("response", lambda r: r.status >= 400 and problems.append(f"HTTP {r.status}: {r.url}"))
    return page
