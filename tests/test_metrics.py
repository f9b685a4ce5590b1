"""Metrics: errors, loss, imbalance, angles, spectra, effective rank."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.linalg

from matrix_sensing import GaussianSensing, metrics


@pytest.fixture
def rng():
    return np.random.default_rng(2024)


def orthonormal(rng, n, r):
    return np.linalg.qr(rng.standard_normal((n, r)))[0]


# Errors and loss ----------------------------------------------------------------------


def test_relative_error_known_values():
    truth = np.diag([3.0, 4.0])  # ||.||_F = 5, ||.||_op = 4
    assert metrics.relative_error(np.zeros((2, 2)), truth) == pytest.approx(1.0)
    assert metrics.relative_error(np.zeros((2, 2)), truth, "op") == pytest.approx(1.0)
    estimate = truth + np.diag([1.0, 0.0])
    assert metrics.relative_error(estimate, truth) == pytest.approx(1 / 5)
    assert metrics.relative_error(estimate, truth, norm="op") == pytest.approx(1 / 4)
    assert metrics.relative_error(truth, truth) == 0.0


def test_relative_error_matches_numpy(rng):
    truth, estimate = rng.standard_normal((2, 6, 4))
    fro = np.linalg.norm(estimate - truth) / np.linalg.norm(truth)
    op = np.linalg.norm(estimate - truth, 2) / np.linalg.norm(truth, 2)
    assert metrics.relative_error(estimate, truth, "fro") == pytest.approx(fro, rel=1e-14)
    assert metrics.relative_error(estimate, truth, "op") == pytest.approx(op, rel=1e-14)
    assert isinstance(metrics.relative_error(estimate, truth), float)


def test_test_error_is_relative_error_of_product(rng):
    U, V = rng.standard_normal((6, 3)), rng.standard_normal((4, 3))
    truth = rng.standard_normal((6, 4))
    for norm in ("fro", "op"):
        assert metrics.test_error(U, V, truth, norm) == metrics.relative_error(U @ V.T, truth, norm)


def test_train_loss(rng):
    op = GaussianSensing(20, (4, 3), seed=0)
    U, V, y = rng.standard_normal((4, 2)), rng.standard_normal((3, 2)), rng.standard_normal(20)
    residual = np.einsum("ijk,jk->i", op.array, U @ V.T) - y
    assert metrics.train_loss(op, y, U, V) == pytest.approx(0.5 * residual @ residual, rel=1e-13)
    # Exact data gives zero loss.
    assert metrics.train_loss(op, op(U @ V.T), U, V) == 0.0


# Imbalance -----------------------------------------------------------------------------


def test_imbalance(rng):
    U, V = rng.standard_normal((6, 3)), rng.standard_normal((4, 3))
    delta = metrics.imbalance(U, V)
    np.testing.assert_allclose(delta, U.T @ U - V.T @ V, rtol=1e-14, atol=1e-14)
    np.testing.assert_allclose(delta, delta.T, atol=1e-14)
    op_norm = np.max(np.abs(np.linalg.eigvalsh(delta)))
    assert metrics.imbalance_norm(U, V) == pytest.approx(op_norm, rel=1e-12)
    assert metrics.imbalance_norm(U, V, "op") == pytest.approx(op_norm, rel=1e-12)
    assert metrics.imbalance_norm(U, V, "fro") == pytest.approx(np.linalg.norm(delta), rel=1e-12)


def test_balanced_factors_have_zero_imbalance(rng):
    # V = Q U with an isometry Q (Q^T Q = I) has V^T V = U^T U.
    U = rng.standard_normal((4, 2))
    Q = orthonormal(rng, 6, 4)
    V = Q @ U
    assert metrics.imbalance_norm(U, V) < 1e-12
    assert metrics.imbalance_norm(U, U, "fro") == 0.0


# Angles and subspaces ------------------------------------------------------------------


def test_principal_angles_match_scipy(rng):
    A, B = rng.standard_normal((8, 3)), rng.standard_normal((8, 2))
    angles = metrics.principal_angles(A, B)
    np.testing.assert_array_equal(angles, scipy.linalg.subspace_angles(A, B))
    assert angles.shape == (2,)
    assert np.all(np.diff(angles) <= 0)  # decreasing
    assert np.all((angles >= 0) & (angles <= np.pi / 2))


def test_principal_angles_same_span_and_orthogonal(rng):
    A = rng.standard_normal((7, 3))
    same_span = A @ rng.standard_normal((3, 3))  # invertible a.s.
    np.testing.assert_allclose(metrics.principal_angles(A, same_span), 0, atol=1e-7)
    eye = np.eye(5)
    np.testing.assert_allclose(metrics.principal_angles(eye[:, :2], eye[:, 2:4]), np.pi / 2)


def test_subspace_distance(rng):
    A = rng.standard_normal((7, 3))
    assert metrics.subspace_distance(A, 2.0 * A) == pytest.approx(0, abs=1e-7)
    eye = np.eye(4)
    assert metrics.subspace_distance(eye[:, :1], eye[:, 1:3]) == pytest.approx(1.0)
    theta = 0.3
    line = np.array([[np.cos(theta)], [np.sin(theta)], [0.0]])
    assert metrics.subspace_distance(eye[:3, :1], line) == pytest.approx(np.sin(theta), rel=1e-12)
    # Largest angle, not the smallest: a shared direction plus an orthogonal one gives 1.
    assert metrics.subspace_distance(eye[:, :2], eye[:, [0, 2]]) == pytest.approx(1.0)


# Spectra -------------------------------------------------------------------------------


def test_subspace_distance_orthonormal_fast_path_agrees(rng):
    for p, q in ((3, 3), (4, 2)):
        A = np.linalg.qr(rng.standard_normal((9, p)))[0]
        B = np.linalg.qr(A[:, :q] + 0.1 * rng.standard_normal((9, q)))[0]
        fast = metrics.subspace_distance(A, B, orthonormal=True)
        assert fast == pytest.approx(metrics.subspace_distance(A, B), rel=1e-10)
        assert 0 < fast < 1
    eye = np.eye(4)
    assert metrics.subspace_distance(eye[:, :2], eye[:, 2:], orthonormal=True) == 1.0
    with pytest.raises(ValueError, match=r"orthonormal=True needs p >= q"):
        metrics.subspace_distance(eye[:, :1], eye[:, 1:3], orthonormal=True)


def test_top_subspace_sine(rng):
    basis = np.linalg.qr(rng.standard_normal((7, 2)))[0]
    noise = np.linalg.qr(rng.standard_normal((7, 3)))[0]
    noise -= basis @ (basis.T @ noise)  # orthogonal to the basis, so it ranks last
    U = np.hstack([basis * [3.0, 2.0], 1e-3 * noise[:, :1]])  # (7, 3)
    assert metrics.top_subspace_sine(U, basis) < 1e-12
    left = np.linalg.svd(U, full_matrices=False)[0][:, :2]
    assert metrics.top_subspace_sine(U, noise[:, :2]) == metrics.subspace_distance(
        left, noise[:, :2]
    )


def test_singular_values_sorted(rng):
    sigma = np.array([0.5, 4.0, 2.0])
    M = orthonormal(rng, 6, 3) @ np.diag(sigma) @ orthonormal(rng, 5, 3).T
    np.testing.assert_allclose(metrics.singular_values(M)[:3], [4.0, 2.0, 0.5], atol=1e-12)
    values = metrics.singular_values(rng.standard_normal((5, 7)))
    assert values.shape == (5,) and np.all(np.diff(values) <= 0)


def test_top_singular_subspaces(rng):
    L, R = orthonormal(rng, 8, 4), orthonormal(rng, 6, 4)
    M = L @ np.diag([5.0, 3.0, 1.0, 0.2]) @ R.T
    left, right = metrics.top_singular_subspaces(M, 2)
    assert left.shape == (8, 2) and right.shape == (6, 2)
    np.testing.assert_allclose(left.T @ left, np.eye(2), atol=1e-12)
    np.testing.assert_allclose(right.T @ right, np.eye(2), atol=1e-12)
    assert metrics.subspace_distance(left, L[:, :2]) < 1e-10
    assert metrics.subspace_distance(right, R[:, :2]) < 1e-10
    # The third direction is not in the top-2 span.
    assert metrics.subspace_distance(left, L[:, 2:3]) == pytest.approx(1.0)


@pytest.mark.parametrize("r", [1, 2, 3])
def test_effective_rank_equal_singular_values(rng, r):
    M = 2.5 * orthonormal(rng, 6, r) @ orthonormal(rng, 5, r).T
    assert metrics.effective_rank(M) == pytest.approx(r, rel=1e-12)


def test_effective_rank_bounds(rng):
    u, v = rng.standard_normal((2, 5))
    assert metrics.effective_rank(np.outer(u, v)) == pytest.approx(1.0, rel=1e-12)
    M = rng.standard_normal((6, 4))
    assert 1.0 < metrics.effective_rank(M) < 4.0
    # Unequal spectrum: strictly between 1 and the rank.
    assert 1.0 < metrics.effective_rank(np.diag([1.0, 0.1])) < 2.0
