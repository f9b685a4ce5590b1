"""Shared fixtures: the book is built once per test run, into a temporary folder; one
headless Chromium per worker serves its browser tests."""

from __future__ import annotations

import fcntl
import json
import os
import shutil
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
    variable if it does not).

    Built once per test run: under pytest-xdist the first worker to ask builds it into the
    run's shared temporary folder, holding a lock, and the others wait for that build and
    read it (no test writes into it)."""
    shared = _run_folder(tmp_path_factory)
    book, record = shared / "book", shared / "book.json"
    with (shared / "book.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes, or its worker dies
        if not record.is_file():
            _build_book(book, record)
        built = json.loads(record.read_text())
    build = book / "_build"
    log = (build / "test-book-build.log").read_text()
    return BuiltBook(
        build / "html", log, built["returncode"], build / "jupyter_execute", built["offline"]
    )


def _run_folder(tmp_path_factory) -> Path:
    """The temporary folder of the whole run: under pytest-xdist, the parent of each
    worker's own (``.../pytest-N/popen-gw0``)."""
    base = tmp_path_factory.getbasetemp()
    return base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base


def _build_book(book: Path, record: Path) -> None:
    from _offline import offline_prefix
    from _scratch import scratch_copy

    shutil.rmtree(book, ignore_errors=True)  # what a build cut short left
    book.mkdir()
    scratch_copy(book)
    prefix, _ = offline_prefix()
    proc = subprocess.run(
        [*(prefix or ()), *BOOK_COMMAND],
        cwd=book,
        capture_output=True,
        text=True,
        timeout=1800,
        env={**os.environ, "PYDEVD_DISABLE_FILE_VALIDATION": "1"},
    )
    (book / "_build").mkdir(exist_ok=True)
    (book / "_build" / "test-book-build.log").write_text(proc.stdout + proc.stderr)
    offline = " ".join(prefix) if prefix else ""
    partial = record.with_suffix(".tmp")
    partial.write_text(json.dumps({"returncode": proc.returncode, "offline": offline}))
    partial.replace(record)


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


# How `make test` shares the tests among its workers (pytest -n, pytest-xdist). Each worker
# takes the next unit of work from one queue when it runs out; the queue is ordered so that
# the longest work starts first and the short tests fill the end: the book's build (about
# half the run, most of it on its own processes), then the tests that run commands, then
# the tests that read the built book (a worker that reaches one before the build is done
# waits for it), then every other test. A module with an expensive module fixture (an
# installed environment, a claim's run, the benchmark's data) is one unit, made once; any
# other test is a unit of its own. (xdist's own `--dist loadgroup` does not group anything
# under pytest 9, whose node ids it can no longer rename.)
SHARED_FIXTURE_MODULES = {"test_installed_package.py", "test_cli.py", "test_benchmarks.py"}
RUNS_COMMANDS = {
    *SHARED_FIXTURE_MODULES,
    "test_interruption.py",
    "test_parallel_runs.py",
    "test_documented_commands.py",
    "test_jupyterlab.py",
    "test_notebooks.py",
    "test_capabilities.py",
}


def worker_scope(nodeid: str) -> str:
    """The unit of work a test belongs to: its module or itself."""
    path = nodeid.split("::")[0]
    return path if Path(path).name in SHARED_FIXTURE_MODULES else nodeid


def _reads_the_book(item) -> bool:
    return bool({"built_book", "site"} & set(getattr(item, "fixturenames", ())))


def _queue_position(item) -> int:
    if _reads_the_book(item):
        return 2
    return 1 if Path(item.nodeid.split("::")[0]).name in RUNS_COMMANDS else 3


def pytest_collection_modifyitems(config, items):
    """The queue's order (see above): the first test that reads the book goes first, and
    builds it; the sort is stable within each part."""
    items.sort(key=_queue_position)
    readers = [i for i, item in enumerate(items) if _reads_the_book(item)]
    if readers:
        items.insert(0, items.pop(readers[0]))


def pytest_xdist_make_scheduler(config, log):
    """xdist's scheduling by scope, with the scopes of :func:`worker_scope`."""
    from xdist.scheduler import LoadScopeScheduling

    config.option.loadscopereorder = False  # the queue keeps the order of the collection

    class ByWorkerScope(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return worker_scope(nodeid)

    return ByWorkerScope(config, log)
