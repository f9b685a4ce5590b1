"""Checks shared by the tests of the claim notebooks: the parameters cell and the paper
parameter file are the claim registry's scales, and only the verdict cell keeps outputs.

pytest puts ``tests/`` on ``sys.path`` (no ``__init__.py``, default import mode), so the test
modules import this one as ``_notebook_helpers``.
"""

from __future__ import annotations

import ast
from pathlib import Path

import nbformat
import yaml

from matrix_sensing import claims

ROOT = Path(__file__).resolve().parents[1]
SEEDS = [0, 1, 2, 3, 4]


def parameters_cell(path: Path | str) -> dict:
    """The assignments of the notebook's cell tagged ``parameters``, as a dict (the cell may
    only assign literals)."""
    nb = nbformat.read(ROOT / path, as_version=4)
    (cell,) = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
    values = {}
    for node in ast.parse(cell.source).body:
        assert isinstance(node, ast.Assign), f"parameters cell may only assign: {ast.dump(node)}"
        values[node.targets[0].id] = ast.literal_eval(node.value)
    return values


def paper_parameters(notebook: Path | str) -> dict:
    """The paper-scale parameter file ``notebooks/params/<stem>_paper.yaml`` of a notebook."""
    stem = Path(notebook).stem
    return yaml.safe_load((ROOT / "notebooks" / "params" / f"{stem}_paper.yaml").read_text())


def assert_scales_match_registry(notebook: Path | str, claim_ids, seeds=SEEDS) -> None:
    """The parameters cell of ``notebook`` is the ``"ci"`` scale and its paper parameter file
    the ``"paper"`` scale of every claim in ``claim_ids``, both with ``seeds``, and both set
    the same parameters."""
    values, paper = parameters_cell(notebook), paper_parameters(notebook)
    assert values.pop("seeds") == seeds
    assert paper.pop("seeds") == seeds
    for claim_id in claim_ids:
        assert values == claims.get(claim_id).params("ci"), claim_id
        assert paper == claims.get(claim_id).params("paper"), claim_id
    assert set(paper) == set(values)


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
