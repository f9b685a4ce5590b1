"""A missing capability (Chromium, a network namespace) skips with its reason, and fails
only under the project's strictness variable, never because ``CI`` is set."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from _capabilities import STRICT_VARIABLE, chromium_executable

TESTS = Path(__file__).resolve().parent
# The session's browser fixture, with a Chromium that is not there.
PROBE = """
def test_needs_the_browser(browser):
    pass
"""


def _run_probe(tmp_path, **env_overrides) -> subprocess.CompletedProcess:
    (tmp_path / "pytest.ini").write_text("[pytest]\n")
    (tmp_path / "conftest.py").write_text(
        f"import sys\nsys.path.insert(0, {str(TESTS)!r})\nfrom _browser import browser\n"
    )
    (tmp_path / "test_probe.py").write_text(PROBE)
    env = {k: v for k, v in os.environ.items() if k not in (STRICT_VARIABLE, "CI")}
    env.update(CHROMIUM=str(tmp_path / "no-chromium-here"), **env_overrides)
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-rs",
            "-p",
            "no:cacheprovider",
            "-c",
            str(tmp_path / "pytest.ini"),
            str(tmp_path / "test_probe.py"),
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )


@pytest.mark.parametrize("ci", [None, "true"])
def test_missing_chromium_is_a_skip_with_its_reason_without_the_variable(tmp_path, ci):
    proc = _run_probe(tmp_path, **({"CI": ci} if ci else {}))
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    assert "1 skipped" in proc.stdout
    assert "no-chromium-here is not an executable" in proc.stdout  # the reason is printed


def test_missing_chromium_fails_under_the_strictness_variable(tmp_path):
    proc = _run_probe(tmp_path, **{STRICT_VARIABLE: "1"})
    assert proc.returncode == 1, proc.stdout[-2000:] + proc.stderr[-2000:]
    assert "1 error" in proc.stdout or "1 failed" in proc.stdout
    assert f"{STRICT_VARIABLE} is set" in proc.stdout


def test_chromium_setting_that_does_not_exist_is_reported(monkeypatch, tmp_path):
    monkeypatch.setenv("CHROMIUM", str(tmp_path / "nothing"))
    assert chromium_executable() == (None, f"CHROMIUM={tmp_path / 'nothing'} is not an executable")


def test_ci_runner_sets_the_strictness_variable():
    script = (TESTS.parent / ".ci" / "run").read_text()
    assert f"export {STRICT_VARIABLE}=1" in script
    assert "export CI" not in script
