"""nbval over every notebook, on the execution the book build of this session made.

The suite executes each notebook once: the book build (the ``built_book`` fixture, as
``make book`` does) executes them all, its pages and the browser tests read those outputs,
the golden values are taken from them (tests/test_golden_values.py), and here nbval compares
their verdict cells with the committed ones. nbval's own collector reads the notebook, its
cell tags and the sanitizing patterns of ``addopts`` (tests/nbval_sanitize.cfg), and its
own comparison (``IPyNbCell.compare_outputs``) judges each cell tagged
``nbval-check-output``, exactly as ``pytest notebooks/<notebook>.ipynb`` does after
executing the notebook itself (the README's command, run as written by
tests/test_documented_commands.py).
"""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest
from nbval.plugin import IPyNbFile, coalesce_streams

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
SHOWCASES = {"phase_transition.ipynb"}  # a tool's demonstration: no verdict cell


@pytest.mark.book
@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda path: path.name)
def test_nbval_passes_on_the_books_execution(notebook, built_book, request):
    assert built_book.returncode == 0, "the book did not build; see test_book.py"
    executed = built_book.execute_dir / "notebooks" / notebook.name
    ran = [c for c in nbformat.read(executed, as_version=4).cells if c.cell_type == "code"]
    collector = IPyNbFile.from_parent(request.session, path=notebook)
    collector.setup_sanitize_files()
    items = list(collector.collect())
    assert [item.cell.source for item in items] == [cell.source for cell in ran]
    checked = 0
    for item, cell in zip(items, ran, strict=True):
        errors = [o for o in cell.outputs if o.output_type == "error"]
        assert not errors, f"{notebook.name} cell {item.cell_num} raised {errors[0].ename}"
        if item.options["skip"] or not item.options["check"]:
            continue
        assert item.cell.execution_count is not None, "a checked cell needs committed outputs"
        checked += 1
        test = coalesce_streams(cell.outputs)
        if not item.compare_outputs(test, coalesce_streams(item.cell.outputs)):
            pytest.fail(
                f"{notebook.name} cell {item.cell_num}: outputs differ\n"
                + "\n".join(item.comparison_traceback)
            )
    assert checked or notebook.name in SHOWCASES, f"{notebook.name} has no verdict cell"


def test_the_comparison_fails_on_another_verdict_and_masks_the_measured_values(request):
    """The harness above can fail: nbval's comparison, given the committed verdict cell of M1
    with another verdict, reports a difference; with other measured values, none."""
    notebook = ROOT / "notebooks" / "m1_m2_small_vs_large_init.ipynb"
    collector = IPyNbFile.from_parent(request.session, path=notebook)
    collector.setup_sanitize_files()
    (item,) = [i for i in collector.collect() if i.options["check"]]
    committed = coalesce_streams(item.cell.outputs)
    text = committed[0]["text"]
    assert "PASS (5/5 seeds)" in text

    def with_text(new):
        return [nbformat.from_dict({**committed[0], "text": new})]

    assert item.compare_outputs(with_text(text), committed)
    other_values = re.sub(r"=\d\.\d\de[-+]\d\d", "=9.99e-99", text)
    assert other_values != text and item.compare_outputs(with_text(other_values), committed)
    assert not item.compare_outputs(with_text(text.replace("PASS (5/5", "FAIL (4/5")), committed)
