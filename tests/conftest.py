"""Shared fixtures: the book is built once per session, into a temporary folder; one
headless Chromium serves every browser test."""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest
from _browser import browser  # noqa: F401  (a fixture for every test module)

ROOT = Path(__file__).resolve().parents[1]
#: The README's book command (tests/test_documented_commands.py checks it is the README's).
BOOK_COMMAND = ("make", "book")


@dataclass
class BuiltBook:
    html: Path
    log: str
    returncode: int
    execute_dir: Path
    offline: str = ""  # the command prefix that cut the build off the network, if any


@pytest.fixture(scope="session")
def built_book(tmp_path_factory) -> BuiltBook:
    """The README's book command, ``make book``, run as written in a scratch copy of the
    checkout (tests/_scratch.py): the whole book from clean, warnings as errors, nitpicky
    references, and no network (a network namespace with only a loopback, where unshare
    allows it: see tests/_offline.py; test_offline_and_stale.py fails under the strictness
    variable if it does not)."""
    from _offline import offline_prefix
    from _scratch import scratch_copy

    book = scratch_copy(tmp_path_factory.mktemp("book"))
    prefix, _ = offline_prefix()
    proc = subprocess.run(
        [*(prefix or ()), *BOOK_COMMAND],
        cwd=book,
        capture_output=True,
        text=True,
        timeout=1800,
        env={**os.environ, "PYDEVD_DISABLE_FILE_VALIDATION": "1"},
    )
    log = proc.stdout + proc.stderr
    (book / "_build").mkdir(exist_ok=True)
    (book / "_build" / "test-book-build.log").write_text(log)
    build = book / "_build"
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


# The small problems of the solver tests: ||X|| = 1, width k = 3 > r = 2, a moderate start.
N1, N2, K, M = 5, 4, 3, 40


@pytest.fixture
def problem():
    """``(op, y, U0, V0, truth)`` of a tiny overparameterized asymmetric problem."""
    import matrix_sensing as ms

    truth = ms.low_rank_target(N1, N2, 2, kappa=2.0, seed=0)
    op = ms.GaussianSensing(M, (N1, N2), seed=1)
    U0, V0 = ms.small_random_init(N1, N2, K, 0.5, seed=2)
    return op, op(truth), U0, V0, truth


# How `make test` shares the tests among its workers (pytest -n, pytest-xdist): the tests that
# read the built book all go to one worker, which builds it once (they come first, so that
# the build starts at once); the tests of a module with an expensive module fixture (an
# installed environment, a claim's run, the benchmark's data) go to one worker, which makes
# it once; any other test goes to whichever worker is free. (xdist's own `--dist loadgroup`
# does not group anything under pytest 9, whose node ids it can no longer rename.)
BOOK_FILES = {
    "test_api_reference.py",
    "test_book.py",
    "test_citation.py",
    "test_explore.py",
    "test_golden_values.py",
    "test_offline_and_stale.py",
    "test_site_links.py",
    "test_verdict_cells.py",
}
BOOK_TESTS = {"tests/test_documented_commands.py::test_make_book_as_written_builds_the_book"}
SHARED_FIXTURE_MODULES = {"test_installed_package.py", "test_cli.py", "test_benchmarks.py"}


def worker_scope(nodeid: str) -> str:
    """The unit of work a test belongs to: ``"book"``, its module, or itself."""
    path = nodeid.split("::")[0]
    if Path(path).name in BOOK_FILES or nodeid.split("[")[0] in BOOK_TESTS:
        return "book"
    return path if Path(path).name in SHARED_FIXTURE_MODULES else nodeid


def pytest_collection_modifyitems(config, items):
    """The tests that read the built book first; a test that reads it and is not in the book's
    scope is an error here, not a second build in another worker."""
    for item in items:
        if {"built_book", "site"} & set(getattr(item, "fixturenames", ())):
            if worker_scope(item.nodeid) != "book":
                raise pytest.UsageError(
                    f"{item.nodeid} reads the built book: add it to BOOK_TESTS in conftest.py"
                )
    items.sort(key=lambda item: worker_scope(item.nodeid) != "book")


def pytest_xdist_make_scheduler(config, log):
    """xdist's scheduling by scope, with the scopes of :func:`worker_scope`."""
    from xdist.scheduler import LoadScopeScheduling

    class ByWorkerScope(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return worker_scope(nodeid)

    return ByWorkerScope(config, log)
