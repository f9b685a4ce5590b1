"""Claims N5 (balancing-free GD), N9 (landscape at k = r) and N10 (identity initialization
and the minimum nuclear norm): their algorithms, measurements, parameter validation,
determinism, and the notebooks they are shown in."""

from __future__ import annotations

import math

import numpy as np
import pytest

import matrix_sensing as ms
from matrix_sensing import claims
from matrix_sensing.claims.balancing_free import measure as measure_n5
from matrix_sensing.claims.balancing_free import time_to_level
from matrix_sensing.claims.nuclear_norm import measure as measure_n10
from matrix_sensing.experiments import Run, sensing_problem, spawn_seeds
from matrix_sensing.experiments.balancing_free import (
    balancing_free,
    linearized_rate,
    relative_imbalance,
)
from matrix_sensing.experiments.landscape import (
    first_hits,
    random_starts,
)
from matrix_sensing.experiments.nuclear_norm import (
    check_alphas,
    identity_init_limit,
    min_trace_certificate,
    symmetric_sensing,
)
from matrix_sensing.solvers import DivergenceError
from matrix_sensing.targets import psd_target

NOTEBOOKS = {
    "N5": "n5_balancing_free",
    "N9": "n9_landscape",
    "N10": "n10_nuclear_norm",
}

# Tiny configurations (bookkeeping only, not the claims).
TINY_N5 = {
    "n1": 8,
    "n2": 6,
    "r": 2,
    "kappa": 2.0,
    "m": 150,
    "step": 0.3,
    "iters": 30,
    "balance_weight": 0.5,
}
TINY_N9 = {
    "n1": 8,
    "n2": 6,
    "r": 1,
    "kappa": 1.0,
    "m": 60,
    "starts": 4,
    "alpha": 0.5,
    "step": 0.3,
    "iters": 40,
    "record_every": 5,
}
TINY_N10 = {"n": 6, "r": 1, "kappa": 1.0, "m": 12, "alphas": [1e-1, 1e-3], "step": 0.5, "iters": 60}


@pytest.fixture
def small_problem():
    truth = ms.low_rank_target(6, 5, 1, kappa=1.0, seed=0)
    op = ms.GaussianSensing(40, (6, 5), seed=1)
    rng = np.random.default_rng(2)
    U0, V0 = 0.5 * rng.standard_normal((3, 6, 1)), 0.5 * rng.standard_normal((3, 5, 1))
    return op, op(truth), U0, V0, truth


def _loss(op, y, U, V):
    residual = op(U @ V.T) - y
    return 0.5 * residual @ residual


# N9: many starts as one batch ------------------------------------------------------------


def test_random_starts_are_the_single_runs_of_factorized_gd():
    """The batch of starts is the starts run one by one, up to rounding."""
    run = random_starts(**TINY_N9, seed=3)
    problem_seed, init_seed = spawn_seeds(3, 2)
    n1, n2, r = TINY_N9["n1"], TINY_N9["n2"], TINY_N9["r"]
    truth, op, y = sensing_problem(n1, n2, r, TINY_N9["kappa"], TINY_N9["m"], seed=problem_seed)
    for b, seed in enumerate(spawn_seeds(init_seed, TINY_N9["starts"])):
        U0, V0 = ms.small_random_init(n1, n2, r, TINY_N9["alpha"], seed=seed)
        single = ms.factorized_gd(
            op, y, U0, V0, TINY_N9["step"], TINY_N9["iters"], truth=truth, record_every=5
        )
        np.testing.assert_array_equal(run.data["iteration"], single.history["iteration"])
        np.testing.assert_allclose(
            run.data["test_error"][:, b], single.history["test_error"], rtol=1e-10, atol=1e-14
        )
        np.testing.assert_allclose(
            run.data["train_loss"][:, b], single.history["train_loss"], rtol=1e-10, atol=1e-14
        )


def test_a_diverging_start_is_named_with_iteration_and_hint(small_problem):
    op, y, U0, V0, _ = small_problem
    U0 = U0.copy()
    U0[1] *= 20  # only start 1 blows up at this step size
    with pytest.raises(DivergenceError) as info:
        ms.factorized_gd(op, y, U0, V0, 5.0, 100)
    assert info.value.run == 1
    assert info.value.iteration > 0
    assert "run 1 of a batch of 3" in str(info.value) and "Hint" in str(info.value)


def test_first_hits():
    iterations = np.array([0, 10, 20, 30])
    values = np.array([[1.0, 1.0, 1.0], [1e-3, 1.0, 1.0], [1e-7, 1e-6, 1.0], [1e-9, 1e-8, 1.0]])
    hits = first_hits(iterations, values, 1e-6)
    assert hits[0] == 20 and hits[1] == 30  # 1e-6 itself is not below 1e-6
    assert math.isnan(hits[2])


def test_random_starts_is_deterministic_and_shaped():
    first = random_starts(**TINY_N9, seed=3)
    second = random_starts(**TINY_N9, seed=3)
    np.testing.assert_array_equal(first.data["test_error"], second.data["test_error"])
    assert first.data["test_error"].shape == (9, 4)
    assert first.data["final_error"].shape == (4,)
    assert len(set(first.data["initial_ratio"])) == 4  # the starts differ
    assert not np.array_equal(
        random_starts(**TINY_N9, seed=4).data["final_error"], first.data["final_error"]
    )
    assert claims.get("N9").measure(first)["worst_final_error"] == first.data["final_error"].max()


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"starts": 0}, "starts must be an integer >= 1"),
        ({"alpha": 0.0}, "alpha must be > 0"),
        ({"r": 9}, "r must be an integer >= 1 and <= 6"),
        ({"step": -0.1}, "step must be > 0"),
        ({"iters": 0}, "iters must be an integer >= 1"),
        ({"kappa": 0.5}, "kappa must be >= 1"),
    ],
)
def test_random_starts_validates_parameters(change, message):
    with pytest.raises(ValueError) as info:
        random_starts(**{**TINY_N9, **change}, seed=0)
    assert message in str(info.value)


# N5: balancing-free gradient descent --------------------------------------------------------


def test_relative_imbalance_metric():
    U, V = np.eye(3, 2) * 2.0, np.eye(4, 2)
    assert relative_imbalance(2.0)(U, V) == pytest.approx(np.sqrt(2) * 3 / 2)
    with pytest.raises(ValueError, match="scale must be > 0"):
        relative_imbalance(0.0)


def test_balance_weight_is_the_gradient_of_lambda_over_four_imbalance_squared(small_problem):
    # The claim's λ is in the normalisation (λ/4)||U^T U - V^T V||_F^2 of factorized_gd.
    op, y, U0, V0, _ = small_problem
    U, V, lam, step = U0[0], V0[0], 0.5, 1e-3
    one = ms.factorized_gd(op, y, U, V, step, 1, balance_weight=lam)

    def loss(U, V):
        return _loss(op, y, U, V) + lam / 4 * np.linalg.norm(U.T @ U - V.T @ V) ** 2

    h = 1e-6
    for which, got in ((0, (U - one.U) / step), (1, (V - one.V) / step)):
        numeric = np.zeros_like(got)
        for idx in np.ndindex(got.shape):
            plus, minus = [U.copy(), V.copy()], [U.copy(), V.copy()]
            plus[which][idx] += h
            minus[which][idx] -= h
            numeric[idx] = (loss(*plus) - loss(*minus)) / (2 * h)
        np.testing.assert_allclose(got, numeric, rtol=1e-6, atol=1e-8)


def test_balancing_free_runs_both_from_the_same_balanced_spectral_start():
    run = balancing_free(**TINY_N5, seed=2)
    plain, regularized = run.results["plain"].history, run.results["regularized"].history
    assert plain["balance"][0] < 1e-12  # the spectral start L Σ^{1/2}, R Σ^{1/2} is balanced
    assert (
        plain["test_error"][0]
        == regularized["test_error"][0]
        == pytest.approx(run.data["initial_error"])
    )
    assert len(plain["iteration"]) == TINY_N5["iters"] + 1  # recorded at every iteration
    again = balancing_free(**TINY_N5, seed=2)
    np.testing.assert_array_equal(again.results["plain"].history["test_error"], plain["test_error"])


def test_linearized_rate_is_the_population_rate_for_the_identity_operator():
    truth = ms.low_rank_target(5, 4, 2, kappa=2.0, seed=0)  # σ = (1, 0.5)
    identity = ms.GaussianSensing.from_array(np.eye(20).reshape(20, 5, 4))
    assert linearized_rate(identity, truth, 2, 0.3) == pytest.approx(1 - 0.3 * 0.5, abs=1e-12)
    gaussian = ms.GaussianSensing(60, (5, 4), seed=1)
    assert 1 - 0.3 * 0.5 < linearized_rate(gaussian, truth, 2, 0.3) < 1


def test_linearized_rate_matches_the_local_rate_of_a_run():
    truth = ms.low_rank_target(8, 6, 2, kappa=2.0, seed=0)
    op = ms.GaussianSensing(120, (8, 6), seed=1)
    y = op(truth)
    left, sigma, right_t = np.linalg.svd(truth)
    U0 = left[:, :2] * np.sqrt(sigma[:2]) + 1e-4  # a small perturbation of U_*
    V0 = right_t[:2].T * np.sqrt(sigma[:2])
    history = ms.factorized_gd(op, y, U0, V0, 0.3, 300, truth=truth).history
    measured = ms.metrics.local_linear_rate(history["iteration"], history["test_error"], 200, 300)
    assert measured == pytest.approx(linearized_rate(op, truth, 2, 0.3), abs=1e-3)


def _n5_run(plain_errors, regularized_errors, balance):
    run = Run("balancing_free", {}, 0, np.eye(2))
    for name, errors in (("plain", plain_errors), ("regularized", regularized_errors)):
        history = {
            "iteration": np.arange(len(errors)),
            "test_error": np.array(errors),
            "balance": np.array(balance),
        }
        run.results[name] = ms.GDResult(np.zeros((2, 1)), np.zeros((2, 1)), 0.1, 3, history)
    return run


def test_n5_measure_on_synthetic_histories():
    run = _n5_run([1, 1e-3, 1e-5, 1e-7], [1, 1e-7, 1e-8, 1e-9], [0.0, 0.01, 0.03, 0.02])
    assert measure_n5(run) == {"plain_error": 1e-7, "iteration_ratio": 3.0, "max_balance": 0.03}
    never = _n5_run([1, 1, 1, 1], [1, 1, 1, 1], [0, 0, 0, 0])
    assert math.isnan(measure_n5(never)["iteration_ratio"])  # neither reaches 1e-6: FAIL
    assert time_to_level({"iteration": np.arange(2), "test_error": np.ones(2)}) == math.inf


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"balance_weight": 0.0}, "balance_weight must be > 0"),
        ({"r": 7}, "r must be an integer >= 1 and <= 6"),
        ({"step": 0.0}, "step must be > 0"),
        ({"iters": 0}, "iters must be an integer >= 1"),
        ({"m": 0}, "m must be an integer >= 1"),
    ],
)
def test_balancing_free_validates_parameters(change, message):
    with pytest.raises(ValueError) as info:
        balancing_free(**{**TINY_N5, **change}, seed=0)
    assert message in str(info.value)


# N10: identity initialization, symmetric problem -------------------------------------------


def test_psd_target_and_symmetric_sensing():
    X, Q = psd_target(7, 2, 2.0, seed=0, return_basis=True)
    np.testing.assert_allclose(Q.T @ Q, np.eye(2), atol=1e-14)
    np.testing.assert_allclose(np.linalg.eigvalsh(X)[::-1][:3], [1.0, 0.5, 0.0], atol=1e-14)
    op = symmetric_sensing(5, 7, seed=1)
    assert np.array_equal(op.array, op.array.transpose(0, 2, 1))  # exactly symmetric
    G = ms.GaussianSensing(5, (7, 7), seed=1).array
    np.testing.assert_array_equal(op.array, (G + G.transpose(0, 2, 1)) / 2)


def test_identity_start_is_exactly_symmetric_gradient_descent():
    n, step, iters, alpha = 6, 0.4, 40, 1e-2
    X, _ = psd_target(n, 1, 1.0, seed=0, return_basis=True)
    op = symmetric_sensing(15, n, seed=1)
    y = op(X)
    U0 = ms.initialization.identity_init(n, n, alpha)
    result = ms.factorized_gd(op, y, U0, U0, step, iters)
    U = U0.copy()  # reference: U <- U - μ A*(A(U U^T) - y) U on f(U) = 1/4 ||A(UU^T) - y||^2
    for _ in range(iters):
        U = U - step * op.adjoint(op(U @ U.T) - y) @ U
    np.testing.assert_allclose(result.U, U, rtol=0, atol=1e-12)
    np.testing.assert_allclose(result.V, result.U, rtol=0, atol=1e-14)  # U_t = V_t


def test_symmetric_loss_gradient_is_the_asymmetric_step_direction():
    # d/dU of 1/4 ||A(U U^T) - y||^2 equals E U, the asymmetric gradient E V at V = U.
    n = 5
    X, _ = psd_target(n, 1, 1.0, seed=3, return_basis=True)
    op = symmetric_sensing(12, n, seed=4)
    y = op(X)
    U = np.random.default_rng(5).standard_normal((n, n)) * 0.3

    def loss(U):
        residual = op(U @ U.T) - y
        return 0.25 * residual @ residual

    numeric = np.zeros_like(U)
    for idx in np.ndindex(U.shape):
        plus, minus = U.copy(), U.copy()
        plus[idx] += 1e-6
        minus[idx] -= 1e-6
        numeric[idx] = (loss(plus) - loss(minus)) / 2e-6
    np.testing.assert_allclose(op.adjoint(op(U @ U.T) - y) @ U, numeric, rtol=1e-6, atol=1e-8)


def test_min_trace_certificate_succeeds_with_many_and_fails_with_few_measurements():
    n = 6
    _, Q = psd_target(n, 1, 1.0, seed=0, return_basis=True)
    many = min_trace_certificate(symmetric_sensing(30, n, seed=1), Q)
    assert many["certificate"] < 1 and many["injectivity"] > 0
    assert many["constraint_residual"] < 1e-10
    assert many["certificate"] <= many["least_squares"]
    # m = 4 < dim T = 6: A is not injective on T, the equality constraints cannot be met.
    few = min_trace_certificate(symmetric_sensing(4, n, seed=1), Q)
    assert few["injectivity"] == 0.0 and few["constraint_residual"] > 1e-3


def test_min_trace_certificate_rejects_bad_input():
    _, Q = psd_target(4, 1, 1.0, seed=0, return_basis=True)
    with pytest.raises(ValueError, match="op must have symmetric measurement matrices"):
        min_trace_certificate(ms.GaussianSensing(10, (4, 4), seed=0), Q)
    with pytest.raises(ValueError, match="Q must have 1 <= r < n orthonormal columns"):
        min_trace_certificate(symmetric_sensing(10, 4, seed=0), 2 * Q)
    with pytest.raises(ValueError, match="op must measure square matrices"):
        min_trace_certificate(ms.GaussianSensing(10, (4, 3), seed=0), Q)


def test_identity_init_limit_is_deterministic_and_symmetric():
    run = identity_init_limit(**TINY_N10, seed=0)
    assert list(run.results) == ["alpha=0.1", "alpha=0.001"]
    assert run.data["max_factor_gap"] < 1e-13
    assert run.data["final_gap"].shape == (2,)
    again = identity_init_limit(**TINY_N10, seed=0)
    np.testing.assert_array_equal(again.data["final_gap"], run.data["final_gap"])
    assert again.data["certificate"] == run.data["certificate"]


def test_n10_measure_on_synthetic_gaps():
    run = Run("identity_init_limit", {}, 0, np.eye(2))
    run.data["final_gap"] = np.array([0.5, 0.1, -0.02, 0.005])
    assert measure_n10(run) == pytest.approx({"smallest_alpha_gap": 0.005, "gap_ratio": 0.25})
    run.data["final_gap"] = np.array([0.5, 0.1, 0.2, 0.005])  # not monotone: ratio 2 > 1
    assert measure_n10(run)["gap_ratio"] == pytest.approx(2.0)
    run.data["final_gap"] = np.array([0.5, 0.0, 0.0])
    assert math.isnan(measure_n10(run)["gap_ratio"])


def test_check_alphas():
    assert check_alphas([1e-3, 1e-1, 1e-2]) == [1e-1, 1e-2, 1e-3]
    with pytest.raises(ValueError, match="alphas must hold at least two distinct values"):
        check_alphas([1e-2])
    with pytest.raises(ValueError, match="alphas must hold at least two distinct values"):
        check_alphas([1e-2, 1e-2])
    with pytest.raises(ValueError, match=r"alphas\[\] must be > 0"):
        check_alphas([1e-2, -1.0])
    with pytest.raises(TypeError, match="alphas must be a list"):
        check_alphas(0.1)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"n": 1}, "n must be an integer >= 2"),
        ({"r": 6}, "r must be an integer >= 1 and <= 5"),
        ({"m": 0}, "m must be an integer >= 1"),
        ({"step": 0.0}, "step must be > 0"),
        ({"iters": 0}, "iters must be an integer >= 1"),
    ],
)
def test_identity_init_limit_validates_parameters(change, message):
    with pytest.raises(ValueError) as info:
        identity_init_limit(**{**TINY_N10, **change}, seed=0)
    assert message in str(info.value)


# Notebooks -------------------------------------------------------------------------------------


@pytest.mark.parametrize(("claim_id", "stem"), NOTEBOOKS.items())
def test_each_claim_has_its_own_notebook(claim_id, stem):
    assert claims.get(claim_id).notebook == f"notebooks/{stem}.ipynb"
