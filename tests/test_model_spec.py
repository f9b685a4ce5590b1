"""The generative model, pinned by its specification.

Each test restates one line of the section "The random draws, exactly" of the book's page
*Problem and conventions* (book/setup.md, label ``sec-random-draws``) with numpy alone and
compares the package with it: the draws that make the operators, the target and the
initialization, and the rule by which an experiment splits its seed. Where the page gives an
exact formula the comparison is bit for bit; distributional statements (variance 1/m, Haar
factors) are checked on large samples with bounds of several standard deviations.
A change of any of these is a change of every number the book reports.
"""

from __future__ import annotations

import numpy as np
import pytest

from matrix_sensing import (
    EntrySampling,
    GaussianSensing,
    RankOneSensing,
    linear_spectrum,
    low_rank_target,
    small_random_init,
)
from matrix_sensing.experiments import sensing_problem, small_vs_large_init, spawn_seeds
from matrix_sensing.initialization import unequal_scale_init

SEEDS = [0, 7, 2**40 + 3]


def normals(seed: int, *shapes):
    """Consecutive ``standard_normal`` draws of ``numpy.random.default_rng(seed)``."""
    rng = np.random.default_rng(seed)
    return [rng.standard_normal(shape) for shape in shapes]


def haar(G: np.ndarray) -> np.ndarray:
    """Orthonormal factor of the reduced QR of ``G``, columns signed by diag(T) (the page)."""
    Q, T = np.linalg.qr(G)
    return Q * np.sign(np.diag(T))


def spec_target(n1, n2, r, kappa, seed):
    G_L, G_R = normals(seed, (n1, r), (n2, r))
    sigma = np.linspace(1, 1 / kappa, r)
    return (haar(G_L) * sigma) @ haar(G_R).T


def spec_seeds(seed: int, count: int) -> list[int]:
    return [int(c.generate_state(1)[0]) for c in np.random.SeedSequence(seed).spawn(count)]


# The generator itself ---------------------------------------------------------------------


def test_the_generator_is_numpys_pcg64_stream():
    # Every draw below comes from this stream; a numpy release that changed it would move
    # every number of the book (the golden values would say so too).
    np.testing.assert_array_equal(
        np.random.default_rng(0).standard_normal(3),
        [0.1257302210933933, -0.1321048632913019, 0.6404226504432821],
    )


# Measurements -----------------------------------------------------------------------------


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize(("m", "shape"), [(1, (1, 1)), (7, (3, 5)), (56, (4, 3))])
def test_gaussian_sensing_is_standard_normals_over_sqrt_m(m, shape, seed):
    (Z,) = normals(seed, (m, shape[0] * shape[1]))
    op = GaussianSensing(m, shape, seed)
    # Stored as Z times the float64 number 1/sqrt(m): bit for bit.
    np.testing.assert_array_equal(op.matrix, Z * (1 / np.sqrt(m)))
    # A_i is row i of Z / sqrt(m) in row-major order: (A_i)_{jl} = Z[i, j n2 + l] / sqrt(m).
    np.testing.assert_allclose(op.array, Z.reshape(m, *shape) / np.sqrt(m), rtol=2**-52, atol=0)
    X = np.arange(shape[0] * shape[1], dtype=float).reshape(shape) - 2.0
    w = np.linspace(-1.0, 2.0, m)
    np.testing.assert_allclose(op(X), [np.sum(A * X) for A in op.array], rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(
        op.adjoint(w), np.einsum("i,ijl->jl", w, op.array), rtol=1e-12, atol=1e-12
    )


def test_gaussian_entries_have_variance_one_over_m():
    m, shape = 560, (40, 30)
    entries = GaussianSensing(m, shape, seed=3).matrix.ravel()
    count = entries.size  # 672 000: the sample variance has relative sd sqrt(2/count) = 0.0017
    assert abs(entries.mean()) * np.sqrt(m * count) < 5
    assert abs(entries.var() * m - 1) < 5 * np.sqrt(2 / count)


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize(("m", "shape"), [(5, (3, 4)), (3000, (40, 30))])
def test_rank_one_sensing_is_two_consecutive_normal_draws(m, shape, seed):
    # m = 3000 exceeds the row blocks in which the draws are made: still one stream.
    a, b = normals(seed, (m, shape[0]), (m, shape[1]))
    op = RankOneSensing(m, shape, seed)
    np.testing.assert_array_equal(op.a, a)
    np.testing.assert_array_equal(op.b, b)
    assert op.scale == 1 / np.sqrt(m)
    X = np.linspace(-1.0, 1.0, shape[0] * shape[1]).reshape(shape)
    expected = np.einsum("ij,jl,il->i", a, X, b) / np.sqrt(m)  # a_i^T X b_i / sqrt(m)
    np.testing.assert_allclose(op(X), expected, rtol=1e-12, atol=1e-12)
    w = np.linspace(-1.0, 2.0, m)
    np.testing.assert_allclose(
        op.adjoint(w), np.einsum("i,ij,il->jl", w, a, b) / np.sqrt(m), rtol=1e-12, atol=1e-12
    )


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("replace", [False, True])
def test_entry_sampling_draws_sorted_flat_indices(seed, replace):
    n1, n2, m = 6, 5, 17
    rng = np.random.default_rng(seed)
    flat = rng.integers(0, n1 * n2, size=m) if replace else rng.choice(n1 * n2, m, replace=False)
    rows, cols = np.divmod(np.sort(flat), n2)
    op = EntrySampling((n1, n2), m, seed=seed, replace=replace)
    np.testing.assert_array_equal(op.rows, rows)
    np.testing.assert_array_equal(op.cols, cols)
    assert op.scale == np.sqrt(n1 * n2 / m)
    X = np.arange(n1 * n2, dtype=float).reshape(n1, n2)
    np.testing.assert_array_equal(op(X), np.sqrt(n1 * n2 / m) * X[rows, cols])
    w = np.linspace(-1.0, 2.0, m)
    adjoint = np.zeros((n1, n2))
    np.add.at(adjoint, (rows, cols), np.sqrt(n1 * n2 / m) * w)  # repeats add up
    np.testing.assert_allclose(op.adjoint(w), adjoint, rtol=1e-15, atol=0)


@pytest.mark.parametrize(("fraction", "m"), [(0.5, 15), (0.01, 1), (1.0, 30), (0.25, 8)])
def test_entry_sampling_fraction_gives_rounded_count(fraction, m):
    # m = max(1, round(p n1 n2)); round() of Python rounds half to even (7.5 -> 8).
    op = EntrySampling((6, 5), fraction=fraction, seed=0)
    assert op.m == m
    assert EntrySampling((6, 5), m, seed=0).rows.tolist() == op.rows.tolist()


# The target -----------------------------------------------------------------------------


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize(("n1", "n2", "r", "kappa"), [(40, 30, 2, 2.0), (7, 9, 3, 5.0)])
def test_low_rank_target_is_the_documented_product(n1, n2, r, kappa, seed):
    X = low_rank_target(n1, n2, r, kappa, seed=seed)
    np.testing.assert_array_equal(X, spec_target(n1, n2, r, kappa, seed))
    sigma = np.linalg.svd(X, compute_uv=False)
    np.testing.assert_allclose(sigma[:r], np.linspace(1, 1 / kappa, r), rtol=1e-13, atol=0)
    assert np.all(sigma[r:] < 1e-14)
    assert np.linalg.norm(X, 2) == pytest.approx(1.0, abs=1e-14)
    assert np.linalg.norm(X) == pytest.approx(np.sqrt(np.sum(np.linspace(1, 1 / kappa, r) ** 2)))
    np.testing.assert_array_equal(linear_spectrum(r, kappa), np.linspace(1, 1 / kappa, r))


def test_target_singular_vectors_are_haar_distributed():
    # The left singular vector of rank-1 targets is uniform on the sphere: its squared
    # entries average 1/n with variance (n - 1) * 2 / (n^2 (n + 2)) each.
    n, draws = 10, 2000
    squares = np.array(
        [np.linalg.svd(low_rank_target(n, 3, 1, seed=s))[0][:, 0] ** 2 for s in range(draws)]
    )
    sd = np.sqrt(2 * (n - 1) / (n**2 * (n + 2)) / draws)
    assert np.all(np.abs(squares.mean(axis=0) - 1 / n) < 5 * sd)


# The initialization ---------------------------------------------------------------------


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize(("n1", "n2", "k", "alpha"), [(40, 30, 40, 1e-6), (3, 5, 2, 0.7)])
def test_small_random_init_is_alpha_over_sqrt_k_times_normals(n1, n2, k, alpha, seed):
    G_U, G_V = normals(seed, (n1, k), (n2, k))
    U0, V0 = small_random_init(n1, n2, k, alpha, seed=seed)
    np.testing.assert_array_equal(U0, (alpha / np.sqrt(k)) * G_U)
    np.testing.assert_array_equal(V0, (alpha / np.sqrt(k)) * G_V)
    U1, V1 = unequal_scale_init(n1, n2, k, alpha, 3.0, seed=seed)
    np.testing.assert_array_equal(U1, U0)
    np.testing.assert_array_equal(V1, V0 / 3.0)


def test_init_entries_are_normal_with_variance_alpha_squared_over_k():
    n1, n2, k, alpha = 400, 300, 50, 1e-3
    U0, V0 = small_random_init(n1, n2, k, alpha, seed=11)
    for G in (U0 / alpha, V0 / alpha):
        assert abs(G.mean()) * np.sqrt(k * G.size) < 5
        assert abs(G.var() * k - 1) < 5 * np.sqrt(2 / G.size)


# Seeds ------------------------------------------------------------------------------------


def test_spawn_seeds_are_the_first_words_of_spawned_seed_sequences():
    for seed in SEEDS:
        for count in (0, 1, 2, 4):
            assert spawn_seeds(seed, count) == spec_seeds(seed, count)
    assert spawn_seeds(0, 2) == [3757552657, 673228719]  # pinned: numpy's SeedSequence
    assert spawn_seeds(0, 4)[:2] == spawn_seeds(0, 2)  # more children extend the list


@pytest.mark.parametrize("seed", [0, 4])
def test_sensing_problem_splits_its_seed_into_target_and_operator(seed):
    n1, n2, r, kappa, m = 8, 6, 2, 2.0, 30
    X, op, y = sensing_problem(n1, n2, r, kappa, m, seed=seed)
    target_seed, operator_seed = spec_seeds(seed, 2)
    np.testing.assert_array_equal(X, spec_target(n1, n2, r, kappa, target_seed))
    (Z,) = normals(operator_seed, (m, n1 * n2))
    np.testing.assert_array_equal(op.matrix, Z * (1 / np.sqrt(m)))
    np.testing.assert_allclose(y, Z @ X.ravel() / np.sqrt(m), rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("seed", [0, 3])
def test_experiment_splits_its_seed_into_problem_and_initialization(seed):
    # M1, M2 and M9 (small_vs_large_init), stopped at iteration 0 so that U, V are U0, V0.
    n1, n2, r, kappa, m, k = 8, 6, 2, 2.0, 30, 5
    run = small_vs_large_init(
        n1=n1,
        n2=n2,
        r=r,
        kappa=kappa,
        m=m,
        k=k,
        alpha_small=1e-6,
        alpha_large=1.0,
        step_small=0.25,
        step_large=0.1,
        iters_small=0,
        iters_large=0,
        seed=seed,
    )
    problem_seed, init_seed = spec_seeds(seed, 2)
    target_seed, _ = spec_seeds(problem_seed, 2)
    np.testing.assert_array_equal(run.truth, spec_target(n1, n2, r, kappa, target_seed))
    G_U, G_V = normals(init_seed, (n1, k), (n2, k))
    for name, alpha in (("small", 1e-6), ("large", 1.0)):
        np.testing.assert_array_equal(run.results[name].U, (alpha / np.sqrt(k)) * G_U)
        np.testing.assert_array_equal(run.results[name].V, (alpha / np.sqrt(k)) * G_V)
