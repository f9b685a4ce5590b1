"""Tests that need something of the machine (a Chromium, unprivileged network namespaces)
skip with their reason where it is missing, and fail instead only under the project's own
strictness variable, which ``.ci/run`` sets. CI services all set ``CI``; this decision must
not hang on it (a stock GitHub runner may lack a namespace that this project's CI has).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

#: Set (to anything but "" or "0") by .ci/run: every environment-dependent test must run.
STRICT_VARIABLE = "MATRIX_SENSING_STRICT"
DEBIAN_CHROMIUM = "/usr/bin/chromium"


def strict() -> bool:
    return os.environ.get(STRICT_VARIABLE, "") not in ("", "0")


def missing(reason: str):
    """Skip the calling test because ``reason``; under the strictness variable, fail."""
    if strict():
        pytest.fail(f"{reason} ({STRICT_VARIABLE} is set: a missing capability is a failure)")
    pytest.skip(reason)


def chromium_executable() -> tuple[str | None, str]:
    """(path, "") of the Chromium the browser tests drive, or (None, why there is none).

    ``$CHROMIUM`` if set; else Debian's package; else Playwright's own build (what
    ``playwright install chromium`` puts on a GitHub runner)."""
    if os.environ.get("CHROMIUM"):
        path = os.environ["CHROMIUM"]
        found = shutil.which(path) or (path if Path(path).is_file() else None)
        return found, "" if found else f"CHROMIUM={path} is not an executable"
    if Path(DEBIAN_CHROMIUM).is_file():
        return DEBIAN_CHROMIUM, ""
    try:
        from playwright.sync_api import sync_playwright

        with sync_playwright() as p:
            bundled = p.chromium.executable_path
    except Exception as exc:  # playwright absent or its driver broken: say so, do not crash
        return None, f"no Chromium: {DEBIAN_CHROMIUM} is missing and Playwright failed ({exc})"
    if Path(bundled).is_file():
        return bundled, ""
    return None, (
        f"no Chromium: neither {DEBIAN_CHROMIUM} (apt-get install chromium) nor Playwright's "
        "own build (playwright install chromium)"
    )
