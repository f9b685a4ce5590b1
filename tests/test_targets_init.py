"""Ground-truth targets and the small random initialization."""

from __future__ import annotations

import numpy as np
import pytest

from matrix_sensing import linear_spectrum, low_rank_target, small_random_init
from matrix_sensing.targets import psd_target

# Targets ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("n1", "n2", "r", "kappa"), [(8, 6, 3, 4.0), (5, 7, 1, 2.0), (4, 4, 4, 1.0)]
)
def test_rank_and_linear_spectrum(n1, n2, r, kappa):
    X = low_rank_target(n1, n2, r, kappa, seed=0)
    assert X.shape == (n1, n2)
    sigma = np.linalg.svd(X, compute_uv=False)
    assert np.linalg.matrix_rank(X) == r
    np.testing.assert_allclose(sigma[:r], np.linspace(1, 1 / kappa, r), rtol=0, atol=1e-12)
    np.testing.assert_allclose(sigma[r:], 0, atol=1e-12)
    assert np.linalg.norm(X, 2) == pytest.approx(1.0, abs=1e-12)


def test_linear_spectrum():
    sigma = linear_spectrum(5, 4.0)
    np.testing.assert_allclose(sigma, [1.0, 0.8125, 0.625, 0.4375, 0.25], rtol=0, atol=1e-15)
    assert sigma[0] / sigma[-1] == pytest.approx(4.0)
    np.testing.assert_array_equal(linear_spectrum(1, 3.0), [1.0])


def test_custom_singular_values_sorted_and_kappa_ignored():
    X = low_rank_target(6, 5, 3, kappa=100.0, seed=1, singular_values=[0.5, 3.0, 1.0])
    sigma = np.linalg.svd(X, compute_uv=False)
    np.testing.assert_allclose(sigma[:3], [3.0, 1.0, 0.5], rtol=0, atol=1e-12)
    np.testing.assert_allclose(sigma[3:], 0, atol=1e-12)


def test_custom_singular_values_input_not_modified():
    values = np.array([0.5, 3.0, 1.0])
    low_rank_target(6, 5, 3, seed=1, singular_values=values)
    np.testing.assert_array_equal(values, [0.5, 3.0, 1.0])


def test_target_determinism():
    a = low_rank_target(7, 5, 2, 3.0, seed=4)
    b = low_rank_target(7, 5, 2, 3.0, seed=4)
    c = low_rank_target(7, 5, 2, 3.0, seed=5)
    assert np.array_equal(a, b)
    assert not np.allclose(a, c)


# Initialization ------------------------------------------------------------------------


def test_init_shapes():
    U0, V0 = small_random_init(7, 5, 3, 1e-3, seed=0)
    assert U0.shape == (7, 3) and V0.shape == (5, 3)
    assert U0.dtype == V0.dtype == np.float64


def test_init_scale():
    # Entries are i.i.d. N(0, alpha^2 / k). With n = (n1 + n2) k = 35000 entries the sample
    # standard deviation has relative standard deviation ~ 1 / sqrt(2 n) ~ 0.0038, so
    # 6 sd is a 2.3% band; the mean has standard deviation (alpha / sqrt(k)) / sqrt(n).
    n1, n2, k, alpha = 400, 300, 50, 1e-3
    U0, V0 = small_random_init(n1, n2, k, alpha, seed=3)
    entries = np.concatenate([U0.ravel(), V0.ravel()])
    n = entries.size
    target = alpha / np.sqrt(k)
    assert abs(entries.std(ddof=1) / target - 1) < 6 / np.sqrt(2 * (n - 1))
    assert abs(entries.mean()) < 6 * target / np.sqrt(n)


def test_init_scale_is_exactly_linear_in_alpha():
    # Only the scale differs between alphas: same draw G, and doubling alpha is exact.
    U1, V1 = small_random_init(6, 4, 3, 1.0, seed=9)
    U2, V2 = small_random_init(6, 4, 3, 2.0, seed=9)
    np.testing.assert_array_equal(U2, 2 * U1)
    np.testing.assert_array_equal(V2, 2 * V1)


def test_init_determinism():
    a = small_random_init(6, 4, 3, 0.1, seed=2)
    b = small_random_init(6, 4, 3, 0.1, seed=2)
    c = small_random_init(6, 4, 3, 0.1, seed=3)
    assert np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1])
    assert not np.allclose(a[0], c[0]) and not np.allclose(a[1], c[1])


def test_u0_and_v0_are_different_draws():
    U0, V0 = small_random_init(5, 5, 4, 1.0, seed=0)
    assert not np.allclose(U0, V0)
    # Not the same stream restarted either (V0 is not a prefix/shift of U0's entries).
    assert not np.isin(V0.ravel(), U0.ravel()).any()
    # Independent draws: the sample correlation of a larger pair is small (6 / sqrt(n)).
    U0, V0 = small_random_init(200, 200, 20, 1.0, seed=1)
    corr = np.corrcoef(U0.ravel(), V0.ravel())[0, 1]
    assert abs(corr) < 6 / np.sqrt(U0.size)


def test_psd_target_is_exactly_symmetric_psd_with_its_basis():
    X, Q = psd_target(9, 3, 4.0, seed=2, return_basis=True)
    assert np.array_equal(X, X.T)
    np.testing.assert_allclose(Q.T @ Q, np.eye(3), atol=1e-14)
    np.testing.assert_allclose(X, (Q * linear_spectrum(3, 4.0)) @ Q.T, atol=1e-15)
    np.testing.assert_array_equal(psd_target(9, 3, 4.0, seed=2), X)
    with pytest.raises(ValueError, match="r must be an integer >= 1 and <= 9, got 10"):
        psd_target(9, 10, seed=0)
