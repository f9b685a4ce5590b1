"""Initializations, diagnostics and the balancing regularizer used by the neighbours."""

from __future__ import annotations

import numpy as np
import pytest

from matrix_sensing import GaussianSensing, factorized_gd, low_rank_target, metrics
from matrix_sensing.initialization import (
    identity_init,
    small_random_init,
    spectral_init,
    unequal_scale_init,
)


def test_unequal_scale_init_divides_v_only():
    U0, V0 = small_random_init(6, 5, 3, 0.1, seed=4)
    U1, V1 = unequal_scale_init(6, 5, 3, 0.1, 3.0, seed=4)
    assert np.array_equal(U0, U1)
    np.testing.assert_allclose(V1, V0 / 3.0, rtol=0, atol=0)
    with pytest.raises(ValueError, match="ratio must be > 0"):
        unequal_scale_init(6, 5, 3, 0.1, 0.0, seed=4)


def test_identity_init():
    U0 = identity_init(5, 3, 0.04)
    np.testing.assert_allclose(U0 @ U0.T, np.diag([0.04, 0.04, 0.04, 0, 0]), atol=1e-15)
    with pytest.raises(ValueError, match="alpha must be > 0"):
        identity_init(5, 3, -1.0)


def test_spectral_init_is_the_balanced_best_rank_r_approximation():
    X = low_rank_target(8, 6, 2, seed=0)
    op = GaussianSensing(200, (8, 6), seed=1)
    y = op(X)
    U0, V0 = spectral_init(op, y, 2)
    left, sigma, right_t = np.linalg.svd(op.adjoint(y))
    best = (left[:, :2] * sigma[:2]) @ right_t[:2]
    np.testing.assert_allclose(U0 @ V0.T, best, atol=1e-12)
    np.testing.assert_allclose(U0.T @ U0, V0.T @ V0, atol=1e-12)
    with pytest.raises(ValueError, match="r must be an integer >= 1 and <= 6"):
        spectral_init(op, y, 7)


def test_nuclear_norm_and_singular_value_ratio():
    M = np.diag([3.0, 2.0, 0.5])
    assert metrics.nuclear_norm(M) == pytest.approx(5.5)
    assert metrics.singular_value_ratio(M, 2) == pytest.approx(0.25)
    with pytest.raises(ValueError, match="r must be an integer"):
        metrics.singular_value_ratio(M, 3)


def test_local_linear_rate_recovers_a_geometric_rate():
    t = np.arange(100)
    values = 5.0 * 0.93**t
    values[:10] = 1.0  # a plateau before the window must not matter
    assert metrics.local_linear_rate(t, values, 20, 80) == pytest.approx(0.93, rel=1e-12)
    with pytest.raises(ValueError, match="fewer than 2"):
        metrics.local_linear_rate(t, values, 50, 51)


def test_crossings():
    t = np.arange(0, 50, 5)
    values = np.array([1.0, 0.8, 0.5, 0.2, 0.09, 0.05, 0.2, 0.01, 0.01, 0.01])
    assert metrics.first_crossing(t, values, 0.1) == 20
    assert metrics.first_crossing(t, values, 1e-5) is None
    assert metrics.first_rise(t[::-1], values[::-1], 0.5) == 10


def test_balancing_regularizer_gradient_matches_finite_differences():
    rng = np.random.default_rng(0)
    X = low_rank_target(5, 4, 2, seed=1)
    op = GaussianSensing(40, (5, 4), seed=2)
    y = op(X)
    U0, V0 = rng.standard_normal((5, 3)), rng.standard_normal((4, 3))
    lam, step = 0.7, 1e-3

    def objective(U, V):
        delta = U.T @ U - V.T @ V
        return metrics.train_loss(op, y, U, V) + lam / 4 * np.sum(delta**2)

    one = factorized_gd(op, y, U0, V0, step, 1, balance_weight=lam)
    grad_U, grad_V = (U0 - one.U) / step, (V0 - one.V) / step
    h = 1e-6
    for grad, which in ((grad_U, 0), (grad_V, 1)):
        numeric = np.zeros_like(grad)
        for idx in np.ndindex(grad.shape):
            plus, minus = [U0.copy(), V0.copy()], [U0.copy(), V0.copy()]
            plus[which][idx] += h
            minus[which][idx] -= h
            numeric[idx] = (objective(*plus) - objective(*minus)) / (2 * h)
        np.testing.assert_allclose(grad, numeric, rtol=1e-6, atol=1e-8)


def test_balancing_regularizer_rejects_negative_weight():
    op = GaussianSensing(10, (3, 2), seed=0)
    with pytest.raises(ValueError, match="balance_weight must be >= 0"):
        factorized_gd(
            op, np.zeros(10), np.ones((3, 1)), np.ones((2, 1)), 0.1, 1, balance_weight=-1.0
        )
