"""Every notebook starts with the Colab install cell: the same cell everywhere, installing from
the repository that _config.yml names, hidden from the book, and doing nothing off Colab."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
import types
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))


def _tool():
    spec = importlib.util.spec_from_file_location("colab_cell", ROOT / "tools" / "colab_cell.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


colab_cell = _tool()


def test_the_tool_finds_every_notebook_up_to_date():
    assert NOTEBOOKS
    assert colab_cell.main(["--check"]) == 0


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_first_cell_is_the_install_cell_hidden_from_the_book(path):
    first = nbformat.read(path, as_version=4).cells[0]
    assert first.cell_type == "code"
    assert first.source == colab_cell.cell_source(colab_cell.repository_url())
    assert first.metadata["tags"] == ["remove-cell"]
    assert first.outputs == [] and first.execution_count is None


def _pip_calls(monkeypatch, source: str) -> list:
    calls = []
    monkeypatch.setattr(subprocess, "run", lambda *a, **k: calls.append((a, k)))
    exec(compile(source, "install-cell", "exec"), {})
    return calls


def test_the_cell_does_nothing_off_colab(monkeypatch):
    monkeypatch.delitem(sys.modules, "google.colab", raising=False)
    source = nbformat.read(NOTEBOOKS[0], as_version=4).cells[0].source
    assert _pip_calls(monkeypatch, source) == []


def test_on_colab_the_cell_installs_the_configured_repository_with_the_notebooks_extra(
    monkeypatch,
):
    monkeypatch.setitem(sys.modules, "google.colab", types.ModuleType("google.colab"))
    source = nbformat.read(NOTEBOOKS[0], as_version=4).cells[0].source
    ((args, kwargs),) = _pip_calls(monkeypatch, source)
    url = colab_cell.repository_url()
    assert url.startswith("https://github.com/")
    assert args == (
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            f"matrix-sensing[notebooks] @ git+{url}",
        ],
    )
    assert kwargs == {"check": True}


def test_the_notebooks_extra_covers_what_the_notebooks_import():
    """Every top-level module a notebook imports is the standard library's, the package's, or
    a dependency of the package with its ``notebooks`` extra."""
    import ast
    import tomllib

    from packaging.requirements import Requirement

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    requirements = [*project["dependencies"], *project["optional-dependencies"]["notebooks"]]
    # Distribution names as modules (myst-nb -> myst_nb); tqdm.auto etc. by their top level.
    provided = {Requirement(r).name.replace("-", "_").lower() for r in requirements}
    imported = set()
    for path in NOTEBOOKS:
        for cell in nbformat.read(path, as_version=4).cells:
            if cell.cell_type != "code":
                continue
            for node in ast.walk(ast.parse(cell.source)):
                if isinstance(node, ast.Import):
                    imported |= {a.name.split(".")[0] for a in node.names}
                elif isinstance(node, ast.ImportFrom) and node.level == 0:
                    imported.add(node.module.split(".")[0])
    outside = imported - set(sys.stdlib_module_names) - {"matrix_sensing"} - provided
    assert not outside, f"imported by a notebook but not in the notebooks extra: {outside}"
