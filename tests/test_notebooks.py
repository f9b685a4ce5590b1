"""Every notebook measures a registered claim (or is a showcase) and keeps only its verdict
outputs, and papermill runs them (or fails clearly).

nbval compares the verdict cells of the book build's execution of every notebook
(tests/test_verdict_cells.py); the parameters cells and paper-scale files are generated from
the experiments' declarations (tests/test_parameters_sync.py).
"""

from __future__ import annotations

from pathlib import Path

import nbformat
import papermill
import pytest
from _notebook_helpers import assert_only_verdict_cell_has_outputs

from matrix_sensing import claims

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK = ROOT / "notebooks" / "m1_m2_small_vs_large_init.ipynb"


def _claims_by_notebook() -> dict[str, list[str]]:
    by_notebook: dict[str, list[str]] = {}
    for cid in claims.ids():
        by_notebook.setdefault(claims.get(cid).notebook, []).append(cid)
    return by_notebook


CLAIM_NOTEBOOKS = sorted(_claims_by_notebook())
# Notebooks that demonstrate a tool (the sweep runner) rather than check a claim.
SHOWCASE_NOTEBOOKS = {"notebooks/phase_transition.ipynb"}


def test_every_notebook_measures_a_registered_claim_or_is_a_showcase():
    on_disk = {str(p.relative_to(ROOT)) for p in (ROOT / "notebooks").glob("*.ipynb")}
    assert on_disk == set(CLAIM_NOTEBOOKS) | SHOWCASE_NOTEBOOKS


@pytest.mark.parametrize("notebook", CLAIM_NOTEBOOKS)
def test_only_the_final_verdict_cell_carries_outputs(notebook):
    assert_only_verdict_cell_has_outputs(notebook)
    verdict = nbformat.read(ROOT / notebook, as_version=4).cells[-1]
    assert "nbval-check-output" in verdict.metadata["tags"]
    printed = "".join(o.get("text", "") for o in verdict.outputs)
    for cid in _claims_by_notebook()[notebook]:
        assert f"{cid} PASS (5/5 seeds)" in printed or f"{cid} FAIL" in printed, cid


def _run(tmp_path, **parameters):
    out = tmp_path / "out.ipynb"
    papermill.execute_notebook(
        str(NOTEBOOK),
        str(out),
        parameters=parameters,
        cwd=str(NOTEBOOK.parent),
        progress_bar=False,
        kernel_name="python3",
    )
    return nbformat.read(out, as_version=4)


def test_papermill_runs_with_other_parameters(tmp_path):
    nb = _run(tmp_path, alpha_small=1e-7, iters_large=2500, seeds=[5, 6])
    verdict = "".join(o.get("text", "") for o in nb.cells[-1].outputs)
    assert "M1 PASS (2/2 seeds)" in verdict
    assert "M2 PASS (2/2 seeds)" in verdict


@pytest.mark.parametrize(
    ("parameters", "error", "message"),
    [
        ({"alpha_small": -1.0}, "ValueError", "alpha_small must be > 0"),
        ({"k": "wide"}, "TypeError", "k must be an integer"),
        ({"step_large": 0.0}, "ValueError", "step_large must be > 0"),
        ({"seeds": []}, "ValueError", "seeds must contain at least one seed"),
        # papermill's `-p seeds "[5, 6]"` passes a string: the message says how to pass a list.
        ({"seeds": "[5, 6]"}, "TypeError", 'give a list as YAML: -y "seeds: [5, 6]"'),
    ],
)
def test_papermill_bad_parameter_fails_clearly(tmp_path, parameters, error, message):
    with pytest.raises(papermill.PapermillExecutionError) as info:
        _run(tmp_path, **parameters)
    assert info.value.ename == error
    assert message in info.value.evalue


class _KernelRequested(Exception):
    pass


def test_both_executors_get_the_packages_kernel_settings(monkeypatch, tmp_path):
    """The command line's papermill (``run``) and the book's executor
    (book/_ext/parallel_execution.py) hand
    :func:`~matrix_sensing.kernel_settings.kernel_config` to the client that starts the
    kernel: encrypted transport where available, and the kernel stopped at once when the
    notebook is done. Checked where the client asks for its kernel (none is started)."""
    import importlib.util

    from nbclient import NotebookClient

    from matrix_sensing.cli import main
    from matrix_sensing.kernel_settings import kernel_config

    seen = []

    def record(client):
        seen.append((type(client).__name__, client.shutdown_kernel, client.config))
        raise _KernelRequested

    monkeypatch.setattr(NotebookClient, "create_kernel_manager", record)
    with pytest.raises(_KernelRequested):
        main(["run", "N8", "--seeds", "0", "--quiet", "--out", str(tmp_path / "out")])

    spec = importlib.util.spec_from_file_location(
        "parallel_execution", ROOT / "book" / "_ext" / "parallel_execution.py"
    )
    extension = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(extension)
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("1")])
    path = tmp_path / "in.ipynb"
    with pytest.raises(_KernelRequested):
        extension._execute((str(path), nbformat.writes(nb), 60))

    expected = kernel_config()["KernelManager"]
    assert [name for name, _, _ in seen] == ["PapermillNotebookClient", "NotebookClient"]
    for _, shutdown, config in seen:
        assert shutdown == "immediate"
        assert config["KernelManager"] == expected
