"""Every claim notebook's ``parameters`` cell and paper-scale file are what
``tools/sync_parameters.py`` writes from the declaration of its experiment, and read back
(as the notebook and ``papermill -f`` read them) as the declared values."""

from __future__ import annotations

import ast
import importlib.util
import math

import nbformat
import pytest
import yaml
from _notebook_helpers import ROOT
from hypothesis import given, settings
from hypothesis import strategies as st

from matrix_sensing import claims
from matrix_sensing.parameters import SEEDS


def _tool():
    path = ROOT / "tools" / "sync_parameters.py"
    spec = importlib.util.spec_from_file_location("sync_parameters", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


sync = _tool()
NOTEBOOKS = sync.claim_notebooks()
DECLARED = {nb: claim_id for nb, (claim_id, declared) in NOTEBOOKS.items() if declared}


def test_the_tool_finds_every_declared_notebook_up_to_date():
    assert DECLARED
    assert sync.main(["--check"]) == 0


@pytest.mark.parametrize("notebook", sorted(DECLARED))
def test_parameters_cell_is_written_from_the_declaration(notebook):
    cell = sync.parameters_cell(nbformat.read(ROOT / notebook, as_version=4))
    assert cell.source == sync.cell_source(DECLARED[notebook])
    # No outputs: rewriting the cell leaves nbval's comparison and the golden values alone.
    assert cell.outputs == [] and cell.execution_count is None


@pytest.mark.parametrize("notebook", sorted(DECLARED))
def test_paper_file_is_written_from_the_declaration(notebook):
    text = sync.paper_path(notebook).read_text(encoding="utf-8")
    assert text == sync.paper_yaml(DECLARED[notebook])


def _typed(values: dict) -> dict:
    """``values`` with each number paired with its type (2 and 2.0 are equal, not the same)."""

    def typed(value):
        if isinstance(value, list):
            return [typed(v) for v in value]
        return (type(value).__name__, value)

    return {name: typed(value) for name, value in values.items()}


@pytest.mark.parametrize("notebook", sorted(DECLARED))
def test_the_written_files_read_back_as_the_declared_values(notebook):
    """What the notebook runs with is every claim's scale, with the declared types."""
    cell = {
        node.targets[0].id: ast.literal_eval(node.value)
        for node in ast.parse(sync.cell_source(DECLARED[notebook])).body
    }
    paper = yaml.safe_load(sync.paper_yaml(DECLARED[notebook]))
    assert cell.pop("seeds") == SEEDS and paper.pop("seeds") == SEEDS
    shown = [claims.get(c) for c in claims.ids() if claims.get(c).notebook == notebook]
    assert set(cell) == set(paper) == {name for c in shown for name in c.params("ci")}
    for claim in shown:
        for scale, read in (("ci", cell), ("paper", paper)):
            expected = claim.params(scale)
            assert _typed({name: read[name] for name in expected}) == _typed(expected), claim.id


FINITE = st.floats(allow_nan=False, allow_infinity=False)


@settings(max_examples=300, derandomize=True, database=None)
@given(value=FINITE)
def test_numbers_are_written_so_that_they_read_back_exactly(value):
    for text, read in (
        (sync.python_number(value), ast.literal_eval),
        (sync.yaml_number(value), yaml.safe_load),
    ):
        back = read(text)
        assert type(back) is float and back == value, text
        assert math.copysign(1.0, back) == math.copysign(1.0, value), text


def test_numbers_are_written_as_a_reader_writes_them():
    assert [sync.python_number(v) for v in (40, 2.0, 0.25, 1e-6, 1e-11)] == [
        "40",
        "2.0",
        "0.25",
        "1e-6",
        "1e-11",
    ]
    assert [sync.yaml_number(v) for v in (40, 2.0, 1e-6)] == ["40", "2.0", "1.0e-6"]
