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
from matrix_sensing.parameters import EXECUTION_OPTIONS, SEEDS


def _tool():
    path = ROOT / "tools" / "sync_parameters.py"
    spec = importlib.util.spec_from_file_location("sync_parameters", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


sync = _tool()
DECLARED = sync.claim_notebooks()


def test_the_tool_finds_every_claim_notebook_up_to_date():
    assert set(DECLARED) == {claims.get(c).notebook for c in claims.ids()}
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
    """What the notebook hands each experiment (by the names with the declaration's suffix)
    is its claim's scale, with the declared types, and the files set nothing else."""
    cell = {
        node.targets[0].id: ast.literal_eval(node.value)
        for node in ast.parse(sync.cell_source(DECLARED[notebook])).body
    }
    paper = yaml.safe_load(sync.paper_yaml(DECLARED[notebook]))
    assert cell.pop("seeds") == SEEDS and paper.pop("seeds") == SEEDS
    # Where the runs are computed: one process (the notebook's), unless told otherwise.
    assert cell.pop("workers") == 1 and paper.pop("workers") == 1
    assert {name: cell.pop(name) for name in EXECUTION_OPTIONS} == {
        "scheduler": None,
        "checkpoints": None,
    }
    shown = [claims.get(c) for c in claims.ids() if claims.get(c).notebook == notebook]
    names = {p.name for c in shown for p in c.declaration.notebook_parameters}
    assert set(cell) == set(paper) == names
    for claim in shown:
        for scale, read in (("ci", cell), ("paper", paper)):
            given = claim.declaration.arguments(read)
            assert _typed(given) == _typed(claim.params(scale)), claim.id


def test_a_notebook_of_several_experiments_takes_their_parameters_by_suffixed_names():
    cell = sync.cell_source("P2")
    assert "\nm_p1 = 800  # " in cell and "\nm_p2 = 360  # " in cell
    assert "\nm = " not in cell
    # N2-N4 declare the parameters they share alike: the cell sets each once.
    cell = sync.cell_source("N3")
    assert cell.count("\nalphas = ") == 1 and "\nalpha_equal = 0.12  # " in cell


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
