"""Claims M5-M7: the phases experiment, its measurement definitions and its CI scale.

The five-seed check of the claims themselves runs through nbval on
notebooks/m5_m7_phases.ipynb; these tests use synthetic histories and tiny runs.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from matrix_sensing import claims, metrics
from matrix_sensing.claims.phases import (
    measure_plateau,
    measure_refinement,
    measure_spectral,
    refinement_window,
)
from matrix_sensing.experiments import Run
from matrix_sensing.experiments.phases import (
    ANGLE_COLUMNS,
    POWER_COLUMNS,
    dilation,
    drop_iterations,
    first_below,
    longest_run,
    phase_boundaries,
    phases,
    plateau_length,
    power_iteration,
    sine_between_bases,
    spectral_phase_end,
)

TINY = {
    "n1": 8,
    "n2": 6,
    "r": 1,
    "kappa": 1.0,
    "m": 60,
    "k": 8,
    "alpha": 1e-3,
    "step": 0.25,
    "iters": 40,
}


@pytest.fixture(scope="module")
def tiny_run():
    return phases(**TINY, seed=3)


# Linear algebra behind the power-iteration comparison ---------------------------------------


def test_sine_between_bases_equals_subspace_distance():
    rng = np.random.default_rng(0)
    A = np.linalg.qr(rng.standard_normal((20, 3)))[0]
    for scale in (1.0, 1e-3, 1e-7):
        B = np.linalg.qr(A + scale * rng.standard_normal((20, 3)))[0]
        assert sine_between_bases(A, B) == pytest.approx(
            metrics.subspace_distance(A, B), rel=1e-6, abs=1e-15
        )
    assert sine_between_bases(A, A) < 1e-14


def test_dilation_spectrum_is_plus_minus_singular_values():
    M = np.random.default_rng(1).standard_normal((5, 3))
    eigenvalues = np.sort(np.linalg.eigvalsh(dilation(M)))
    sigma = np.linalg.svd(M, compute_uv=False)
    expected = np.sort(np.concatenate((sigma, -sigma, np.zeros(2))))
    np.testing.assert_allclose(eigenvalues, expected, atol=1e-12)


def test_power_iteration_is_the_dilation_power():
    rng = np.random.default_rng(2)
    M, U0, V0 = (rng.standard_normal(shape) for shape in ((5, 4), (5, 3), (4, 3)))
    U, V = power_iteration(M, U0, V0, 0.1, 7)
    W = np.linalg.matrix_power(np.eye(9) + 0.1 * dilation(M), 7) @ np.vstack((U0, V0))
    np.testing.assert_allclose(np.vstack((U, V)), W, rtol=1e-12)


def test_gd_step_is_the_dilation_step_and_close_to_power_iteration(tiny_run):
    # One GD step W_1 = (I - μ D(E_0)) W_0 with E_0 = A*(A(U_0V_0^T) - y) ≈ -A*(y) when
    # U_0V_0^T is tiny: the recorded relative distance to the power iteration is 0 at t = 0
    # and tiny while the product is tiny.
    data = tiny_run.data
    assert data["pi_rel_diff"][0] == 0.0
    end = phase_boundaries(tiny_run)["spectral_end"]
    assert end is not None and end >= 1
    assert np.all(data["pi_rel_diff"][1 : end + 1] < 0.05)
    assert data["pi_product_norm"][0] == pytest.approx(data["product_sv"][0, 0], rel=1e-12)


def test_recorded_power_iteration_matches_a_direct_computation():
    from matrix_sensing.experiments._common import sensing_problem, spawn_seeds
    from matrix_sensing.initialization import small_random_init

    run = phases(**TINY, seed=4)
    problem_seed, init_seed = spawn_seeds(4, 2)
    _, op, y = sensing_problem(8, 6, 1, 1.0, 60, seed=problem_seed)
    U0, V0 = small_random_init(8, 6, 8, 1e-3, seed=init_seed)
    for t in (1, 5, 12):
        U, V = power_iteration(op.adjoint(y), U0, V0, 0.25, t)
        assert run.data["pi_product_norm"][t] == pytest.approx(
            np.linalg.norm(U @ V.T, 2), rel=1e-10
        )


def test_perturbation_is_the_spectral_error_relative_to_sigma_r():
    # data["perturbation"] = ||A*(y) - X|| / σ_r(X), recomputed from the same problem; more
    # measurements bring the spectral estimate closer to X (same seed, same target).
    from matrix_sensing.experiments._common import sensing_problem, spawn_seeds

    problem_seed, _ = spawn_seeds(4, 2)
    values = []
    for m in (60, 600):
        run = phases(**{**TINY, "m": m}, seed=4)
        X, op, y = sensing_problem(8, 6, 1, 1.0, m, seed=problem_seed)
        np.testing.assert_array_equal(run.truth, X)
        expected = np.linalg.norm(op.adjoint(y) - X, 2) / np.linalg.svd(X, compute_uv=False)[0]
        assert run.data["perturbation"] == pytest.approx(expected, rel=1e-12)
        values.append(run.data["perturbation"])
    assert values[1] < values[0]


# Measurement definitions on synthetic histories ---------------------------------------------


def test_spectral_phase_end():
    norms = np.array([1e-6, 1e-4, 5e-3, 2e-2, 1e-3, 1.0])
    assert spectral_phase_end(norms, 1e-2) == 2  # the last index before the first exceedance
    assert spectral_phase_end(norms, 10.0) == 5  # never exceeded: the last index
    assert spectral_phase_end(norms, 1e-7) is None  # exceeded at t = 0
    assert spectral_phase_end(norms, 5e-3) == 2  # "exceeds" is strict


def test_first_below():
    errors = np.array([1.0, 0.5, 0.1, 0.09, 0.2])
    assert first_below(errors, 0.1) == 3  # strict: 0.1 is not below 0.1
    assert first_below(errors, 1e-3) is None


def test_longest_run():
    assert longest_run([False, True, True, False, True, True, True, False]) == (4, 3)
    assert longest_run([True, True, False, True, True]) == (0, 2)  # first of equal runs
    assert longest_run([False, False]) == (0, 0)
    assert longest_run([]) == (0, 0)


def test_plateau_length_counts_only_before_the_escape():
    errors = np.array([1.0] * 3 + [0.45] * 5 + [1.0] + [0.44] * 3 + [0.05] + [0.45] * 10)
    escape = first_below(errors, 0.1)
    assert escape == 12
    assert plateau_length(errors, 0.447, 0.05, escape) == (3, 5)
    assert plateau_length(errors, 0.447, 0.05, None) == (13, 10)
    # The tolerance is inclusive and absolute.
    assert plateau_length(np.array([0.546, 0.348, 0.6]), 0.447, 0.1, None)[1] == 2


def test_drop_iterations():
    errors = 0.09 * 0.9 ** np.arange(100)
    # 0.9^t <= 1/100 first at t = ceil(ln 100 / ln(1/0.9)) = 44.
    assert drop_iterations(errors, 0, 100.0) == 44
    assert drop_iterations(errors, 10, 100.0) == 44
    assert drop_iterations(errors[:40], 0, 100.0) is None


def synthetic_run(**changes) -> Run:
    """A hand-made 'phases' run: phase I ends at t = 2, the escape is at t = 6."""
    T = 140
    product_sv = np.zeros((T + 1, 3))
    product_sv[:, 0] = [1e-8, 1e-4, 5e-3] + [1.0] * (T - 2)
    errors = np.array([1.0, 0.99, 0.97, 0.5, 0.45, 0.4, 0.09] + [1e-4] * (T - 6))
    data = {
        "iteration": np.arange(T + 1),
        "test_error": errors,
        "product_sv": product_sv,
        "truth_norm_op": 1.0,
        "plateau_level": 0.447,
        "spectral_sin_left_truth": 0.6,
        "spectral_sin_right_truth": 0.5,
    }
    for name in ANGLE_COLUMNS + POWER_COLUMNS:
        data[name] = np.full(T + 1, 0.5)
    data["sin_U_spectral"][2], data["sin_V_spectral"][2] = 0.04, 0.03
    data["sin_U_truth"][2], data["sin_V_truth"][2] = 0.65, 0.42
    data["sin_product_left_truth"][6 + 120] = 1e-3
    data["sin_product_right_truth"][6 + 120] = 2e-3
    data.update(changes)
    return Run("phases", dict(TINY), 0, np.zeros((8, 6)), data=data)


def test_measurements_on_a_synthetic_run():
    run = synthetic_run()
    assert phase_boundaries(run) == {"spectral_end": 2, "escape": 6, "last": 140}
    expected = {
        "sin_U_spectral": 0.04,
        "sin_V_spectral": 0.03,
        "test_error_spectral": 0.97,
        "truth_angle_gap": 0.08,
    }
    assert measure_spectral(run) == pytest.approx(expected)
    assert measure_plateau(run) == {"plateau_length": 3}  # 0.5, 0.45, 0.4 within ±0.1
    assert refinement_window() == 120
    assert measure_refinement(run) == {"drop_iterations": 1, "sin_truth_refined": 2e-3}
    assert claims.evaluate("M5", run).passed
    assert not claims.evaluate("M6", run).passed  # 3 < 30 iterations
    assert claims.evaluate("M7", run).passed


def test_measurements_are_nan_when_a_phase_is_missing():
    never_escapes = synthetic_run(test_error=np.full(141, 0.5))
    assert math.isnan(measure_plateau(never_escapes)["plateau_length"])
    assert all(math.isnan(v) for v in measure_refinement(never_escapes).values())
    starts_large = synthetic_run(product_sv=np.ones((141, 3)))
    assert all(math.isnan(v) for v in measure_spectral(starts_large).values())
    short = synthetic_run()
    short.data["test_error"] = short.data["test_error"][:100]
    assert math.isnan(measure_refinement(short)["sin_truth_refined"])
    assert not claims.evaluate("M7", short).passed


def test_phase_boundaries_rejects_other_experiments():
    run = Run("small_vs_large_init", {}, 0, np.zeros((2, 2)))
    with pytest.raises(ValueError, match="run must come from the experiment 'phases'"):
        phase_boundaries(run)


# The experiment -------------------------------------------------------------------------------


def test_tiny_run_is_deterministic_and_complete(tiny_run):
    again = phases(**TINY, seed=3)
    T = TINY["iters"]
    for name, value in tiny_run.data.items():
        np.testing.assert_array_equal(value, again.data[name], err_msg=name)
    assert tiny_run.experiment == "phases" and tiny_run.params == TINY
    assert tiny_run.data["product_sv"].shape == (T + 1, TINY["r"] + 1)
    for name in (*ANGLE_COLUMNS, *POWER_COLUMNS, "test_error", "iteration"):
        assert tiny_run.data[name].shape == (T + 1,), name
    angles = np.stack([tiny_run.data[name] for name in ANGLE_COLUMNS])
    assert np.all((angles >= 0) & (angles <= 1 + 1e-12))
    assert tiny_run.data["plateau_level"] == 0.0  # r = 1: nothing is left once one is learned
    np.testing.assert_array_equal(
        tiny_run.data["test_error"], tiny_run.results["gd"].history["test_error"]
    )


def test_recorded_angles_match_the_metrics_module():
    # The hook's angles, recomputed from the last iterate with the metrics module.
    run = phases(**TINY, seed=5)
    U, V, X = run.results["gd"].U, run.results["gd"].V, run.truth
    left_X, right_X = metrics.top_singular_subspaces(X, 1)
    left_P, right_P = metrics.top_singular_subspaces(U @ V.T, 1)
    left_U = metrics.top_singular_subspaces(U, 1)[0]
    assert run.data["sin_U_truth"][-1] == pytest.approx(
        metrics.subspace_distance(left_U, left_X), abs=1e-10
    )
    assert run.data["sin_product_left_truth"][-1] == pytest.approx(
        metrics.subspace_distance(left_P, left_X), abs=1e-10
    )
    assert run.data["sin_product_right_truth"][-1] == pytest.approx(
        metrics.subspace_distance(right_P, right_X), abs=1e-10
    )


@pytest.mark.parametrize(
    ("change", "error", "message"),
    [
        ({"alpha": -1.0}, ValueError, "alpha must be > 0, got -1"),
        ({"r": 6}, ValueError, "r must be an integer >= 1 and <= 5, got 6"),
        ({"k": 0}, ValueError, "k must be an integer >= 1, got 0"),
        ({"iters": 0}, ValueError, "iters must be an integer >= 1, got 0"),
        ({"step": 0.0}, ValueError, "step must be > 0, got 0"),
        ({"kappa": 0.5}, ValueError, "kappa must be >= 1, got 0.5"),
        ({"m": "many"}, TypeError, "m must be an integer, got 'many'"),
    ],
)
def test_parameters_are_validated_with_clear_messages(change, error, message):
    with pytest.raises(error) as info:
        phases(**{**TINY, **change}, seed=0)
    assert message in str(info.value)


# The claims and their scales ------------------------------------------------------------------


def test_claims_share_the_experiment_and_state_the_digest_thresholds():
    expected = {
        "M5": {
            "sin_U_spectral": ("<=", 0.05),
            "sin_V_spectral": ("<=", 0.05),
            "test_error_spectral": (">=", 0.95),
            "truth_angle_gap": ("<=", 0.1),
        },
        "M6": {"plateau_length": (">=", 30)},
        "M7": {"drop_iterations": ("<=", 120), "sin_truth_refined": ("<=", 1e-2)},
    }
    for cid, thresholds in expected.items():
        claim = claims.get(cid)
        assert claim.experiment is phases
        assert claim.notebook == "notebooks/m5_m7_phases.ipynb"
        assert {t.quantity: (t.relation, t.value) for t in claim.thresholds} == thresholds
        assert claim.scales is claims.get("M5").scales


def test_the_ci_scale_starts_at_the_alpha_of_the_book():
    # book/claims/m5_m7.md: M5-M7 at α = 1e-8 on configuration B
    assert claims.get("M5").params("ci")["alpha"] == 1e-8
