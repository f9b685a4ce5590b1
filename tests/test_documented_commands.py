"""Every command README.md and the book's Reproduce page show a reader is run here, as
written, in a scratch copy of the checkout (tests/_scratch.py), each in the folder a reader
types it in (the repository's root), with no network where the machine allows it.

A few commands cannot run as written inside a test run; the rules below swap them for their
CI-scale or local equivalent, and only them. The commands themselves are never edited to
suit the test:

- ``make test`` is the command that runs this suite: not run again (it would recurse);
  ``.ci/run`` must run exactly it.
- ``make book`` is what the session's ``built_book`` fixture runs, in its own scratch copy
  and offline: its result is checked here, not built a second time.
- ``make lab`` starts a server: it runs until JupyterLab answers on 127.0.0.1, then it is
  stopped (``BROWSER`` is set to a no-op so that no browser is started).
- Paper scale: ``--scale paper`` becomes ``--scale ci --seeds 0`` for ``run`` and ``--scale
  smoke`` (the sweep's seconds-long grid) for ``sweep``; ``-f notebooks/params/<nb>_paper.yaml``
  becomes a file with the registry's CI-scale parameters of that notebook and seed 0. (The
  book build already runs every notebook at CI scale on seeds 0-4, and nbval compares its
  verdicts.) ``run --all`` runs the notebook of one claim, N8's, the cheapest (``--only
  N8``): tests/test_parallel_runs.py runs it over several notebooks, with a resume.
- ``pip install "matrix-sensing[notebooks] @ git+<repository URL>"`` and the commands of the
  ``matrix-sensing`` program it installs run in tests/test_installed_package.py: a fresh
  environment outside the clone, installed from the clone (``git+file://``) instead of the
  repository's URL, which is checked here to be the configured one.
- A remote scheduler (``--scheduler tcp://HOST:PORT``) becomes the address of a Dask
  ``LocalCluster`` this test starts on 127.0.0.1 (that command runs with the network
  namespace's loopback replaced by the machine's, where the cluster listens).

Identical commands (the same words after joining continuation lines) run once.
"""

from __future__ import annotations

import os
import re
import shlex
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
import yaml
from _documents import DOCUMENTS, blocks, documented_commands, install_commands
from _offline import offline_prefix
from _scratch import scratch_copy
from conftest import BOOK_COMMAND

from matrix_sensing import claims
from matrix_sensing.parameters import notebook_values

ROOT = Path(__file__).resolve().parents[1]
NOT_RUN_HERE = {("make", "test"), BOOK_COMMAND}
TIMEOUT = 600


COMMANDS = documented_commands()
INSTALL, INSTALLED = install_commands(COMMANDS)


def test_the_documents_show_the_commands_this_test_knows():
    """A guard on the parser: the README's two commands come first, and each kind of
    command the rules handle is found."""
    assert [c.words for c in COMMANDS[:2]] == [("make", "book"), ("make", "test")]
    texts = [c.text for c in COMMANDS]
    for expected in (
        "make lab",
        "matrix_sensing run M1",
        "papermill",
        "--scheduler tcp://",
        "sweep phase-transition",
        "pytest notebooks/",
    ):
        assert any(expected in t for t in texts), expected


def test_make_test_is_what_ci_runs():
    assert ("make", "test") in [c.words for c in COMMANDS]
    run = (ROOT / ".ci" / "run").read_text()
    assert re.search(r"^time make test$", run, re.M), "the CI entry point must run `make test`"


@pytest.mark.book
def test_make_book_as_written_builds_the_book(built_book):
    assert BOOK_COMMAND in [c.words for c in COMMANDS]
    assert built_book.returncode == 0, "\n".join(built_book.log.splitlines()[-30:])
    assert (built_book.html / "index.html").is_file()


@pytest.fixture(scope="module")
def scratch(tmp_path_factory):
    return scratch_copy(tmp_path_factory.mktemp("reader"))


@pytest.fixture
def dask_scheduler():
    """A cluster for one command: idle, its three processes cost about 0.1 CPU-s per second,
    which a cluster kept for the whole module spent while the other commands ran."""
    from dask.distributed import LocalCluster

    with LocalCluster(
        n_workers=2, threads_per_worker=1, host="127.0.0.1", dashboard_address=None, processes=True
    ) as cluster:
        yield cluster.scheduler_address


def _ci_parameter_file(notebook_stem: str, folder: Path) -> Path:
    owners = [cid for cid in claims.ids() if Path(claims.get(cid).notebook).stem == notebook_stem]
    assert owners, f"no claim is measured by {notebook_stem}"
    path = folder / f"{notebook_stem}_ci.yaml"
    # The notebook's own parameter names (P1-P3 take m_p1, ...), at the CI scale, one seed.
    path.write_text(yaml.safe_dump({**notebook_values(owners[0], "ci"), "seeds": [0]}))
    return path


def _swap(words: tuple[str, ...], folder: Path, scheduler: str | None) -> tuple[list[str], str]:
    """The command to run for ``words`` by the rules of the module docstring, and which rule
    changed it ("" when none)."""
    words, rules = list(words), []
    for i, word in enumerate(words[:-1]):
        following = words[i + 1]
        if word == "--scale" and following == "paper":
            words[i + 1] = "smoke" if "sweep" in words else "ci"
            rules.append(f"--scale paper -> {words[i + 1]}")
            if "run" in words and "--seeds" not in words:
                words += ["--seeds", "0"]
                rules.append("one seed")
        elif word == "-f" and following.endswith("_paper.yaml"):
            stem = Path(following).name.removesuffix("_paper.yaml")
            words[i + 1] = str(_ci_parameter_file(stem, folder))
            rules.append("paper parameter file -> CI-scale parameters")
        elif word == "--all" and "run" in words and "--only" not in words:
            words += ["--only", "N8"]
            rules.append("every claim -> the notebook of N8")
        elif word == "--scheduler" and following.startswith("tcp://"):
            assert scheduler, "a scheduler command needs the local cluster"
            words[i + 1] = scheduler
            rules.append("remote scheduler -> local cluster")
    return words, ", ".join(rules)


def _run_server_until_it_answers(words: list[str], cwd: Path) -> str:
    """``make lab``: start it, wait for the URL it prints, fetch it, stop it."""
    env = {**os.environ, "BROWSER": "true"}
    proc = subprocess.Popen(
        words,
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
        start_new_session=True,
    )
    output, deadline = [], time.monotonic() + 120
    try:
        for line in proc.stdout:
            output.append(line)
            found = re.search(r"(http://127\.0\.0\.1:\d+/lab\?token=\w+)", line)
            if found:
                url = found[1]
                # The server prints its address before it listens: try for a while. No proxy
                # from the environment: the server is on this machine's loopback.
                opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
                for _ in range(60):
                    try:
                        with opener.open(url, timeout=30) as response:
                            page = response.read().decode()
                        break
                    except ConnectionRefusedError:
                        time.sleep(0.5)
                    except OSError as exc:
                        if not isinstance(exc.__cause__ or exc.reason, ConnectionRefusedError):
                            raise
                        time.sleep(0.5)
                else:
                    pytest.fail(f"{url} refused connections for 30 s:\n" + "".join(output))
                assert "JupyterLab" in page, page[:500]
                return "".join(output)
            if time.monotonic() > deadline:
                break
        pytest.fail("make lab printed no URL:\n" + "".join(output)[-3000:])
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)


def test_the_install_command_names_the_configured_repository():
    (install,) = INSTALL
    url = yaml.safe_load((ROOT / "_config.yml").read_text())["repository"]["url"]
    assert install.words == ("pip", "install", f"matrix-sensing[notebooks] @ git+{url}")
    assert INSTALLED, "the README shows what the installed command does"


RUN_HERE = [c for c in COMMANDS if c.words not in NOT_RUN_HERE and c not in INSTALL + INSTALLED]


@pytest.mark.parametrize("command", RUN_HERE, ids=lambda c: c.where)
def test_documented_command_runs(command, scratch, request, tmp_path):
    needs_cluster = "--scheduler" in command.words
    scheduler = request.getfixturevalue("dask_scheduler") if needs_cluster else None
    words, rule = _swap(command.words, tmp_path, scheduler)
    print(
        f"{command.where}: {command.text}"
        + (f"\n  run as: {shlex.join(words)} ({rule})" if rule else "")
    )
    if tuple(words) == ("make", "lab"):
        _run_server_until_it_answers(words, scratch)
        return
    prefix, _ = offline_prefix()
    if needs_cluster or prefix is None:
        prefix = ()
    started = time.perf_counter()
    proc = subprocess.run(
        [*prefix, "bash", "-c", shlex.join(words)],
        cwd=scratch,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        env={**os.environ, "PYDEVD_DISABLE_FILE_VALIDATION": "1"},
    )
    print(f"  exit {proc.returncode} in {time.perf_counter() - started:.1f} s")
    assert proc.returncode == 0, (
        f"{command.where}: `{command.text}` exited {proc.returncode}\n"
        f"{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    )
    if "matrix_sensing run" in shlex.join(words) or "papermill" in words[0]:
        assert "PASS" in proc.stdout + _executed_verdicts(words, scratch), proc.stdout[-2000:]


def _executed_verdicts(words: list[str], cwd: Path) -> str:
    """The verdict text of the notebook a papermill command wrote (empty otherwise)."""
    if "papermill" not in words[0]:
        return ""
    import nbformat

    nb = nbformat.read(cwd / words[2], as_version=4)
    return "".join(o.get("text", "") for o in nb.cells[-1].get("outputs", []))


@pytest.mark.parametrize("document", DOCUMENTS)
def test_python_blocks_run(document, scratch):
    """The Python snippets of the documents run too, as written."""
    for line, body in blocks(ROOT / document, "python"):
        proc = subprocess.run(
            [sys.executable, "-c", body],
            cwd=scratch,
            capture_output=True,
            text=True,
            timeout=TIMEOUT,
        )
        assert proc.returncode == 0, f"{document}:{line}\n{proc.stderr[-3000:]}"
