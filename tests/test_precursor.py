"""Claims P1–P3 and N1: measurement definitions on synthetic data, parameter validation with
exact messages, determinism of small runs, and the registration (P1–P3: one experiment each,
the notebook's parameters with a suffix per claim)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from matrix_sensing import GDResult, claims
from matrix_sensing.claims.curse_of_symmetry import measure_n1, t2_loss_growth
from matrix_sensing.claims.precursor import measure_p2, measure_p3
from matrix_sensing.experiments import Run
from matrix_sensing.experiments.symmetric import (
    crossing_times,
    curse_of_symmetry,
    incremental_learning,
    precursor_recovery,
    precursor_underdetermined,
    spectral_phase_end,
)
from matrix_sensing.metrics import top_subspace_sine

PRECURSOR = {"P1": precursor_recovery, "P2": precursor_underdetermined, "P3": incremental_learning}

# Tiny problems that run in a fraction of a second (bookkeeping tests only).
TINY_PRECURSOR = {
    "P1": {
        "n": 8,
        "r": 1,
        "kappa": 1.0,
        "m": 60,
        "k": 8,
        "step": 0.25,
        "alpha": 1e-3,
        "alphas": [1e-2, 1e-3, 1e-4],
        "iters": 60,
        "alpha_spectral": 1e-6,
        "iters_spectral": 40,
    },
    "P2": {
        "n": 8,
        "r": 1,
        "kappa": 1.0,
        "m": 30,
        "k": 8,
        "step": 0.5,
        "alphas": [1e-2, 1e-3, 1e-4],
        "iters": 100,
        "fit_level": 0.1,
    },
    "P3": {
        "n": 8,
        "eigenvalues": [1.0, 0.5],
        "m": 60,
        "k": 8,
        "step": 0.5,
        "alpha": 1e-2,
        "iters": 100,
    },
}
TINY_CURSE = {
    "n": 8,
    "eigenvalues": [1.0, 0.5],
    "m": 80,
    "widths": [2, 3],
    "init_scale": 1e-2,
    "step": 0.3,
    "iters": 200,
    "check_times": [50, 100, 200],
    "record_every": 10,
}


@pytest.fixture(scope="module")
def tiny_precursor():
    return {cid: PRECURSOR[cid](**TINY_PRECURSOR[cid], seed=3) for cid in PRECURSOR}


@pytest.fixture(scope="module")
def tiny_curse():
    return curse_of_symmetry(**TINY_CURSE, seed=3)


# Measurement helpers on synthetic data --------------------------------------------------


def test_crossing_times_first_reach_half_of_each_eigenvalue():
    iterations = np.arange(6)
    eigenvalues = np.array(
        [[0, 0], [0.2, 0], [0.5, 0.1], [0.9, 0.2], [1.0, 0.25], [1.0, 0.5]]
    )  # columns: λ_1(U_t U_t^T), λ_2(U_t U_t^T)
    np.testing.assert_array_equal(crossing_times(iterations, eigenvalues, [1.0, 0.5]), [2, 4])
    # σ_i / 2 reached exactly counts; never reached is nan.
    times = crossing_times(iterations * 10, eigenvalues, [1.0, 2.0])
    assert times[0] == 20 and math.isnan(times[1])


def test_spectral_phase_end_is_last_iteration_at_or_below_the_level():
    assert spectral_phase_end([1e-6, 1e-4, 1e-2, 0.5, 1e-3], 1e-2) == 2
    assert spectral_phase_end([1e-6, 1e-4], 1e-2) == 1  # never above: the last entry
    assert spectral_phase_end([0.5, 1e-4], 1e-2) is None  # above from the start


def test_top_subspace_sine():
    basis = np.eye(5)[:, :2]
    U = np.zeros((5, 3))
    U[0, 0], U[1, 1], U[4, 2] = 3.0, 2.0, 1e-3  # top-2 subspace = span(e_0, e_1)
    assert top_subspace_sine(U, basis) == pytest.approx(0.0, abs=1e-12)
    U[4, 2] = 10.0  # now e_4 is in the top-2 subspace
    assert top_subspace_sine(U, basis) == pytest.approx(1.0)


def _run(experiment: str, data: dict, params=None, results=None) -> Run:
    return Run(experiment, params or {}, 0, np.eye(2), results or {}, data)


def test_p3_measurement():
    run = _run("incremental_learning", {"crossing_times": np.array([[20, 40, 60], [41, 80, 130]])})
    measured = measure_p3(run)
    assert measured["crossing_gap"] == 20  # min of 20, 20, 39, 50
    assert measured["doubling_ratio"] == pytest.approx(130 / 60)  # the worst of 2.05, 2, 2.17
    unordered = _run("incremental_learning", {"crossing_times": np.array([[20, 15], [40, 30]])})
    assert measure_p3(unordered)["crossing_gap"] == -10
    never = _run("incremental_learning", {"crossing_times": np.array([[20, np.nan], [40, 30]])})
    assert math.isnan(measure_p3(never)["crossing_gap"])


def test_p2_measurement_and_never_fitting():
    alphas = np.array([1e-2, 1e-4, 1e-6])
    data = {
        "alphas": alphas,
        "test_error": alphas**0.9,
        "fit_time": 2.0 + 4.0 * np.log(1 / alphas),
        "predicted_slope": 5.0,
    }
    measured = measure_p2(_run("precursor_underdetermined", data))
    assert measured["error_slope"] == pytest.approx(0.9)
    assert measured["fit_time_ratio"] == pytest.approx(0.8)
    data["fit_time"] = np.array([10.0, 20.0, np.nan])
    assert math.isnan(measure_p2(_run("precursor_underdetermined", data))["fit_time_ratio"])


def test_n1_measurement_on_synthetic_histories():
    iterations = np.arange(0, 2001, 500)
    exact = GDResult(
        np.zeros((2, 1)),
        np.zeros((2, 1)),
        0.3,
        2000,
        {"iteration": iterations, "train_loss": np.array([1.0, 1e-30, 1e-31, 1e-29, 1e-32])},
    )
    data = {
        "rank": 1,
        "widths": np.array([1, 2, 3]),
        "check_times": np.array([500, 1000, 2000]),
        "t2_loss": np.array([[1.0, 1.0, 1.0], [1.0, 1.5, 1.8], [2.0, 2.2, 2.1]]),
    }
    run = _run("curse_of_symmetry", data, results={"k=1": exact})
    np.testing.assert_allclose(t2_loss_growth(run), [[1.5, 1.2], [1.1, 2.1 / 2.2]])
    measured = measure_n1(run)
    assert measured["exact_loss_before_1000"] == 1e-30  # t = 1000 itself is not before 1000
    assert measured["t2_loss_growth"] == pytest.approx(2.1 / 2.2)


# Experiments: small runs ----------------------------------------------------------------


def test_precursor_runs_record_what_the_claims_measure(tiny_precursor):
    for cid, experiment in PRECURSOR.items():
        run = tiny_precursor[cid]
        assert run.experiment == experiment.__name__ and run.params == TINY_PRECURSOR[cid]
    p1, p2, p3 = (tiny_precursor[cid] for cid in ("P1", "P2", "P3"))
    assert set(p1.results) == {"alpha=0.01", "alpha=0.001", "alpha=0.0001", "spectral"}
    assert set(p2.results) == {"alpha=0.01", "alpha=0.001", "alpha=0.0001"}
    assert set(p3.results) == {"alpha", "alpha_squared"}
    spectral = p1.results["spectral"].history
    assert len(spectral["spectral_sine"]) == TINY_PRECURSOR["P1"]["iters_spectral"] + 1
    assert p1.data["power_sine"].shape == spectral["spectral_sine"].shape
    # GD from a tiny start follows the power iteration (I + μ A*(y))^t U_0.
    assert abs(spectral["spectral_sine"][5] - p1.data["power_sine"][5]) < 1e-4
    assert p3.data["crossing_times"].shape == (2, 2)
    assert p2.data["predicted_slope"] == pytest.approx(1 / math.log1p(0.5 * 1.0))
    for cid in PRECURSOR:
        measured = claims.evaluate(cid, tiny_precursor[cid]).measured
        assert set(measured) == {t.quantity for t in claims.get(cid).thresholds}
        assert all(math.isfinite(v) for v in measured.values()), (cid, measured)


def test_p1_perturbation_is_the_spectral_error_relative_to_lambda_r(tiny_precursor):
    # data["perturbation"] = ||A*(y) - X|| / λ_r(X) on P1's problem, recomputed.
    from matrix_sensing.experiments._common import spawn_seeds
    from matrix_sensing.experiments.symmetric import symmetric_problem

    p1_seed = spawn_seeds(3, 3)[0]
    X, op, y = symmetric_problem(8, 1, 60, seed=spawn_seeds(p1_seed, 2)[0], kappa=1.0)
    np.testing.assert_array_equal(tiny_precursor["P1"].truth, X)
    expected = np.linalg.norm(op.adjoint(y) - X, 2) / np.linalg.eigvalsh(X)[-1]
    assert tiny_precursor["P1"].data["perturbation"] == pytest.approx(expected, rel=1e-12)


def test_p1_p2_p3_of_one_seed_are_independent_problems(tiny_precursor):
    """P1, P2, P3 take the first, second and third stream of the seed (three problems)."""
    from matrix_sensing.experiments._common import spawn_seeds
    from matrix_sensing.experiments.symmetric import symmetric_problem

    p2_seed = spawn_seeds(3, 3)[1]
    X, _, _ = symmetric_problem(8, 1, 30, seed=spawn_seeds(p2_seed, 2)[0], kappa=1.0)
    np.testing.assert_array_equal(tiny_precursor["P2"].truth, X)
    assert not np.array_equal(tiny_precursor["P2"].truth, tiny_precursor["P1"].truth)


def test_precursor_is_deterministic(tiny_precursor):
    for cid, experiment in PRECURSOR.items():
        again = experiment(**TINY_PRECURSOR[cid], seed=3)
        other = experiment(**TINY_PRECURSOR[cid], seed=4)
        first = claims.evaluate(cid, tiny_precursor[cid]).measured
        assert claims.evaluate(cid, again).measured == first
        assert claims.evaluate(cid, other).measured != first, cid


def test_curse_run_and_its_t2_loss(tiny_curse):
    run = tiny_curse
    assert set(run.results) == {"k=2", "k=3"}
    for row, k in enumerate(TINY_CURSE["widths"]):
        history = run.results[f"k={k}"].history
        for column, t in enumerate(TINY_CURSE["check_times"]):
            (index,) = np.flatnonzero(history["iteration"] == t)
            assert run.data["t2_loss"][row, column] == t**2 * history["train_loss"][index]
    # the same Gaussian draw: the first two columns of the k = 3 start are the k = 2 start
    again = curse_of_symmetry(**TINY_CURSE, seed=3)
    assert claims.evaluate("N1", again).measured == claims.evaluate("N1", run).measured


# Parameter validation -------------------------------------------------------------------

SIZE_CASES = [  # P1 and P2
    ({"n": 0}, ValueError, "n must be an integer >= 1, got 0"),
    ({"r": 9}, ValueError, "r must be an integer >= 1 and <= 8, got 9"),
    ({"k": 0}, ValueError, "k must be an integer >= 1, got 0"),
    ({"m": "many"}, TypeError, "m must be an integer"),
    ({"kappa": 0.5}, ValueError, r"kappa must be >= 1, got 0\.5"),
    ({"step": 0.0}, ValueError, "step must be > 0, got 0"),
    (
        {"alphas": [1e-2, 2.0, 1e-4]},
        ValueError,
        r"alphas must contain at least 3 distinct numbers in \(0, 1\)",
    ),
    ({"alphas": 0.1}, TypeError, r"alphas must be a list of numbers in \(0, 1\)"),
    ({"iters": 0}, ValueError, "iters must be an integer >= 1, got 0"),
    ({"n": 10**6}, ValueError, r"measurement matrices would have m=\d+ \* n=1000000 \* n=1000000"),
]
PRECURSOR_VALIDATION = [
    *[("P1", *case) for case in SIZE_CASES],
    ("P1", {"alpha": 1e-5}, ValueError, r"alpha must be one of alphas=\[0\.01, 0\.001, 0\.0001\]"),
    ("P1", {"alpha_spectral": 0.0}, ValueError, "alpha_spectral must be > 0, got 0"),
    ("P1", {"iters_spectral": 0}, ValueError, "iters_spectral must be an integer >= 1, got 0"),
    *[("P2", *case) for case in SIZE_CASES],
    ("P2", {"m": 36}, ValueError, r"m must be < n \(n \+ 1\) / 2 = 36"),
    ("P2", {"fit_level": -0.1}, ValueError, r"fit_level must be > 0, got -0\.1"),
    (
        "P3",
        {"eigenvalues": [0.5, 1.0]},
        ValueError,
        r"eigenvalues must be a non-empty, strictly decreasing list of numbers > 0",
    ),
    ("P3", {"n": 1}, ValueError, "n must be an integer >= 2, got 1"),
    ("P3", {"k": 1}, ValueError, "k must be an integer >= 2, got 1"),
    ("P3", {"m": 0}, ValueError, "m must be an integer >= 1, got 0"),
    ("P3", {"step": -0.5}, ValueError, "step must be > 0"),
    ("P3", {"alpha": 0.6}, ValueError, r"alpha must be <= 0\.5, got 0\.6"),
    ("P3", {"alpha": 0.0}, ValueError, "alpha must be > 0, got 0"),
    ("P3", {"iters": "many"}, TypeError, "iters must be an integer"),
    ("P3", {"k": 10**5, "n": 10**4}, ValueError, r"U0 would have n=10000 \* k=100000"),
]


@pytest.mark.parametrize(("cid", "change", "error", "message"), PRECURSOR_VALIDATION)
def test_precursor_parameter_validation(cid, change, error, message):
    with pytest.raises(error, match=message):
        PRECURSOR[cid](**{**TINY_PRECURSOR[cid], **change}, seed=0)


@pytest.mark.parametrize(
    ("change", "error", "message"),
    [
        (
            {"widths": [3, 4]},
            ValueError,
            r"widths must be distinct, contain the rank r=2 and at least one width > r",
        ),
        ({"widths": [2]}, ValueError, "at least one width > r"),
        (
            {"check_times": [50, 105]},
            ValueError,
            r"check_times must be at least 2 increasing multiples of record_every=10 that are "
            r"<= iters=200",
        ),
        ({"check_times": [100, 50]}, ValueError, "check_times must be at least 2 increasing"),
        (
            {"check_times": [100, 300]},
            ValueError,
            r"check_times\[\] must be an integer >= 1 "
            r"and <= 200, got 300",
        ),
        ({"init_scale": 0.0}, ValueError, "init_scale must be > 0, got 0"),
        ({"eigenvalues": []}, ValueError, "eigenvalues must be a non-empty"),
        ({"record_every": 0}, ValueError, "record_every must be an integer >= 1, got 0"),
    ],
)
def test_curse_parameter_validation(change, error, message):
    with pytest.raises(error, match=message):
        curse_of_symmetry(**{**TINY_CURSE, **change}, seed=0)


# The registry ------------------------------------------------------------------------------


def test_claims_are_registered_with_their_sources():
    assert {"P1", "P2", "P3", "N1"} <= set(claims.ids())
    assert claims.get("P1").source == "Stöger & Soltanolkotabi 2021"
    assert claims.get("P3").source == "Jin, Li, Lyu, Du & Lee 2023"
    assert claims.get("N1").source == "Xiong, Ding & Du 2024"
    assert claims.ids().index("P3") < claims.ids().index("N1")


def test_each_precursor_claim_takes_its_parameters_with_its_suffix():
    """P1-P3 name different things alike (each its own n, m): in the notebook each name
    carries its claim's suffix, which its declaration gives."""
    for cid in PRECURSOR:
        declaration = claims.get(cid).declaration
        assert declaration.suffix == f"_{cid.lower()}"
        named = declaration.arguments(
            {f"{n}_{cid.lower()}": v for n, v in TINY_PRECURSOR[cid].items()}
        )
        assert named == TINY_PRECURSOR[cid]
    assert claims.get("N1").declaration.suffix == ""
