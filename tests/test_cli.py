"""The command line: exit codes, messages, files written, provenance, bit-identical reruns."""

from __future__ import annotations

import argparse
import re
import subprocess
import sys

import numpy as np
import pytest
from _results_compare import assert_same_results, provenance_block, verdict_outputs

from matrix_sensing import claims, provenance
from matrix_sensing.cli import main
from matrix_sensing.cli._run import _parameters
from matrix_sensing.parameters import notebook_values


def cli(*args):
    proc = subprocess.run(
        [sys.executable, "-m", "matrix_sensing", *args],
        capture_output=True,
        text=True,
        timeout=600,
    )
    return proc.returncode, proc.stdout, proc.stderr


def test_list_shows_every_claim_and_its_parameters(capsys):
    assert main(["list"]) == 0
    out = capsys.readouterr().out
    for claim_id in claims.ids():
        assert f"{claim_id} " in out
        assert claims.get(claim_id).notebook in out
    assert re.search(r"\n +alpha_small +float +default 1e-06 +allowed > 0\n", out)
    # Claims sharing a notebook list its parameters once, under the notebook's names.
    assert out.count("notebook: notebooks/p1_p3_precursor.ipynb") == 1
    assert re.search(r"\n +m_p1 +int +default 800 ", out)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["run", "M99"], "claim_id must be one of"),
        (["run", "M1", "-p", "foo", "1"], "unknown parameter 'foo' for claim M1"),
        (["run", "M1", "-p", "alpha_small", "-1"], "alpha_small must be a number > 0, got -1.0"),
        (["run", "M1", "-p", "k", "1.5"], "k must be an integer >= 1 and <= 10000, got 1.5"),
        (["run", "M1", "-p", "k", "wide"], "k must be an integer >= 1 and <= 10000, got 'wide'"),
        (["run", "M1", "-p", "alpha_small", "nan"], "alpha_small must be a number > 0"),
        (["run", "M1", "--seeds", "-3"], "seeds must be an integer >= 0, got -3"),
        (["run", "M1", "--scale", "huge"], "invalid choice: 'huge'"),
        (["frobnicate"], "invalid choice: 'frobnicate'"),
    ],
)
def test_bad_usage_exits_2_with_one_clear_line(capsys, args, message):
    assert main(args) == 2
    err = capsys.readouterr().err
    assert message in err
    assert "Traceback" not in err


@pytest.mark.parametrize("claim_id", ["P1", "P3"])
def test_run_passes_the_notebooks_names_and_scale(claim_id):
    """The P1-P3 notebook runs three experiments whose names carry their claim's suffix:
    `-p m_p1 VALUE` and `--scale paper` reach it by those names, whichever claim is run."""
    args = argparse.Namespace(
        claim=claim_id, param=[["m_p1", "400"]], scale="paper", seeds=["1", "2"]
    )
    paper = notebook_values(claim_id, "paper")
    assert _parameters(args) == {**paper, "m_p1": 400, "seeds": [1, 2]}
    assert paper["m_p2"] == claims.get("P2").params("paper")["m"]
    args = argparse.Namespace(claim=claim_id, param=[["m_p2", "400"]], scale="ci", seeds=None)
    assert _parameters(args) == {"m_p2": 400}


def test_bad_usage_from_the_shell_has_no_traceback():
    code, _, err = cli("run", "M1", "-p", "m", "0")
    assert code == 2
    assert err.strip().splitlines()[-1] == "error: m must be an integer >= 1 and <= 1e+06, got 0"
    assert "Traceback" not in err


@pytest.fixture(scope="module")
def passing_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("run")
    code, stdout, stderr = cli("run", "M1", "--seeds", "3", "--out", str(out), "--quiet")
    return code, stdout, stderr, out


def test_run_prints_the_verdict_and_exits_0(passing_run):
    code, stdout, stderr, _ = passing_run
    assert code == 0, stderr
    assert stdout.splitlines()[0].startswith("M1 PASS (1/1 seeds)")
    assert "without encryption" not in stderr  # ipykernel's transport warning is not shown


def test_run_writes_notebook_figures_results_and_provenance(passing_run):
    _, _, _, out = passing_run
    assert (out / "m1_m2_small_vs_large_init.ipynb").is_file()
    assert (out / "figures" / "fig_errors.png").read_bytes()[:4] == b"\x89PNG"
    results = provenance.read_json(out / "results.json")
    meta = results["provenance"]
    assert meta == provenance_block(out)
    assert meta["kind"] == "claim-run" and meta["name"] == "M1"
    assert meta["seeds"] == [3] and meta["params"]["alpha_small"] == 1e-6
    assert meta["verdict"] == {"M1": True, "M2": True}
    assert meta["environment"]["numpy"] == np.__version__
    assert meta["environment"]["package_version"]
    assert set(meta["git"]) == {"commit", "dirty"}
    assert meta["started"] <= meta["finished"]
    arrays = provenance.read_npz(out / "results.npz")
    assert arrays["M1/seeds"].tolist() == [3]
    assert arrays["M1/test_error"].shape == (1,)


def test_rerun_is_bit_identical(passing_run, tmp_path):
    """Two consecutive runs: the same files byte for byte (wall-clock fields aside, see
    _results_compare), and the executed notebook's verdict output identical as printed
    (unsanitized, unlike nbval's comparison with the committed output)."""
    _, _, _, first = passing_run
    code, _, stderr = cli("run", "M1", "--seeds", "3", "--out", str(tmp_path), "--quiet")
    assert code == 0, stderr
    assert assert_same_results(first, tmp_path) == 6  # notebook, 2 JSON, npz, figure, .lock
    notebook = "m1_m2_small_vs_large_init.ipynb"
    verdict = verdict_outputs(first / notebook)
    assert verdict == verdict_outputs(tmp_path / notebook)
    assert verdict[0]["text"].startswith("M1 PASS (1/1 seeds)")
    a, b = provenance.read_npz(first / "results.npz"), provenance.read_npz(tmp_path / "results.npz")
    assert a.keys() == b.keys()
    for key in a:
        assert np.array_equal(a[key], b[key]), key


def test_a_failing_claim_exits_1_and_says_fail(tmp_path):
    code, stdout, _ = cli(
        "run", "M1", "-p", "iters_small", "20", "--seeds", "0", "--out", str(tmp_path), "--quiet"
    )
    assert code == 1
    assert stdout.splitlines()[0].startswith("M1 FAIL (0/1 seeds)")
    assert provenance.read_json(tmp_path / "results.json")["provenance"]["verdict"]["M1"] is False


def test_divergence_exits_1_with_the_iteration_and_a_hint(tmp_path):
    code, _, stderr = cli(
        "run", "M1", "-p", "step_small", "50", "--seeds", "0", "--out", str(tmp_path), "--quiet"
    )
    assert code == 1
    assert "DivergenceError: gradient descent diverged at iteration" in stderr
    assert "Hint: step=50" in stderr
