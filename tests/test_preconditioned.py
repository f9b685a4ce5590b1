"""Preconditioned gradient descent (claim N7): the update and its damping policies, a
reference loop, validation, divergence, the early-stopping GD driver and the experiment."""

from __future__ import annotations

import numpy as np
import pytest
from _numerics import central_difference, rel_diff
from conftest import N1, N2, K

from matrix_sensing import claims, factorized_gd, metrics
from matrix_sensing.experiments.preconditioning import first_below, gd_until, preconditioning
from matrix_sensing.solvers import (
    POLICIES,
    DivergenceError,
    damping,
    preconditioned_gd,
    preconditioned_step,
)


def reference(op, y, U, V, step, iters, rule):
    """Plain loop with explicit inverses; ``rule(U, V, loss) -> λ``."""
    for _ in range(iters):
        residual = op(U @ V.T) - y
        lam = rule(U, V, 0.5 * residual @ residual)
        E = op.adjoint(residual)
        P_V = np.linalg.inv(V.T @ V + lam * np.eye(V.shape[1]))
        P_U = np.linalg.inv(U.T @ U + lam * np.eye(U.shape[1]))
        U, V = U - step * E @ V @ P_V, V - step * E.T @ U @ P_U
    return U, V


# the update ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("policy", "lam"), [("scaledgd", None), ("scaledgd_lambda", 0.3), ("precgd", None)]
)
def test_one_step_is_the_preconditioned_gradient_of_the_loss(problem, policy, lam):
    op, y, U0, V0, _ = problem
    result = preconditioned_gd(op, y, U0, V0, 0.1, 1, policy=policy, lam=lam)
    fd_U = central_difference(lambda U: metrics.train_loss(op, y, U, V0), U0)
    fd_V = central_difference(lambda V: metrics.train_loss(op, y, U0, V), V0)
    loss = metrics.train_loss(op, y, U0, V0)
    value = {"scaledgd": 0.0, "scaledgd_lambda": 0.3, "precgd": np.sqrt(loss)}[policy]
    assert result.history["damping"][0] == pytest.approx(value, rel=1e-14)
    eye = np.eye(K)
    # (U0 - U1)/μ (V^T V + λI) is the gradient of the loss
    assert rel_diff((U0 - result.U) / 0.1 @ (V0.T @ V0 + value * eye), fd_U) < 1e-6
    assert rel_diff((V0 - result.V) / 0.1 @ (U0.T @ U0 + value * eye), fd_V) < 1e-6


@pytest.mark.parametrize(
    ("policy", "lam", "rule"),
    [
        ("scaledgd", None, lambda U, V, f: 0.0),
        ("scaledgd_lambda", 1e-2, lambda U, V, f: 1e-2),
        ("precgd", None, lambda U, V, f: np.sqrt(f)),
    ],
)
def test_matches_reference_loop(problem, policy, lam, rule):
    op, y, U0, V0, truth = problem
    result = preconditioned_gd(op, y, U0, V0, 0.3, 30, policy=policy, lam=lam, truth=truth)
    U_ref, V_ref = reference(op, y, U0, V0, 0.3, 30, rule)
    assert rel_diff(result.U, U_ref) < 1e-12
    assert rel_diff(result.V, V_ref) < 1e-12
    assert result.iters == 30
    assert result.history["test_error"][-1] == pytest.approx(
        metrics.test_error(result.U, result.V, truth), rel=1e-12
    )


def test_callable_policy_is_used_as_given(problem):
    op, y, U0, V0, _ = problem
    by_name = preconditioned_gd(op, y, U0, V0, 0.3, 10, policy="precgd")
    by_callable = preconditioned_gd(op, y, U0, V0, 0.3, 10, policy=lambda U, V, f: np.sqrt(f))
    assert np.array_equal(by_name.U, by_callable.U)
    seen = []
    preconditioned_gd(op, y, U0, V0, 0.3, 2, policy=lambda U, V, f: seen.append(f) or 0.1)
    assert len(seen) == 3 and seen[0] == pytest.approx(metrics.train_loss(op, y, U0, V0))


def test_scaledgd_is_invariant_to_rescaling_the_factors(problem):
    # ScaledGD (λ = 0) commutes with (U, V) -> (U P, V P^{-T}): the products agree.
    op, y, U0, V0, _ = problem
    P = np.array([[2.0, 0.5, 0.0], [0.0, 1.0, 0.3], [0.1, 0.0, 0.5]])
    plain = preconditioned_gd(op, y, U0, V0, 0.3, 10)
    moved = preconditioned_gd(op, y, U0 @ P, V0 @ np.linalg.inv(P).T, 0.3, 10)
    assert rel_diff(moved.U @ moved.V.T, plain.U @ plain.V.T) < 1e-10


def test_large_damping_is_gradient_descent_with_a_scaled_step(problem):
    op, y, U0, V0, _ = problem
    lam = 1e9
    damped = preconditioned_gd(op, y, U0, V0, 0.1 * lam, 5, policy="scaledgd_lambda", lam=lam)
    gd = factorized_gd(op, y, U0, V0, 0.1, 5)
    assert rel_diff(damped.U, gd.U) < 1e-7


def test_step_function_and_determinism(problem):
    op, y, U0, V0, _ = problem
    E = op.adjoint(op(U0 @ V0.T) - y)
    U1, _ = preconditioned_step(U0, V0, E @ V0, E.T @ U0, 0.2, 0.5)
    expected_U = U0 - 0.2 * E @ V0 @ np.linalg.inv(V0.T @ V0 + 0.5 * np.eye(K))
    assert rel_diff(U1, expected_U) < 1e-13
    first = preconditioned_gd(op, y, U0, V0, 0.3, 15, policy="precgd")
    second = preconditioned_gd(op, y, U0, V0, 0.3, 15, policy="precgd")
    assert np.array_equal(first.U, second.U) and np.array_equal(first.V, second.V)
    assert POLICIES == ("scaledgd", "scaledgd_lambda", "precgd")
    assert damping("scaledgd_lambda", U0, V0, 4.0, lam=0.25) == 0.25
    assert damping("precgd", U0, V0, 4.0) == 2.0


def test_stop_below_stops_at_the_first_iterate_below(problem):
    op, y, U0, V0, truth = problem
    full = preconditioned_gd(op, y, U0, V0, 0.3, 60, policy="precgd", truth=truth)
    level = 0.1
    first = int(np.flatnonzero(full.history["test_error"] <= level)[0])
    stopped = preconditioned_gd(
        op, y, U0, V0, 0.3, 60, policy="precgd", truth=truth, stop_below=level, record_every=7
    )
    assert stopped.iters == first
    assert stopped.history["iteration"][-1] == first
    assert first_below(stopped, level) == first
    assert stopped.history["test_error"][-1] == full.history["test_error"][first]


# validation and divergence ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"step": 0.0}, ValueError, "step must be > 0"),
        ({"step": np.inf}, ValueError, "step must be finite"),
        ({"iters": -1}, ValueError, "iters must be an integer >= 0"),
        ({"policy": "adam"}, ValueError, "policy must be one of"),
        ({"policy": "scaledgd_lambda"}, ValueError, "lam must be given"),
        ({"policy": "scaledgd_lambda", "lam": 0.0}, ValueError, "lam must be > 0"),
        ({"policy": "precgd", "lam": 0.1}, ValueError, "lam must be None for policy 'precgd'"),
        ({"policy": lambda U, V, f: -1.0}, ValueError, "must return a finite real λ >= 0"),
        ({"U0": np.full((N1, K), np.nan)}, ValueError, "U0 must contain only finite values"),
        ({"V0": np.ones((N2 + 1, K))}, ValueError, r"V0 must have shape \(4, 3\)"),
        ({"stop_below": 1e-3}, ValueError, "stop_below needs truth"),
        ({"stop_below": -1.0, "truth": np.ones((N1, N2))}, ValueError, "stop_below must be > 0"),
        ({"metrics": {"x": 1}}, TypeError, r"metrics\['x'\] must be callable"),
    ],
)
def test_rejects_bad_input(problem, kwargs, error, message):
    op, y, U0, V0, _ = problem
    arguments = {"op": op, "y": y, "U0": U0, "V0": V0, "step": 0.1, "iters": 3, **kwargs}
    with pytest.raises(error, match=message):
        preconditioned_gd(**arguments)


def test_singular_preconditioner_is_reported(problem):
    op, y, U0, _, _ = problem
    with pytest.raises(ValueError, match=r"singular at iteration 0.*scaledgd_lambda"):
        preconditioned_gd(op, y, U0, np.zeros((N2, K)), 0.1, 3, policy="scaledgd")
    # with damping a zero factor is fine
    preconditioned_gd(op, y, U0, np.zeros((N2, K)), 0.1, 3, policy="scaledgd_lambda", lam=0.1)


def test_divergence_raises_with_iteration_and_hint(problem):
    op, y, U0, V0, _ = problem
    with pytest.raises(DivergenceError, match=r"diverged at iteration \d+.*Hint: step=") as info:
        preconditioned_gd(op, y, 5 * U0, 5 * V0, 50.0, 100, policy="scaledgd_lambda", lam=1.0)
    assert info.value.iteration >= 1


# the early-stopping GD driver and the experiment ---------------------------------------------


def test_gd_until_is_factorized_gd_truncated_at_the_crossing(problem):
    op, y, U0, V0, truth = problem
    full = factorized_gd(op, y, U0, V0, 0.3, 200, truth=truth)
    level = 0.05
    first = int(np.flatnonzero(full.history["test_error"] <= level)[0])
    chunked = gd_until(op, y, U0, V0, 0.3, 200, truth, level, chunk=7)
    assert chunked.iters == first
    for name, values in chunked.history.items():
        assert np.array_equal(values, full.history[name][: first + 1]), name
    budget = gd_until(op, y, U0, V0, 0.3, 10, truth, 1e-12, chunk=4)
    assert budget.iters == 10 and np.isnan(first_below(budget, 1e-12))
    assert rel_diff(budget.U, factorized_gd(op, y, U0, V0, 0.3, 10).U) < 1e-12


SMALL = {
    "n1": 10,
    "n2": 8,
    "r": 2,
    "m": 160,
    "k": 4,
    "kappas": [1.0, 10.0],
    "alpha": 1e-3,
    "tol": 1e-2,
    "step_gd": 0.5,
    "max_iters_gd": 600,
    "step_precond": 0.5,
    "lam": 1e-3,
    "max_iters_precond": 200,
    "floor_kappa": 10.0,
    "floor_alphas": [1e-2, 1e-4],
    "floor_iters": 20,
}


def test_experiment_counts_and_determinism():
    first = preconditioning(**SMALL, seed=0)
    second = preconditioning(**SMALL, seed=0)
    counts = first.data["iterations"]
    assert set(counts) == {"gd", "scaledgd_lambda", "precgd"}
    for method, values in counts.items():
        assert np.array_equal(values, second.data["iterations"][method])
        for kappa, value in zip(first.data["kappas"], values, strict=True):
            assert value == first_below(first.results[f"{method}_kappa{kappa:g}"], SMALL["tol"])
    assert counts["gd"][1] > counts["gd"][0]  # GD slows down with κ
    assert set(first.results) >= {"floor_scaledgd_lambda_alpha0.01", "floor_precgd_alpha0.001"}
    assert len(first.results["floor_precgd_alpha0.001"].history["iteration"]) == 21
    measured = claims.get("N7").measure(first)
    assert measured["gd_growth"] == counts["gd"][1] / counts["gd"][0]


@pytest.mark.parametrize(
    ("override", "error", "message"),
    [
        ({"kappas": [1.0]}, ValueError, "kappas must contain at least two"),
        ({"kappas": [1.0, 0.5]}, ValueError, r"kappas\[\] must be >= 1"),
        ({"kappas": "1, 10"}, TypeError, "kappas must be a list of real numbers"),
        ({"kappas": [1.0, 1.0]}, ValueError, "kappas must be distinct"),
        ({"floor_alphas": []}, ValueError, "floor_alphas must contain at least one value"),
        ({"lam": 0.0}, ValueError, "lam must be > 0"),
        ({"r": 9}, ValueError, "r must be an integer >= 1 and <= 8"),
        ({"max_iters_gd": 0}, ValueError, "max_iters_gd must be an integer >= 1"),
        ({"tol": -1e-3}, ValueError, "tol must be > 0"),
    ],
)
def test_experiment_rejects_bad_parameters(override, error, message):
    with pytest.raises(error, match=message):
        preconditioning(**{**SMALL, **override}, seed=0)
