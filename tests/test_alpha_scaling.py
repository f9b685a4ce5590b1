"""Claims M3/M4 machinery: escape time, early-stopped runs, measurements, parameter
validation, determinism, and the notebook's outputs."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from _notebook_helpers import assert_only_verdict_cell_has_outputs

import matrix_sensing as ms
from matrix_sensing import claims
from matrix_sensing.claims.alpha_scaling import escape_measurements, measure_m3, measure_m4
from matrix_sensing.experiments import Run
from matrix_sensing.experiments.alpha_scaling import (
    alpha_scaling,
    check_alphas,
    escape_time,
    run_until_escape,
)
from matrix_sensing.experiments.initialization_scale import small_vs_large_init

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK = ROOT / "notebooks" / "m3_m4_alpha_scaling.ipynb"

# A tiny problem that escapes within a few dozen iterations (for bookkeeping tests only).
TINY = {
    "n1": 8,
    "n2": 6,
    "r": 1,
    "kappa": 1.0,
    "m": 60,
    "k": 8,
    "step": 0.25,
    "alphas_error": [1e-2, 1e-3, 1e-4],
    "iters_error": 40,
    "alphas_escape": [1e-2, 1e-3, 1e-4],
    "escape_level": 0.1,
    "max_iters_escape": 300,
}


@pytest.fixture(scope="module")
def tiny_run():
    return alpha_scaling(**TINY, seed=3)


@pytest.fixture
def tiny_problem():
    truth = ms.low_rank_target(8, 6, 1, kappa=1.0, seed=0)
    op = ms.GaussianSensing(60, (8, 6), seed=1)
    U0, V0 = ms.small_random_init(8, 6, 8, 1e-3, seed=2)
    return op, op(truth), U0, V0, truth


# Escape time ------------------------------------------------------------------------------


def test_escape_time_is_first_iteration_strictly_below_level():
    history = {"iteration": np.arange(6), "test_error": np.array([1, 0.5, 0.1, 0.09, 0.2, 0.01])}
    assert escape_time(history, 0.1) == 3.0  # 0.1 itself is not below 0.1
    assert escape_time(history, 0.15) == 2.0
    assert escape_time(history, 2.0) == 0.0


def test_escape_time_uses_recorded_iterations_and_nan_when_never():
    history = {"iteration": np.array([0, 10, 20, 25]), "test_error": np.array([1, 0.5, 0.05, 0])}
    assert escape_time(history, 0.1) == 20.0
    assert escape_time(history, 1e-12) == 25.0
    never = {"iteration": np.arange(3), "test_error": np.array([1.0, 0.5, 0.2])}
    assert math.isnan(escape_time(never, 0.1))


def test_escape_time_rejects_mismatched_history():
    with pytest.raises(ValueError, match="same length"):
        escape_time({"iteration": np.arange(3), "test_error": np.ones(2)}, 0.1)
    with pytest.raises(ValueError, match="level must be > 0"):
        escape_time({"iteration": np.arange(2), "test_error": np.ones(2)}, 0.0)


# Early-stopped runs -----------------------------------------------------------------------


def test_run_until_escape_matches_one_long_run(tiny_problem):
    op, y, U0, V0, truth = tiny_problem
    stopped = run_until_escape(op, y, U0, V0, 0.25, truth, level=0.1, max_iters=500, chunk=7)
    full = ms.factorized_gd(op, y, U0, V0, 0.25, stopped.iters, truth=truth)
    for key, values in full.history.items():
        np.testing.assert_array_equal(stopped.history[key], values, err_msg=key)
    np.testing.assert_array_equal(stopped.U, full.U)
    np.testing.assert_array_equal(stopped.V, full.V)
    t_escape = escape_time(full.history, 0.1)
    # It stops at the end of the chunk in which the escape happens.
    assert stopped.iters % 7 == 0 and stopped.iters - 7 < t_escape <= stopped.iters
    assert escape_time(stopped.history, 0.1) == t_escape


def test_run_until_escape_respects_the_budget(tiny_problem):
    op, y, U0, V0, truth = tiny_problem
    stopped = run_until_escape(op, y, U0, V0, 0.25, truth, level=0.1, max_iters=10, chunk=4)
    assert stopped.iters == 10
    np.testing.assert_array_equal(stopped.history["iteration"], np.arange(11))
    assert math.isnan(escape_time(stopped.history, 0.1))


# Measurements on synthetic runs -----------------------------------------------------------


def synthetic_run(test_error, escape_times, sigma_r=0.5, step=0.25):
    run = Run("alpha_scaling", {}, 0, np.eye(2))
    run.data.update(
        alphas_error=np.array([1e-3, 1e-4, 1e-5, 1e-6, 1e-7]),
        test_error=np.asarray(test_error, dtype=float),
        alphas_escape=np.array([1e-2, 1e-4, 1e-6, 1e-8]),
        escape_steps=np.array([step, step / 2]),
        escape_times=np.asarray(escape_times, dtype=float),
        sigma_r=sigma_r,
    )
    return run


def test_measure_m3_monotonicity_and_slope():
    alphas = np.array([1e-3, 1e-4, 1e-5, 1e-6, 1e-7])
    measured = measure_m3(synthetic_run(alphas**0.6, np.ones((2, 4))))
    assert measured["slope"] == pytest.approx(0.6)
    assert measured["error_ratio_max"] == pytest.approx(10**-0.6)
    bumpy = alphas**0.6
    bumpy[3] = 2 * bumpy[2]  # the error grows from α = 1e-5 to α = 1e-6: not monotone
    assert measure_m3(synthetic_run(bumpy, np.ones((2, 4))))["error_ratio_max"] == 2.0
    assert not claims.ClaimResult(
        claims.get("M3"), 0, measure_m3(synthetic_run(bumpy, np.ones((2, 4))))
    ).passed


def test_measure_m4_on_the_predicted_law():
    # Escape times exactly ln(1/α)/(μσ_r) + c for μ = 0.25 and μ/2, σ_r = 0.5.
    lengths = np.log(1 / np.array([1e-2, 1e-4, 1e-6, 1e-8]))
    times = np.array([lengths / (0.25 * 0.5) + 10, lengths / (0.125 * 0.5) + 20])
    run = synthetic_run(np.ones(5), times)
    per = escape_measurements(run)
    np.testing.assert_allclose(per["r_squared"], 1.0)
    np.testing.assert_allclose(per["slope_ratio"], 1.0)
    np.testing.assert_allclose(per["halving_ratio"], 2.0)
    assert measure_m4(run) == pytest.approx(
        {"r_squared": 1.0, "slope_ratio": 1.0, "halving_ratio": 2.0}
    )


def test_measure_m4_reports_the_worst_alpha_and_step():
    lengths = np.log(1 / np.array([1e-2, 1e-4, 1e-6, 1e-8]))
    times = np.array([lengths / (0.25 * 0.5), 1.9 * lengths / (0.25 * 0.5)])
    times[1, 0] *= 2.8 / 1.9  # ratio 2.8 at α = 1e-2, past 2.5; 1.9 elsewhere
    measured = measure_m4(synthetic_run(np.ones(5), times))
    assert measured["halving_ratio"] == pytest.approx(2.8)
    result = claims.ClaimResult(claims.get("M4"), 0, measured)
    assert not result.passed and "halving_ratio=2.80e+00" in result.line()


def test_measure_m4_fails_when_a_run_never_escapes():
    lengths = np.log(1 / np.array([1e-2, 1e-4, 1e-6, 1e-8]))
    times = np.array([8 * lengths, 16 * lengths])
    times[1, 3] = np.nan
    measured = measure_m4(synthetic_run(np.ones(5), times))
    assert math.isnan(measured["halving_ratio"]) and math.isnan(measured["r_squared"])
    assert not claims.ClaimResult(claims.get("M4"), 0, measured).passed


def test_thresholds_are_the_digest_values():
    m3, m4 = claims.get("M3"), claims.get("M4")
    assert m3.threshold("slope").value == 0.5 and m3.threshold("slope").relation == ">="
    assert m3.threshold("error_ratio_max").value == 1.0
    assert m4.threshold("r_squared").value == 0.95
    assert m4.threshold("slope_ratio").value == (0.5, 1.5)
    assert m4.threshold("halving_ratio").value == (1.6, 2.5)
    assert m3.experiment is m4.experiment is alpha_scaling


# The experiment ---------------------------------------------------------------------------


def test_tiny_run_layout(tiny_run):
    data = tiny_run.data
    assert tiny_run.experiment == "alpha_scaling"
    assert data["test_error"].shape == data["train_error"].shape == (3,)
    assert data["escape_times"].shape == (2, 3)
    np.testing.assert_array_equal(data["escape_steps"], [0.25, 0.125])
    assert data["sigma_r"] == pytest.approx(1.0)  # κ = 1, ‖X‖ = 1
    assert np.all(np.isfinite(data["escape_times"]))
    assert set(tiny_run.results) == {
        *(f"error/alpha={a:g}" for a in TINY["alphas_error"]),
        *(f"escape/step={s:g}/alpha={a:g}" for s in (0.25, 0.125) for a in TINY["alphas_escape"]),
    }
    # Escape runs stop soon after the escape, well within the budget.
    for alpha, t in zip(TINY["alphas_escape"], data["escape_times"][0], strict=True):
        assert tiny_run.results[f"escape/step=0.25/alpha={alpha:g}"].iters < t + 20 + 1


def test_runs_are_deterministic(tiny_run):
    again = alpha_scaling(**TINY, seed=3)
    for key in ("test_error", "train_error", "escape_times"):
        np.testing.assert_array_equal(again.data[key], tiny_run.data[key])
    other = alpha_scaling(**TINY, seed=4)
    assert not np.array_equal(other.data["test_error"], tiny_run.data["test_error"])


def test_same_data_and_init_as_m1():
    # At α = alpha_small the error run is the small-init run of M1 on the same seed.
    common = {key: TINY[key] for key in ("n1", "n2", "r", "kappa", "m", "k")}
    m1 = small_vs_large_init(
        **common,
        alpha_small=1e-3,
        alpha_large=1.0,
        step_small=0.25,
        step_large=0.1,
        iters_small=30,
        iters_large=1,
        seed=5,
    )
    ours = alpha_scaling(**{**TINY, "iters_error": 30}, seed=5, record_every=1)
    # Here the run is one of a batch, in M1 a single run: the compiled kernels sum in
    # different orders, so the two agree to roundoff (the batch contract, 1e-12), not
    # bit for bit; another seed or initialization would differ at O(1).
    np.testing.assert_allclose(
        ours.results["error/alpha=0.001"].history["test_error"],
        m1.results["small"].history["test_error"],
        rtol=1e-12,
        atol=0,
    )


@pytest.mark.parametrize(
    ("override", "error", "message"),
    [
        (
            {"alphas_error": [1e-3, 1.0, 1e-5]},
            ValueError,
            "alphas_error must contain at least 3 distinct numbers in (0, 1), got [0.001, 1.0, ",
        ),
        (
            {"alphas_escape": [1e-2, 1e-4]},
            ValueError,
            "alphas_escape must contain at least 3 distinct numbers in (0, 1), got [0.01, 0.0001]",
        ),
        ({"alphas_escape": [1e-2, 1e-2, 1e-4]}, ValueError, "alphas_escape must contain at least"),
        ({"alphas_error": 1e-3}, TypeError, "alphas_error must be a list of numbers in (0, 1)"),
        ({"alphas_error": [1e-3, "a", 1e-5]}, TypeError, "alphas_error[] must be a real number"),
        ({"step": 0.0}, ValueError, "step must be > 0, got 0"),
        ({"iters_error": 0}, ValueError, "iters_error must be an integer >= 1, got 0"),
        ({"escape_level": -0.1}, ValueError, "escape_level must be > 0, got -0.1"),
        ({"max_iters_escape": 2.5}, TypeError, "max_iters_escape must be an integer"),
        ({"k": 0}, ValueError, "k must be an integer >= 1, got 0"),
    ],
)
def test_parameter_validation(override, error, message):
    with pytest.raises(error) as info:
        alpha_scaling(**{**TINY, **override}, seed=0)
    assert message in str(info.value)


def test_check_alphas_returns_floats():
    assert check_alphas("a", np.array([1e-2, 1e-3, 1e-4])) == [1e-2, 1e-3, 1e-4]


# The notebook ---------------------------------------------------------------------------


def test_only_verdict_cell_carries_outputs():
    assert_only_verdict_cell_has_outputs(NOTEBOOK)
