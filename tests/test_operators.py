"""GaussianSensing: adjointness, stacks, from_array, E[A*A] = Id, entry variance, seeding."""

from __future__ import annotations

import numpy as np
import pytest

from matrix_sensing import GaussianSensing

SHAPE = (5, 4)
M = 40


@pytest.fixture
def op():
    return GaussianSensing(M, SHAPE, seed=0)


@pytest.fixture
def rng():
    return np.random.default_rng(12345)


def test_attributes(op):
    assert op.m == M and op.shape == SHAPE
    assert op.matrix.shape == (M, SHAPE[0] * SHAPE[1])
    assert op.array.shape == (M, *SHAPE)
    assert op.matrix.dtype == np.float64
    assert "m=40" in repr(op)


def test_adjointness_single(op, rng):
    for _ in range(5):
        Z = rng.standard_normal(SHAPE)
        z = rng.standard_normal(M)
        lhs = op(Z) @ z
        rhs = np.sum(Z * op.adjoint(z))
        # Relative to the Cauchy-Schwarz scale, so a near-zero inner product cannot flake.
        assert abs(lhs - rhs) <= 1e-12 * np.linalg.norm(op(Z)) * np.linalg.norm(z)


def test_adjointness_stack(op, rng):
    B = 6
    Zs = rng.standard_normal((B, *SHAPE))
    zs = rng.standard_normal((B, M))
    forward, backward = op(Zs), op.adjoint(zs)
    assert forward.shape == (B, M) and backward.shape == (B, *SHAPE)
    lhs = np.einsum("bi,bi->b", forward, zs)
    rhs = np.einsum("bjk,bjk->b", Zs, backward)
    scale = np.linalg.norm(forward, axis=1) * np.linalg.norm(zs, axis=1)
    assert np.all(np.abs(lhs - rhs) <= 1e-12 * scale)


def test_stack_equals_per_matrix(op, rng):
    Zs = rng.standard_normal((3, *SHAPE))
    zs = rng.standard_normal((3, M))
    forward, backward = op(Zs), op.adjoint(zs)
    for b in range(3):
        np.testing.assert_allclose(forward[b], op(Zs[b]), rtol=1e-13, atol=1e-13)
        np.testing.assert_allclose(backward[b], op.adjoint(zs[b]), rtol=1e-13, atol=1e-13)


def test_from_array_matches_explicit_sum(rng):
    A = rng.standard_normal((7, 3, 2))
    op = GaussianSensing.from_array(A)
    assert op.m == 7 and op.shape == (3, 2)
    np.testing.assert_array_equal(op.array, A)
    Z = rng.standard_normal((3, 2))
    z = rng.standard_normal(7)
    expected = np.array([np.sum(A[i] * Z) for i in range(7)])
    # Per entry, relative to the Cauchy-Schwarz scale ||A_i|| ||Z|| (sums may cancel).
    scale = np.linalg.norm(A.reshape(7, -1), axis=1) * np.linalg.norm(Z)
    assert np.all(np.abs(op(Z) - expected) <= 1e-13 * scale)
    expected_adj = sum(z[i] * A[i] for i in range(7))
    scale_adj = np.sqrt(np.sum(A**2, axis=0)) * np.linalg.norm(z)
    assert np.all(np.abs(op.adjoint(z) - expected_adj) <= 1e-13 * scale_adj)


def test_from_array_leaves_caller_array_writable(rng):
    A = rng.standard_normal((4, 2, 2))
    op = GaussianSensing.from_array(A)
    assert A.flags.writeable  # the caller's array stays usable
    assert not op.matrix.flags.writeable


def test_array_rows_are_measurement_matrices(op, rng):
    Z = rng.standard_normal(SHAPE)
    explicit = np.array([np.sum(op.array[i] * Z) for i in range(M)])
    np.testing.assert_allclose(op(Z), explicit, rtol=0, atol=1e-12)


def test_matrix_is_read_only(op):
    assert not op.matrix.flags.writeable
    assert not op.array.flags.writeable
    with pytest.raises(ValueError):
        op.matrix[0, 0] = 1.0
    with pytest.raises(ValueError):
        op.array[0, 0, 0] = 1.0


def test_same_seed_bit_identical_different_seed_differs():
    a = GaussianSensing(30, (4, 3), seed=7)
    b = GaussianSensing(30, (4, 3), seed=7)
    c = GaussianSensing(30, (4, 3), seed=8)
    assert np.array_equal(a.matrix, b.matrix)
    assert not np.array_equal(a.matrix, c.matrix)


def test_expected_normal_operator_is_identity():
    # Average A*(A(Z)) over N independent operators. For one operator with N(0, 1/m)
    # entries, entry (j, k) of A*A(Z) has mean Z_jk and variance (Z_jk^2 + ||Z||_F^2) / m
    # (a fourth-moment computation), so the average over N operators has standard deviation
    # sd_jk = sqrt((Z_jk^2 + ||Z||_F^2) / (m N)). The seeds are fixed, so the test is
    # deterministic; the 6-sd bounds make it robust to any reasonable change of seeds,
    # while a wrong variance (e.g. 1/(2m), giving Z/2) would miss by ~15 sd.
    n1, n2, m, N = 4, 3, 10, 2000
    Z = np.arange(1.0, n1 * n2 + 1).reshape(n1, n2) / (n1 * n2)
    average = np.zeros_like(Z)
    for seed in range(N):
        op = GaussianSensing(m, (n1, n2), seed=seed)
        average += op.adjoint(op(Z))
    average /= N
    sd = np.sqrt((Z**2 + np.sum(Z**2)) / (m * N))
    assert np.max(np.abs(average - Z) / sd) < 6
    # The squared Frobenius error has mean sum(sd^2); 6x that in norm is far out in the tail.
    assert np.linalg.norm(average - Z) < 6 * np.sqrt(np.sum(sd**2))


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_entry_variance_is_one_over_m(seed):
    # n = m * n1 * n2 = 24000 i.i.d. entries: the sample variance of N(0, s^2) has relative
    # standard deviation sqrt(2 / (n - 1)) ~ 0.009, so a 6-sd bound is +-0.055.
    m, shape = 200, (12, 10)
    entries = GaussianSensing(m, shape, seed=seed).matrix.ravel()
    n = entries.size
    assert abs(m * entries.var(ddof=1) - 1) < 6 * np.sqrt(2 / (n - 1))
    # The mean has standard deviation 1 / sqrt(m n).
    assert abs(entries.mean()) < 6 / np.sqrt(m * n)


def test_linear(op, rng):
    Z1, Z2 = rng.standard_normal((2, *SHAPE))
    np.testing.assert_allclose(op(2.0 * Z1 - 3.0 * Z2), 2.0 * op(Z1) - 3.0 * op(Z2), atol=1e-12)
