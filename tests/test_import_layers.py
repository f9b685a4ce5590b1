"""The import contracts of ``[tool.importlinter]`` in pyproject.toml hold (import-linter's
``lint-imports``): the layers operators -> solvers -> experiments -> claims -> cli, and the
sweep library never imports the command line."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _lint_imports() -> str:
    """The ``lint-imports`` of this interpreter's environment (the lock installs it)."""
    beside = Path(sys.executable).with_name("lint-imports")
    found = str(beside) if beside.is_file() else shutil.which("lint-imports")
    assert found, "lint-imports is not installed (import-linter, in requirements.txt)"
    return found


def test_the_import_contracts_are_kept():
    done = subprocess.run(
        [_lint_imports(), "--config", str(ROOT / "pyproject.toml")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert ", 0 broken." in done.stdout, done.stdout
    assert "The sweep library does not import the command line KEPT" in done.stdout
    assert "Layers: cli -> sweep -> claims -> experiments -> metrics -> solvers -> operators" in (
        done.stdout
    )
