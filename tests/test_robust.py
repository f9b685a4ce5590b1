"""Robust sensing (claim N6): outlier corruption, the ℓ1 loss and its sub-gradient, the
sub-gradient method (asymmetric and symmetric), the symmetric ℓ2 baseline and the
experiment."""

from __future__ import annotations

import numpy as np
import pytest
from _numerics import central_difference, rel_diff
from conftest import N1, N2, K, M

from matrix_sensing import claims, small_random_init
from matrix_sensing.experiments.robust import robust_recovery, symmetric_sensing
from matrix_sensing.solvers import (
    DivergenceError,
    corrupt,
    l1_loss,
    l1_subgradient,
    subgradient_method,
    symmetric_l2_gd,
    symmetric_subgradient_method,
)
from matrix_sensing.targets import psd_target


@pytest.fixture
def corrupted(problem):
    """The shared small problem with a fifth of its measurements corrupted."""
    op, y, U0, V0, truth = problem
    return op, corrupt(y, 0.2, 10.0, seed=3)[0], U0, V0, truth


@pytest.fixture
def symmetric_problem():
    n = 6
    truth = psd_target(n, 2, 2.0, seed=0)
    op = symmetric_sensing(n, 60, seed=1)
    U0, _ = small_random_init(n, n, 4, 0.5, seed=2)
    y, _ = corrupt(op(truth), 0.2, 10.0, seed=3)
    return op, y, U0, truth


# corrupt ------------------------------------------------------------------------------


def test_corrupt_changes_exactly_the_chosen_fraction():
    y = np.random.default_rng(0).standard_normal(50)
    noisy, mask = corrupt(y, 0.2, 10.0, seed=1)
    assert mask.dtype == bool and mask.sum() == 10
    assert np.array_equal(noisy[~mask], y[~mask])
    assert np.all(noisy[mask] != y[mask])
    rms = np.linalg.norm(y) / np.sqrt(50)
    # outliers are N(0, (10 rms)^2): far larger than a clean measurement on average
    assert np.mean(np.abs(noisy[mask] - y[mask])) > 3 * rms
    again, mask_again = corrupt(y, 0.2, 10.0, seed=1)
    assert np.array_equal(again, noisy) and np.array_equal(mask, mask_again)
    assert not np.array_equal(corrupt(y, 0.2, 10.0, seed=2)[0], noisy)
    assert np.array_equal(corrupt(y, 0.0, 10.0, seed=1)[0], y)


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"fraction": 1.0}, ValueError, "fraction must be < 1"),
        ({"fraction": -0.1}, ValueError, "fraction must be >= 0"),
        ({"magnitude": 0.0}, ValueError, "magnitude must be > 0"),
        ({"magnitude": np.nan}, ValueError, "magnitude must be finite"),
        ({"seed": -1}, ValueError, "seed must be an integer >= 0"),
        ({"y": np.zeros(5)}, ValueError, "y must not be all zero"),
        ({"y": np.ones((2, 2))}, ValueError, "y must have 1 dimensions"),
        ({"y": [1.0, np.inf]}, ValueError, "y must contain only finite values"),
    ],
)
def test_corrupt_rejects_bad_input(kwargs, error, message):
    arguments = {"y": np.ones(5), "fraction": 0.2, "magnitude": 1.0, "seed": 0, **kwargs}
    with pytest.raises(error, match=message):
        corrupt(**arguments)


# loss and sub-gradient ------------------------------------------------------------------


def test_l1_subgradient_is_the_gradient_where_differentiable(corrupted):
    op, y, U0, V0, _ = corrupted
    residual = op(U0 @ V0.T) - y
    assert np.min(np.abs(residual)) > 1e-3  # away from the kinks of |.|
    h = 1e-7  # moves every residual by far less than 1e-3: no kink is crossed
    fd_U = central_difference(lambda U: l1_loss(op, y, U, V0), U0, h)
    fd_V = central_difference(lambda V: l1_loss(op, y, U0, V), V0, h)
    grad_U, grad_V = l1_subgradient(op, y, U0, V0)
    # the loss is piecewise quadratic: central differences are exact up to rounding ~eps/h
    assert rel_diff(grad_U, fd_U) < 1e-6
    assert rel_diff(grad_V, fd_V) < 1e-6
    # the scaling: (1/√m) ||A(UV^T) - y||_1
    assert l1_loss(op, y, U0, V0) == pytest.approx(np.abs(residual).sum() / np.sqrt(M))


def test_symmetric_subgradient_is_the_gradient_of_g_of_u(symmetric_problem):
    op, y, U0, _ = symmetric_problem
    result = symmetric_subgradient_method(op, y, U0, 0.1, 0.9, 1)
    grad = (U0 - result.U) / 0.1
    fd = central_difference(lambda U: l1_loss(op, y, U, U), U0, 1e-7)
    assert rel_diff(grad, fd) < 1e-6


def test_symmetric_l2_step_is_the_gradient_of_the_quarter_loss(symmetric_problem):
    op, y, U0, _ = symmetric_problem
    result = symmetric_l2_gd(op, y, U0, 0.05, 1)
    grad = (U0 - result.U) / 0.05

    def loss(U):
        residual = op(U @ U.T) - y
        return 0.25 * residual @ residual

    assert rel_diff(grad, central_difference(loss, U0, 1e-5)) < 1e-6
    assert result.history["train_loss"][0] == pytest.approx(loss(U0), rel=1e-12)


# the methods against plain reference loops ------------------------------------------------


def reference_subgradient(op, y, U, V, step0, decay, iters):
    A = op.array
    for t in range(iters):
        residual = np.array([np.sum(A_i * (U @ V.T)) for A_i in A]) - y
        G = np.tensordot(np.sign(residual), A, axes=1) / np.sqrt(len(y))
        U, V = U - step0 * decay**t * G @ V, V - step0 * decay**t * G.T @ U
    return U, V


def test_subgradient_method_matches_reference_loop(corrupted):
    op, y, U0, V0, truth = corrupted
    result = subgradient_method(op, y, U0, V0, 0.05, 0.97, 30, truth=truth)
    U_ref, V_ref = reference_subgradient(op, y, U0, V0, 0.05, 0.97, 30)
    assert rel_diff(result.U, U_ref) < 1e-12
    assert rel_diff(result.V, V_ref) < 1e-12
    history = result.history
    assert list(history["iteration"]) == list(range(31))
    assert np.allclose(history["step"], 0.05 * 0.97 ** np.arange(31), rtol=1e-14, atol=0)
    assert history["train_loss"][-1] == pytest.approx(l1_loss(op, y, result.U, result.V))
    assert history["test_error"][-1] == pytest.approx(
        np.linalg.norm(result.U @ result.V.T - truth) / np.linalg.norm(truth)
    )


def test_symmetric_method_matches_reference_and_the_asymmetric_one(symmetric_problem):
    op, y, U0, _ = symmetric_problem
    sym = symmetric_subgradient_method(op, y, U0, 0.05, 0.97, 30)
    A = op.array
    U = U0
    for t in range(30):
        residual = np.array([np.sum(A_i * (U @ U.T)) for A_i in A]) - y
        G = np.tensordot(np.sign(residual), A, axes=1) / np.sqrt(len(y))
        U = U - 0.05 * 0.97**t * (G + G.T) @ U
    assert rel_diff(sym.U, U) < 1e-12
    assert sym.V is sym.U
    # With symmetric A_i, the asymmetric method from U0 = V0 keeps U = V and, at twice the
    # step, is the symmetric method.
    asym = subgradient_method(op, y, U0, U0, 0.1, 0.97, 30)
    assert np.max(np.abs(asym.U - asym.V)) <= 1e-12 * np.max(np.abs(asym.U))
    assert rel_diff(asym.U, sym.U) < 1e-12


def test_symmetric_l2_gd_matches_reference_loop(symmetric_problem):
    op, y, U0, truth = symmetric_problem
    result = symmetric_l2_gd(op, y, U0, 0.1, 40, truth=truth, record_every=7)
    U = U0
    for _ in range(40):
        E = op.adjoint(op(U @ U.T) - y)
        U = U - 0.1 * E @ U
    assert rel_diff(result.U, U) < 1e-12
    assert list(result.history["iteration"]) == [0, 7, 14, 21, 28, 35, 40]
    assert np.all(result.history["step"] == 0.1)


def test_determinism(corrupted):
    op, y, U0, V0, _ = corrupted
    first = subgradient_method(op, y, U0, V0, 0.05, 0.99, 20)
    second = subgradient_method(op, y, U0, V0, 0.05, 0.99, 20)
    assert np.array_equal(first.U, second.U) and np.array_equal(first.V, second.V)


# validation and divergence ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"step0": 0.0}, ValueError, "step0 must be > 0"),
        ({"step0": np.nan}, ValueError, "step0 must be finite"),
        ({"decay": 1.5}, ValueError, "decay must be <= 1"),
        ({"decay": 0.0}, ValueError, "decay must be > 0"),
        ({"iters": -1}, ValueError, "iters must be an integer >= 0"),
        ({"iters": 2.5}, TypeError, "iters must be an integer"),
        ({"U0": np.ones((N1 + 1, K))}, ValueError, r"U0 must have shape \(5, '\*'\)"),
        ({"V0": np.ones((N2, K + 1))}, ValueError, r"V0 must have shape \(4, 3\)"),
        ({"y": np.ones(M + 1)}, ValueError, r"y must have shape \(40,\)"),
        ({"record_every": 0}, ValueError, "record_every must be an integer >= 1"),
        ({"truth": np.zeros((N1, N2))}, ValueError, "truth must be a non-zero matrix"),
        ({"op": "A"}, TypeError, "op must be a measurement operator"),
    ],
)
def test_subgradient_method_rejects_bad_input(corrupted, kwargs, error, message):
    op, y, U0, V0, _ = corrupted
    arguments = {
        "op": op,
        "y": y,
        "U0": U0,
        "V0": V0,
        "step0": 0.1,
        "decay": 0.99,
        "iters": 3,
        **kwargs,
    }
    with pytest.raises(error, match=message):
        subgradient_method(**arguments)


def test_symmetric_methods_need_a_square_operator(corrupted):
    op, y, U0, _, _ = corrupted
    with pytest.raises(
        ValueError, match=r"op must measure square \(n, n\) matrices for the symmetric model"
    ):
        symmetric_subgradient_method(op, y, U0, 0.1, 0.99, 3)
    with pytest.raises(
        ValueError, match=r"op must measure square \(n, n\) matrices for the symmetric model"
    ):
        symmetric_l2_gd(op, y, U0, 0.1, 3)
    with pytest.raises(ValueError, match="step must be > 0"):
        symmetric_l2_gd(symmetric_sensing(4, 10, seed=0), np.ones(10), np.ones((4, 2)), 0.0, 3)


def test_divergence_raises_with_iteration_and_hint(corrupted):
    op, y, U0, V0, _ = corrupted
    with pytest.raises(
        DivergenceError, match=r"diverged at iteration \d+.*Hint: the geometric"
    ) as info:
        subgradient_method(op, y, 10 * U0, 10 * V0, 50.0, 1.0, 200)
    assert info.value.iteration >= 1
    with pytest.raises(DivergenceError, match="Hint"):
        symmetric_l2_gd(symmetric_sensing(6, 60, seed=1), np.ones(60), np.ones((6, 2)), 5.0, 200)


# the experiment ----------------------------------------------------------------------------

SMALL = {
    "n": 8,
    "r": 1,
    "kappa": 1.0,
    "m": 120,
    "k": 8,
    "fraction": 0.2,
    "magnitude": 10.0,
    "alpha": 1e-3,
    "step0": 0.05,
    "decay": 0.99,
    "iters": 60,
    "step_l2": 0.1,
    "iters_l2": 60,
}


def test_experiment_is_deterministic_and_symmetric():
    first = robust_recovery(**SMALL, seed=0)
    second = robust_recovery(**SMALL, seed=0)
    for name in ("l1", "l2"):
        assert np.array_equal(first.results[name].U, second.results[name].U)
    assert first.data["corrupted"] == 24
    assert np.array_equal(first.truth, first.truth.T)
    assert np.all(np.linalg.eigvalsh(first.truth) > -1e-12)
    assert list(first.results["l1"].history["iteration"]) == [0, 10, 20, 30, 40, 50, 60]
    assert first.params == SMALL


def test_symmetric_sensing_is_symmetric_and_isotropic_on_symmetric_matrices():
    op = symmetric_sensing(5, 20000, seed=0)
    assert np.array_equal(op.array, op.array.transpose(0, 2, 1))
    Z = psd_target(5, 2, 2.0, seed=1)
    # E ||A(Z)||^2 = ||Z||_F^2 for symmetric Z (book/setup.md, "Symmetric variant")
    assert np.linalg.norm(op(Z)) ** 2 == pytest.approx(np.linalg.norm(Z) ** 2, rel=0.05)


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ({"fraction": 0.6}, "fraction must be <= 0.5"),
        ({"r": 9}, "r must be an integer >= 1 and <= 8"),
        ({"decay": 1.01}, "decay must be <= 1"),
        ({"iters_l2": 0}, "iters_l2 must be an integer >= 1"),
        ({"step_l2": -1.0}, "step_l2 must be > 0"),
        ({"kappa": 0.5}, "kappa must be >= 1"),
    ],
)
def test_experiment_rejects_bad_parameters(override, message):
    with pytest.raises(ValueError, match=message):
        robust_recovery(**{**SMALL, **override}, seed=0)


def test_claim_on_one_seed():
    result = claims.check("N6", seed=0)
    assert result.passed, result.line()
