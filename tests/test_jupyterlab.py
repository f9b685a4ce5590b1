"""JupyterLab (what ``make lab`` and Binder open), driven by a real browser: open a claim
notebook, run all its cells from the Run menu, and read the verdict the last cell prints.

The server runs from ``.venv`` on 127.0.0.1 with a token, on a copy of the notebook without its
outputs (the committed verdict output must not be what the page shows), with the features that
reach the network switched off: the news feed and the update check (server and page), and the
extension manager (read-only instead of the package index). The page may request nothing but
the server; every other request is refused by the browser's proxy (tests/_browser.py)
and fails the test.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import nbformat
import pytest
from _browser import report_requests_leaving

ROOT = Path(__file__).resolve().parents[1]
JUPYTER_LAB = Path(sys.executable).with_name("jupyter-lab")
# The quickest claim notebook to execute (`matrix-sensing list` gives what each one costs).
NOTEBOOK = "n8_nystrom.ipynb"
VERDICT = "N8 PASS (5/5 seeds)"
KERNEL = "Python 3 (ipykernel)"  # the display name of .venv's kernel
RUN_TIMEOUT_MS = 600_000
TRACEBACK = "Traceback (most recent call last)"  # how JupyterLab shows an exception


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _stop(proc: subprocess.Popen, base: str, token: str) -> None:
    """Shut the server down (it stops its kernels), then end its process group and any kernel
    left over (kernels run in sessions of their own)."""
    import psutil  # a dependency of ipykernel

    kernels = []
    with contextlib.suppress(psutil.Error):
        kernels = psutil.Process(proc.pid).children(recursive=True)
    with contextlib.suppress(OSError):
        request = urllib.request.Request(f"{base}/api/shutdown?token={token}", method="POST")
        urllib.request.urlopen(request, timeout=10).close()
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    for kernel in kernels:
        with contextlib.suppress(psutil.Error):
            kernel.kill()


@contextlib.contextmanager
def _jupyterlab(tmp_path: Path):
    """A JupyterLab server on a copy of the notebook: yields (base URL, token)."""
    root = tmp_path / "notebooks"
    root.mkdir()
    nb = nbformat.read(ROOT / "notebooks" / NOTEBOOK, as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    nbformat.write(nb, root / NOTEBOOK)
    # Settings, workspaces and runtime files in tmp_path: the reader's own are not read or
    # changed. The page's notifications never fetch news or look for updates.
    variables = (
        "JUPYTER_CONFIG_DIR",
        "JUPYTER_DATA_DIR",
        "JUPYTER_RUNTIME_DIR",
        "JUPYTERLAB_SETTINGS_DIR",
        "JUPYTERLAB_WORKSPACES_DIR",
        "IPYTHONDIR",
    )
    env = {**os.environ, **{v: str(tmp_path / v.lower()) for v in variables}}
    notification = tmp_path / "jupyterlab_settings_dir" / "@jupyterlab" / "apputils-extension"
    notification.mkdir(parents=True)
    (notification / "notification.jupyterlab-settings").write_text(
        json.dumps({"fetchNews": "false", "checkForUpdates": False})
    )
    port, token = _free_port(), secrets.token_hex(24)
    command = [
        str(JUPYTER_LAB),
        "--no-browser",
        "--allow-root",
        "--ServerApp.ip=127.0.0.1",
        f"--ServerApp.port={port}",
        "--ServerApp.port_retries=0",
        f"--IdentityProvider.token={token}",
        f"--ServerApp.root_dir={root}",
        "--LabApp.news_url=None",
        "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
        "--LabApp.extension_manager=readonly",
    ]
    log = tmp_path / "jupyterlab.log"
    with log.open("w") as out:
        proc = subprocess.Popen(
            command, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            assert proc.poll() is None, f"JupyterLab exited:\n{log.read_text()[-3000:]}"
            assert time.monotonic() < deadline, f"JupyterLab not up:\n{log.read_text()[-3000:]}"
            with contextlib.suppress(OSError):
                urllib.request.urlopen(f"{base}/api/status?token={token}", timeout=5).close()
                break
            time.sleep(0.5)
        yield base, token
    finally:
        _stop(proc, base, token)


@pytest.mark.browser
def test_a_claim_notebook_runs_in_jupyterlab_and_prints_its_verdict(browser, tmp_path):
    with _jupyterlab(tmp_path) as (base, token):
        problems: list[str] = []
        page = browser.new_page(viewport={"width": 1400, "height": 900})
        report_requests_leaving(page, base, problems)
        try:
            page.goto(f"{base}/lab/tree/{NOTEBOOK}?token={token}")
            # The status bar's kernel state (the toolbar's indicator says idle before the
            # kernel is connected, and a Run All then does nothing).
            kernel_idle = page.get_by_text(f"{KERNEL} | Idle")
            kernel_idle.wait_for(timeout=120_000)
            config = json.loads(page.locator("#jupyter-config-data").text_content())
            assert config["news"] == {"disabled": True}
            assert config["extensionManager"]["name"] == "read-only"
            cells = page.locator(".jp-Notebook .jp-Cell")
            last = cells.last
            assert VERDICT not in (last.text_content() or "")  # not run yet

            page.click("li.lm-MenuBar-item:has-text('Run')")
            page.click("li.lm-Menu-item[data-command='runmenu:run-all']")
            verdict = last.locator(".jp-OutputArea-output").filter(has_text=VERDICT)
            # A cell that raises stops Run All: the verdict would never come.
            error = page.locator(".jp-OutputArea-output").filter(has_text=TRACEBACK)
            verdict.or_(error).first.wait_for(timeout=RUN_TIMEOUT_MS)
            assert not error.count(), error.first.text_content()
            kernel_idle.wait_for(timeout=RUN_TIMEOUT_MS)
            text = last.locator(".jp-OutputArea").text_content()
            # Every code cell ran, in order, from the first (the Colab cell) to the verdict.
            prompts = page.locator(".jp-Notebook .jp-CodeCell .jp-InputArea-prompt")
            counts = [prompt.strip() for prompt in prompts.all_text_contents()]
        finally:
            page.close()
    assert text.startswith(VERDICT), text
    assert counts == [f"[{i}]:" for i in range(1, len(counts) + 1)], counts
    code_cells = [
        c for c in nbformat.read(ROOT / "notebooks" / NOTEBOOK, 4).cells if c.cell_type == "code"
    ]
    assert len(counts) == len(code_cells)
    assert not problems, "\n".join(problems)
