"""Shared fixtures: the book is built once per session, into a temporary folder; one
headless Chromium serves every browser test."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
from _browser import browser  # noqa: F401  (a fixture for every test module)

ROOT = Path(__file__).resolve().parents[1]
JUPYTER_BOOK = Path(sys.executable).with_name("jupyter-book")


@dataclass
class BuiltBook:
    html: Path
    log: str
    returncode: int
    execute_dir: Path
    offline: str = ""  # the command prefix that cut the build off the network, if any


@pytest.fixture(scope="session")
def built_book(tmp_path_factory) -> BuiltBook:
    """Build the whole book from clean with warnings as errors and nitpicky references, with
    no network (a network namespace with only a loopback, where unshare allows it: see
    tests/_offline.py; test_offline_and_stale.py fails in CI if it does not)."""
    from _offline import offline_prefix

    out = tmp_path_factory.mktemp("book")
    prefix, _ = offline_prefix()
    command = [*(prefix or ()), str(JUPYTER_BOOK), "build", str(ROOT), "--path-output",
               str(out), "--builder", "html", "-W", "-n", "--keep-going"]  # fmt: skip
    proc = subprocess.run(
        command, cwd=ROOT, capture_output=True, text=True, timeout=1800,
        env={**os.environ, "PYDEVD_DISABLE_FILE_VALIDATION": "1"},
    )  # fmt: skip
    log = proc.stdout + proc.stderr
    (ROOT / "_build").mkdir(exist_ok=True)
    (ROOT / "_build" / "test-book-build.log").write_text(log)
    build = out / "_build"
    offline = " ".join(prefix) if prefix else ""
    return BuiltBook(build / "html", log, proc.returncode, build / "jupyter_execute", offline)


@pytest.fixture(scope="session")
def site(built_book):
    """The built book served on 127.0.0.1 (the URL ends in "/")."""
    from _serve import serve

    if built_book.returncode != 0:
        pytest.fail("the book did not build; see test_book_builds_without_warnings")
    with serve(built_book.html) as url:
        yield url.rstrip("/")
