"""Helpers shared by the tests of the claim notebooks: only the verdict cell keeps outputs,
and a one-page book to build a notebook with the project's settings.

pytest puts ``tests/`` on ``sys.path`` (no ``__init__.py``, default import mode), so the test
modules import this one as ``_notebook_helpers``.
"""

from __future__ import annotations

from pathlib import Path

import nbformat
import yaml

ROOT = Path(__file__).resolve().parents[1]


def assert_only_verdict_cell_has_outputs(notebook: Path | str) -> None:
    """Only cells tagged ``nbval-check-output`` keep outputs, and the one verdict cell is the
    last cell."""
    nb = nbformat.read(ROOT / notebook, as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "code" and cell.outputs:
            assert "nbval-check-output" in cell.metadata.get("tags", []), cell.source[:80]
    verdicts = [c for c in nb.cells if "verdict" in c.metadata.get("tags", [])]
    assert len(verdicts) == 1 and verdicts[0] is nb.cells[-1]


def tiny_book(folder: Path, title: str, cells: list, config: dict) -> Path:
    """Write a one-page Jupyter Book into ``folder``: ``_config.yml`` with the ``execute``
    settings of the project's ``config`` and its notebook-execution extension, ``_toc.yml``
    and ``page.ipynb`` made of ``cells``. Returns the page."""
    extension = config["sphinx"]["local_extensions"]["parallel_execution"]
    book_config = {
        "title": title,
        "execute": config["execute"],
        "sphinx": {"local_extensions": {"parallel_execution": str(ROOT / extension)}},
    }
    (folder / "_config.yml").write_text(yaml.safe_dump(book_config))
    (folder / "_toc.yml").write_text("format: jb-book\nroot: page\n")
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3"}
    nb.cells = cells
    nbformat.write(nb, folder / "page.ipynb")
    return folder / "page.ipynb"
