"""Each claim's ``measure`` computes the quantities its docstring and its page define.

The runs here are made by hand (a few recorded values per history, no gradient descent), so
that every quantity has a value known in advance: the last recorded value, a ratio, a
maximum over a window, NaN when a level is never reached. Written to kill the mutants that
``make mutation`` found surviving in ``src/matrix_sensing/claims/`` (tests/mutmut_equivalent.md
lists the ones that cannot be killed). The claims themselves are measured at CI scale by the
notebooks (nbval) and pinned by tests/test_golden_values.py.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from matrix_sensing import claims
from matrix_sensing.claims import balancing_free, curse_of_symmetry, imbalance, precursor
from matrix_sensing.experiments import Run
from matrix_sensing.solvers import GDResult

NAN = math.nan


def result(**series) -> GDResult:
    history = {name: np.asarray(values, dtype=float) for name, values in series.items()}
    return GDResult(U=np.zeros((2, 1)), V=np.zeros((2, 1)), step=0.1, iters=3, history=history)


def run_of(claim_id: str, *, results=None, data=None, params=None) -> Run:
    claim = claims.get(claim_id)
    return Run(
        claim.experiment.__name__,
        {**claim.params("ci"), **(params or {})},
        0,
        np.eye(2),
        results=results or {},
        data=data or {},
    )


def measured(claim_id: str, run: Run) -> dict[str, float]:
    """What the verdict reads (``evaluate`` also checks that every quantity is there)."""
    return claims.evaluate(claim_id, run).measured


def assert_measured(claim_id: str, run: Run, expected: dict[str, float]) -> None:
    values = measured(claim_id, run)
    assert set(values) == set(expected)
    for name, value in expected.items():
        if math.isnan(value):
            assert math.isnan(values[name]), (name, values[name])
        else:
            assert values[name] == pytest.approx(value, rel=1e-12, abs=0), name


# M1, M2, M9 (small_vs_large_init) ---------------------------------------------------------


def test_m1_m2_read_the_last_recorded_values():
    run = run_of(
        "M1",
        results={
            "small": result(test_error=[1.0, 0.5, 2e-4], train_loss=[3.0, 1.0, 1e-9]),
            "large": result(test_error=[1.0, 0.9, 0.8], train_loss=[1.0, 1e-3, 1e-12]),
        },
    )
    assert_measured("M1", run, {"test_error": 2e-4, "train_loss": 1e-9})
    assert_measured(
        "M2",
        run,
        {"large_train_loss": 1e-12, "large_test_error": 0.8, "small_test_error": 2e-4},
    )


# M3, M4 (alpha_scaling) --------------------------------------------------------------------


def test_m3_monotonicity_and_slope():
    alphas = np.array([1e-4, 1e-3, 1e-5])  # any order: compared in decreasing α
    errors = np.array([2e-3, 1e-2, 1e-3])  # decreasing α: 1e-2, 2e-3, 1e-3 -> ratios .2, .5
    slope = np.polyfit(np.log(alphas), np.log(errors), 1)[0]
    run = run_of("M3", data={"alphas_error": alphas, "test_error": errors})
    assert_measured("M3", run, {"error_ratio_max": 0.5, "slope": slope})


def escape_run(steps=(0.25, 0.125)):
    alphas = np.array([1e-2, 1e-4, 1e-6, 1e-8])
    x = np.log(1 / alphas)
    fast = 10 + 3 * x + [0.0, 1.0, -1.0, 0.5]
    times = np.array([fast, fast * [2.0, 2.2, 1.9, 2.0]])
    data = {
        "alphas_escape": alphas,
        "escape_times": times,
        "escape_steps": list(steps),
        "sigma_r": 0.5,
    }
    return run_of("M4", data=data), x, times


def test_m4_escape_fit_quantities():
    from matrix_sensing.claims.alpha_scaling import escape_measurements

    run, x, times = escape_run()
    values = escape_measurements(run)
    r2 = [np.corrcoef(x, row)[0, 1] ** 2 for row in times]
    slopes = [np.polyfit(x, row, 1)[0] for row in times]
    np.testing.assert_allclose(values["r_squared"], r2, rtol=1e-12)
    np.testing.assert_allclose(
        values["slope_ratio"], [slopes[0] * 0.25 * 0.5, slopes[1] * 0.125 * 0.5], rtol=1e-12
    )
    np.testing.assert_allclose(values["halving_ratio"], [2.0, 2.2, 1.9, 2.0], rtol=1e-12)
    claim = claims.get("M4")
    assert_measured(
        "M4",
        run,
        {q: claim.threshold(q).worst(list(values[q])) for q in values},
    )


def test_m4_refuses_step_sizes_that_do_not_match_the_escape_rows():
    from matrix_sensing.claims.alpha_scaling import escape_measurements

    run, _, _ = escape_run(steps=(0.25, 0.125, 0.0625))
    with pytest.raises(ValueError):
        escape_measurements(run)


# M5, M6, M7 (phases) ----------------------------------------------------------------------


def phases_run(*, escape=True, long=True):
    T = 200 if long else 60
    t = np.arange(T)
    norm = np.where(t < 20, 1e-4, 0.5)  # ||U_t V_t^T||: above 1e-2 ||X|| from t = 20 on
    error = np.full(T, 0.7)
    error[:5] = [1.0, 0.95, 0.9, 0.85, 0.75]
    if escape:
        error[40:] = 0.05 * 0.9 ** np.arange(T - 40)  # escape at 40; 100x lower 44 later
    data = {
        "iteration": t,
        "product_sv": np.stack([norm, norm / 10], axis=1),
        "truth_norm_op": 1.0,
        "test_error": error,
        "plateau_level": 0.7,
        "sin_U_spectral": np.linspace(0.5, 0.01, T),
        "sin_V_spectral": np.linspace(0.6, 0.02, T),
        "sin_U_truth": np.linspace(0.9, 0.3, T),
        "sin_V_truth": np.linspace(0.8, 0.1, T),
        "spectral_sin_left_truth": 0.2,
        "spectral_sin_right_truth": 0.7,
        "sin_product_left_truth": np.linspace(0.1, 0.001, T),
        "sin_product_right_truth": np.linspace(0.2, 0.0005, T),
    }
    return run_of("M5", data=data), data


def test_m5_reads_the_end_of_the_spectral_phase():
    run, data = phases_run()
    end = 19  # the last iteration with ||U V^T|| <= 1e-2 ||X||
    expected = {
        "sin_U_spectral": data["sin_U_spectral"][end],
        "sin_V_spectral": data["sin_V_spectral"][end],
        "test_error_spectral": 0.7,  # the smallest test error up to and including t = 19
        "truth_angle_gap": max(
            abs(data["sin_U_truth"][end] - 0.2), abs(data["sin_V_truth"][end] - 0.7)
        ),
    }
    assert_measured("M5", run, expected)


def test_m5_to_m7_are_nan_when_a_phase_is_not_reached():
    run, data = phases_run(escape=False)
    data["product_sv"][:, 0] = 1.0  # above the level from the start: no spectral phase
    for claim_id, names in (
        ("M5", ("sin_U_spectral", "sin_V_spectral", "test_error_spectral", "truth_angle_gap")),
        ("M6", ("plateau_length",)),
        ("M7", ("drop_iterations", "sin_truth_refined")),
    ):
        assert_measured(claim_id, run, dict.fromkeys(names, NAN))


def test_m6_plateau_before_the_escape():
    run, _ = phases_run()
    # |error - 0.7| <= 0.1 from t = 4 (0.85 at t = 3 is 0.15 away) up to the escape at 40.
    assert_measured("M6", run, {"plateau_length": 36})


def test_m6_plateau_ends_at_the_escape():
    # After the escape (error < 0.1) the error stays within 0.1 of a plateau level of 0.15
    # for longer than before it: that stretch is not the plateau.
    run, data = phases_run()
    data["plateau_level"] = 0.15
    data["test_error"] = np.concatenate([np.full(40, 0.2), np.full(160, 0.09)])
    assert_measured("M6", run, {"plateau_length": 40})


def test_m7_drop_is_nan_when_the_error_never_falls_100x():
    run, data = phases_run()
    data["test_error"][40:] = 0.05 * 0.999 ** np.arange(160)
    assert math.isnan(measured("M7", run)["drop_iterations"])


def test_m7_drop_and_refined_angle():
    run, data = phases_run()
    drop = int(np.ceil(np.log(100) / -np.log(0.9)))  # 0.9^t <= 1/100
    end = 40 + claims.get("M7").threshold("drop_iterations").value
    expected = {
        "drop_iterations": drop,
        "sin_truth_refined": max(
            data["sin_product_left_truth"][int(end)], data["sin_product_right_truth"][int(end)]
        ),
    }
    assert_measured("M7", run, expected)


def test_m7_angle_is_nan_when_the_window_ends_after_the_run():
    window = int(claims.get("M7").threshold("drop_iterations").value)
    run, data = phases_run()
    for name, value in data.items():
        if isinstance(value, np.ndarray) and len(value) == 200:
            data[name] = value[: 40 + window]  # the window's end is one past the last record
    values = measured("M7", run)
    assert math.isnan(values["sin_truth_refined"])
    assert values["drop_iterations"] == 44


# M8 (balancing) -----------------------------------------------------------------------------


def test_m8_quantities():
    base = result(
        identity_error=[NAN, 1e-14, 3e-14, 2e-14],
        imbalance=[0.1, 0.4, 0.3, 0.2],
        drift=[0.0, 0.2, 0.6, 0.5],
        test_error=[1.0, 0.1, 0.01, 0.004],
    )
    half = result(drift=[0.0, 0.1, 0.25, 0.2])
    unbalanced = result(test_error=[1.0, 0.5, 0.3, 0.1])
    run = run_of(
        "M8",
        results={"base": base, "step_x0.5": half, "unbalanced": unbalanced},
        data={"truth_norm": 2.0},
    )
    assert_measured(
        "M8",
        run,
        {
            "identity_error": 3e-14,
            "max_imbalance": 0.2,
            "drift_ratio": 0.6 / 0.25,
            "unbalanced_error_ratio": 0.1 / 0.004,
        },
    )
    del run.results["step_x0.5"]
    with pytest.raises(ValueError, match=r"step_factors must contain 0\.5"):
        measured("M8", run)


# M10 (width) --------------------------------------------------------------------------------


def width_run(times):
    data = {
        "widths": np.array([2, 4, 10, 40]),
        "final_test_error": np.array([1e-14, 3e-4, 2e-5, 5e-5]),
        "escape_time": np.asarray(times, dtype=float),
    }
    return run_of("M10", data=data)


def test_m10_quantities():
    expected = {"max_test_error": 3e-4, "exact_test_error": 1e-14, "overparam_floor": 2e-5}
    assert_measured("M10", width_run([1, 2, 1.5, 1.2]), {**expected, "escape_ratio": 2.0})
    # A width that never escaped (time 0 or NaN) makes the ratio NaN, so M10 fails.
    for times in ([0, 2, 1.5, 1.2], [NAN, 2, 1.5, 1.2]):
        assert_measured("M10", width_run(times), {**expected, "escape_ratio": NAN})


# N1 (curse of symmetry), N5 (balancing-free) ------------------------------------------------


def test_n1_quantities_and_exact_fit_time():
    rank = 3
    # 1e-28 itself is not below the level 1e-28: the exact fit is at t = 999.
    exact = result(iteration=[0, 500, 999, 1000, 2000], train_loss=[1, 1e-28, 1e-29, 1e-31, 0])
    data = {
        "rank": rank,
        "widths": np.array([3, 4, 6]),
        "t2_loss": np.array([[5.0, 1.0, 0.1], [1.0, 2.0, 3.0], [2.0, 3.0, 3.3]]),
    }
    run = run_of("N1", results={f"k={rank}": exact}, data=data)
    assert_measured("N1", run, {"exact_loss_before_1000": 1e-29, "t2_loss_growth": 1.1})
    assert curse_of_symmetry.exact_fit_time(run) == 999.0
    run.results[f"k={rank}"] = result(iteration=[0, 10], train_loss=[1.0, 1e-27])
    assert math.isnan(curse_of_symmetry.exact_fit_time(run))


def test_n5_quantities():
    plain = result(
        iteration=[0, 10, 20, 30], test_error=[1, 1e-3, 1e-6, 1e-9], balance=[0.1, 0.3, 0.2, 0.2]
    )
    regularized = result(iteration=[0, 10, 20, 30], test_error=[1, 1e-7, 1e-8, 1e-9])
    run = run_of("N5", results={"plain": plain, "regularized": regularized})
    # 1e-6 is not below the level 1e-6: the plain run crosses at t = 30.
    assert_measured("N5", run, {"plain_error": 1e-9, "iteration_ratio": 3.0, "max_balance": 0.3})
    assert balancing_free.time_to_level(plain.history) == 30.0
    assert balancing_free.time_to_level(plain.history, level=1e-2) == 10.0
    assert balancing_free.time_to_level(plain.history, level=1e-12) == math.inf


# N2, N4 (imbalance) ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("values", "spread"),
    [
        ([1.0, 1.2], 0.2),
        ([2.0], 0.0),
        ([3, 2, 4], 1.0),
        ([], NAN),
        ([1.0, NAN], NAN),
        ([1.0, None], NAN),  # a missing value
        ([1.0, math.inf], NAN),
        ([1.0, 0.0], NAN),
        ([1.0, -1.0], NAN),
    ],
)
def test_relative_spread(values, spread):
    value = imbalance.relative_spread(values)
    assert value == pytest.approx(spread, nan_ok=True)


def test_n2_and_n4_quantities():
    data = {
        "alphas": [0.03, 0.05, 0.07],
        "rate_unequal": [0.03**2 * 1.0, 0.05**2 * 1.1, 0.07**2 * 1.2],
        "rate_exact": [0.2, 0.25, 0.22],
        "rate_rebalanced": [0.09**2, 0.15**2, 0.07],
    }
    assert_measured(
        "N2",
        run_of("N2", data=data),
        {"rate_over_alpha2_spread": 0.2, "exact_rate_spread": 0.25 / 0.2 - 1},
    )
    run = run_of("N4", data=data)
    speedups = np.array(data["rate_rebalanced"]) / np.array(data["rate_unequal"])
    rebalanced = data["rate_rebalanced"]
    assert_measured(
        "N4",
        run,
        {
            "rebalance_speedup": speedups.min(),
            "rebalanced_rate_spread": max(rebalanced) / min(rebalanced) - 1,
        },
    )
    # A rate that is not finite (a run that never got below the level) fails N4.
    data["rate_rebalanced"] = [math.inf, 0.1, 0.2]
    assert math.isnan(measured("N4", run)["rebalance_speedup"])


# N7 (preconditioning), N9, N10 ------------------------------------------------------------


def test_n7_quantities():
    iterations = {"gd": [100, 300, 900], "scaledgd_lambda": [50, 60, 55], "precgd": [40, 40, 44]}
    run = run_of("N7", data={"iterations": iterations})
    assert_measured(
        "N7", run, {"gd_growth": 9.0, "scaledgd_lambda_spread": 1.2, "precgd_spread": 1.1}
    )


def test_n10_quantities():
    run = run_of("N10", data={"final_gap": np.array([0.1, -0.02, 0.01, 1e-3])})
    assert_measured("N10", run, {"smallest_alpha_gap": 1e-3, "gap_ratio": 0.5})
    # A gap of exactly 0 followed by a non-zero one: the ratio is not finite, N10 fails
    # (without a division warning).
    run.data["final_gap"] = np.array([0.1, 0.0, 1e-3])
    assert_measured("N10", run, {"smallest_alpha_gap": 1e-3, "gap_ratio": NAN})


def test_n6_n8_n9_read_their_values():
    runs = {
        "N6": run_of(
            "N6",
            results={
                "l1": result(test_error=[1.0, 2e-5, 1e-5]),
                "l2": result(test_error=[1.0, 0.8, 0.7]),
            },
        ),
        "N8": run_of("N8", data={"steps": {"nystrom": 4.0, "random": 25.0}}),
        "N9": run_of("N9", data={"final_error": np.array([1e-9, 3e-8, 2e-10])}),
    }
    assert_measured("N6", runs["N6"], {"l1_test_error": 1e-5, "l2_test_error": 0.7})
    assert_measured("N8", runs["N8"], {"nystrom_steps": 4.0, "random_steps": 25.0})
    assert_measured("N9", runs["N9"], {"worst_final_error": 3e-8})


# P1, P2, P3 (symmetric precursor) ------------------------------------------------------------


ALPHAS = np.array([1e-3, 1e-4, 1e-5])


def precursor_run(norms=(1e-5, 1e-4, 1e-2, 0.5)):
    """A run of P1's experiment."""
    spectral = result(
        iteration=[0, 10, 20, 30],
        norm=norms,
        spectral_sine=[0.5, 0.1, 0.03, 0.01],
        test_error=[1.0, 0.99, 0.98, 0.5],
        truth_sine=[0.9, 0.6, 0.45, 0.2],
    )
    data = {
        "norm_x": 0.5,  # the spectral phase ends before ||U U^T|| > 1e-2 * 0.5
        "power_sine": np.array([0.4, 0.2, 0.05, 0.02]),
        "spectral_vs_truth_sine": 0.4,
        "alphas": ALPHAS,
        "test_error": 3 * ALPHAS**0.9,
    }
    results = {"spectral": spectral, "alpha=1e-06": result(test_error=[1, 1e-3, 2e-4])}
    return run_of("P1", results=results, data=data)


def underdetermined_run():
    """A run of P2's experiment."""
    data = {
        "alphas": ALPHAS,
        "test_error": 2 * ALPHAS**1.1,
        "fit_time": 5 + 4 * np.log(1 / ALPHAS),
        "predicted_slope": 5.0,
    }
    return run_of("P2", data=data)


def test_p1_quantities_and_the_spectral_phase():
    run = precursor_run()
    assert precursor.spectral_measurements(run) == {
        "iteration": 10.0,
        "spectral_sine": 0.1,
        "power_sine": 0.2,
        "test_error": 0.99,
        "truth_sine_gap": pytest.approx(0.2),
    }
    assert_measured("P1", run, {"test_error": 2e-4, "error_slope": 0.9, "spectral_sine": 0.1})


def test_p1_spectral_phase_missed_is_nan():
    run = precursor_run(norms=(1.0, 1.0, 1.0, 1.0))
    values = precursor.spectral_measurements(run)
    assert set(values) == {
        "iteration",
        "spectral_sine",
        "power_sine",
        "test_error",
        "truth_sine_gap",
    }
    assert all(math.isnan(v) for v in values.values())
    assert math.isnan(measured("P1", run)["spectral_sine"])


def test_p2_and_p3_quantities():
    assert_measured("P2", underdetermined_run(), {"error_slope": 1.1, "fit_time_ratio": 4.0 / 5.0})
    run = run_of("P3", data={"crossing_times": np.array([[10.0, 30.0, 45.0], [20.0, 61.0, 88.0]])})
    ratios = [2.0, 61 / 30, 88 / 45]
    assert_measured(
        "P3",
        run,
        {
            "crossing_gap": 15.0,
            "doubling_ratio": claims.get("P3").threshold("doubling_ratio").worst(ratios),
        },
    )
    run.data["crossing_times"][1, 2] = NAN  # an eigenvalue never learned
    assert math.isnan(measured("P3", run)["crossing_gap"])


def test_measured_slopes_are_least_squares_lines():
    # The slope helpers the claims read: least squares in log-log resp. in ln(1/α).
    alphas = np.array([1e-2, 1e-3, 1e-4, 1e-5])
    errors = np.array([1e-2, 2e-3, 1e-4, 2e-5])
    fit = stats.linregress(np.log(alphas), np.log(errors))
    run = precursor_run()
    run.data["alphas"], run.data["test_error"] = alphas, errors
    assert measured("P1", run)["error_slope"] == pytest.approx(fit.slope, rel=1e-12)
