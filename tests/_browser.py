"""The session's headless Chromium (a fixture), shared by every browser test."""

from __future__ import annotations

import contextlib
import socket

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
    (failed instead under the strictness variable: see _capabilities.py).

    Every request for another machine goes to a proxy on a loopback port where nothing
    listens, so it fails there and never reaches the network (Chromium sends loopback
    addresses, where the tests serve their pages, past any proxy);
    :func:`report_requests_leaving` reports it. Blocking this way, not with Playwright's
    request routing, keeps Chromium's cache: routing turns it off, and the pages of the book
    then cost about twice the CPU time."""
    from _capabilities import chromium_executable, missing

    executable, reason = chromium_executable()
    if executable is None:
        missing(reason)
    from playwright.sync_api import sync_playwright

    with _refusing_port() as port, sync_playwright() as p:
        args = [*CHROMIUM_ARGS, f"--proxy-server=http://127.0.0.1:{port}"]
        browser = p.chromium.launch(executable_path=executable, args=args)
        yield browser
        browser.close()


@contextlib.contextmanager
def _refusing_port():
    """A loopback port that refuses every connection for as long as the block lasts: bound,
    so no other program takes it, but not listening."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        yield s.getsockname()[1]


def report_requests_leaving(page, url: str, problems: list[str]) -> None:
    """Record into ``problems`` every request of ``page`` for another origin than ``url``'s
    (the browser's proxy refuses it), for as long as the page is open, across navigations;
    ``data:`` and ``blob:`` URLs are in memory."""
    origin = _origin(url)

    def request(r):
        if _origin(r.url) != origin and not r.url.startswith(("data:", "blob:")):
            problems.append(f"request leaves the machine: {r.url}")

    page.on("request", request)


def guarded_page(browser, url: str, problems: list[str]):
    """A new page of ``browser`` that records into ``problems`` its console errors, page
    errors, failed requests, HTTP errors and requests for another origin than ``url``'s
    (:func:`report_requests_leaving`), for as long as it is open, across navigations."""
    page = browser.new_page()
    report_requests_leaving(page, url, problems)
    origin = _origin(url)

    def failed(r):
        # Requests for other origins are reported as leaving. A request cancelled by leaving
        # the page (the front page forwards at once, while its icon may still be loading)
        # is not a resource that failed: a missing one is an HTTP error, a broken server
        # another net:: error.
        if _origin(r.url) == origin and r.failure != "net::ERR_ABORTED":
            problems.append(f"failed request: {r.url} ({r.failure})")

    page.on("requestfailed", failed)
    page.on("console", lambda m: m.type == "error" and problems.append(_console(m)))
    page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
    page.on("response", lambda r: r.status >= 400 and problems.append(f"HTTP {r.status}: {r.url}"))
    return page


def _origin(url: str) -> list[str]:
    """Scheme, empty part and host[:port] of ``url``."""
    return url.split("/", 3)[:3]


def _console(message) -> str:
    where = message.location.get("url")
    return f"console: {message.text}" + (f" ({where})" if where else "")
