"""Factored operators (rank-one sensing, entry sampling): every fast path against a dense
reference built independently from the stored draws, adjointness, normalisation, input
errors, determinism, and recovery by factorized gradient descent."""

import numpy as np
import pytest

from matrix_sensing import factorized_gd, small_random_init
from matrix_sensing.operators import EntrySampling, RankOneSensing

SHAPE = (7, 5)


def dense(op) -> np.ndarray:
    """The measurement matrices (m, n1, n2), built from the operator's stored draws."""
    if isinstance(op, RankOneSensing):
        return op.scale * np.einsum("ij,ik->ijk", op.a.astype(float), op.b.astype(float))
    A = np.zeros((op.m, *op.shape))
    A[np.arange(op.m), op.rows, op.cols] = op.scale
    return A


OPERATORS = {
    "rank-one": lambda: RankOneSensing(40, SHAPE, seed=3),
    # Stored in float32; float64 solves use a float64 copy of the rounded draws.
    "rank-one-float32": lambda: RankOneSensing(40, SHAPE, seed=3, dtype=np.float32),
    "completion": lambda: EntrySampling(SHAPE, m=20, seed=3),
    # 3 n1 n2 draws with replacement: repeated entries are certain.
    "completion-replace": lambda: EntrySampling(SHAPE, m=105, seed=3, replace=True),
}


@pytest.fixture(params=list(OPERATORS))
def op(request):
    return OPERATORS[request.param]()


def random(rng, *shape):
    return rng.standard_normal(shape)


def test_maps_match_dense_reference(op):
    rng = np.random.default_rng(0)
    A = dense(op)
    L, R, z = random(rng, SHAPE[0], 2), random(rng, SHAPE[1], 2), random(rng, op.m)
    Z = L @ R.T
    expected = np.einsum("ijk,jk->i", A, Z)
    np.testing.assert_allclose(op(Z), expected, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(op.measure(L, R), expected, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(op.adjoint(z), np.einsum("i,ijk->jk", z, A), atol=1e-12)
    stack, zs = random(rng, 3, *SHAPE), random(rng, 3, op.m)
    np.testing.assert_allclose(op(stack), np.stack([op(x) for x in stack]), atol=1e-12)
    np.testing.assert_allclose(op.adjoint(zs), np.stack([op.adjoint(x) for x in zs]), atol=1e-12)


def test_adjointness(op):
    rng = np.random.default_rng(1)
    Z, z = random(rng, *SHAPE), random(rng, op.m)
    assert np.isclose(op(Z) @ z, np.sum(Z * op.adjoint(z)), rtol=1e-12)


def reference_gradients(op, U, V, y):
    A = dense(op)
    residual = np.einsum("ijk,jk->i", A, U @ V.T) - y
    E = np.einsum("i,ijk->jk", residual, A)
    return residual, E @ V, E.T @ U


def test_residual_and_gradients_match_dense_reference(op):
    rng = np.random.default_rng(2)
    U, V, y = random(rng, SHAPE[0], 3), random(rng, SHAPE[1], 3), random(rng, op.m)
    copies = U.copy(), V.copy(), y.copy()
    got = op.residual_and_gradients(U, V, y)
    for name, a, b in zip(
        ("residual", "grad_U", "grad_V"), got, reference_gradients(op, U, V, y), strict=True
    ):
        assert a.shape == b.shape and a.dtype == np.float64, name
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12, err_msg=name)
    for before, after in zip(copies, (U, V, y), strict=True):
        np.testing.assert_array_equal(before, after)  # inputs untouched


def test_batched_equals_separate_runs(op):
    rng = np.random.default_rng(3)
    U, V, y = random(rng, 4, SHAPE[0], 3), random(rng, 4, SHAPE[1], 3), random(rng, op.m)
    residual, grad_U, grad_V = op.residual_and_gradients(U, V, y)
    assert residual.shape == (4, op.m) and grad_U.shape == U.shape and grad_V.shape == V.shape
    for b in range(4):
        for got, alone in zip(
            (residual, grad_U, grad_V), op.residual_and_gradients(U[b], V[b], y), strict=True
        ):
            np.testing.assert_allclose(got[b], alone, rtol=1e-12, atol=1e-14)


def test_float32_in_float32_out(op):
    rng = np.random.default_rng(4)
    U, V, y = random(rng, SHAPE[0], 3), random(rng, SHAPE[1], 3), random(rng, op.m)
    single = op.residual_and_gradients(*(x.astype(np.float32) for x in (U, V, y)))
    for got, want in zip(single, reference_gradients(op, U, V, y), strict=True):
        assert got.dtype == np.float32
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4 * np.abs(want).max())


def test_float32_storage_is_the_float64_draw_rounded():
    op64 = RankOneSensing(30, SHAPE, seed=5)
    op32 = RankOneSensing(30, SHAPE, seed=5, dtype=np.float32)
    assert op32.dtype == np.float32 and op32.nbytes == op64.nbytes // 2
    np.testing.assert_array_equal(op32.a, op64.a.astype(np.float32))
    np.testing.assert_array_equal(op32.b, op64.b.astype(np.float32))


@pytest.mark.parametrize(
    "make",
    [
        lambda seed: RankOneSensing(50, SHAPE, seed=seed),
        lambda seed: EntrySampling(SHAPE, m=12, seed=seed),
        lambda seed: EntrySampling(SHAPE, m=12, seed=seed, replace=True),
    ],
    ids=["rank-one", "completion", "completion-replace"],
)
def test_isotropic_on_average(make):
    """E[A*A] = Id: the mean of ||A(Z)||^2 over operators is ||Z||^2. 200 draws give a
    standard error of at most ~0.03 ||Z||^2 here; the tolerance is 0.15 (five of them)."""
    Z = np.random.default_rng(6).standard_normal(SHAPE)
    energies = [np.sum(make(seed)(Z) ** 2) for seed in range(200)]
    assert np.mean(energies) == pytest.approx(np.sum(Z**2), rel=0.15)


def test_observing_every_entry_is_the_identity():
    op = EntrySampling(SHAPE, fraction=1.0, seed=0)
    Z = np.random.default_rng(7).standard_normal(SHAPE)
    assert op.m == 35 and op.scale == 1.0
    np.testing.assert_array_equal(op.adjoint(op(Z)), Z)


def test_fraction_sets_m():
    assert EntrySampling((40, 50), fraction=0.1, seed=0).m == 200
    assert EntrySampling((40, 50), fraction=1e-9, seed=0).m == 1


def test_same_seed_same_operator():
    for make in (
        lambda seed: RankOneSensing(20, SHAPE, seed=seed),
        lambda seed: EntrySampling(SHAPE, m=10, seed=seed),
    ):
        first, again, other = make(11), make(11), make(12)
        for name in ("a", "b") if hasattr(first, "a") else ("rows", "cols"):
            np.testing.assert_array_equal(getattr(first, name), getattr(again, name))
            assert not np.array_equal(getattr(first, name), getattr(other, name))


def test_entries_are_distinct_without_replacement():
    op = EntrySampling((6, 6), m=36, seed=1)
    assert len(set(zip(op.rows.tolist(), op.cols.tolist(), strict=True))) == 36


@pytest.mark.parametrize(
    ("make", "error", "message"),
    [
        (lambda: RankOneSensing(0, SHAPE, seed=0), ValueError, "m must be an integer >= 1, got 0"),
        (lambda: RankOneSensing(5, (3,), seed=0), ValueError, "shape must be a pair (n1, n2)"),
        (lambda: RankOneSensing(5, (0, 3), seed=0), ValueError, "n1 must be an integer >= 1"),
        (lambda: RankOneSensing(5, SHAPE, seed=-1), ValueError, "seed must be an integer >= 0"),
        (lambda: RankOneSensing(5, SHAPE, seed=0, dtype=int), ValueError, "dtype must be"),
        (lambda: RankOneSensing(10**6, (10**3, 1), seed=0), ValueError, "a would have m=1000000"),
        (lambda: EntrySampling(SHAPE, seed=0), ValueError, "give exactly one of m and fraction"),
        (lambda: EntrySampling(SHAPE, 3, fraction=0.5, seed=0), ValueError, "exactly one"),
        (
            lambda: EntrySampling(SHAPE, fraction=0, seed=0),
            ValueError,
            "fraction must be > 0 and <= 1, got 0",
        ),
        (
            lambda: EntrySampling(SHAPE, fraction=1.5, seed=0),
            ValueError,
            "fraction must be > 0 and <= 1, got 1.5",
        ),
        (
            lambda: EntrySampling(SHAPE, m=36, seed=0),
            ValueError,
            "m must be an integer >= 1 and <= n1*n2 = 35",
        ),
        (lambda: EntrySampling(SHAPE, m=0, seed=0), ValueError, "m must be an integer >= 1, got 0"),
        (lambda: EntrySampling(SHAPE, m=2.5, seed=0), TypeError, "m must be an integer"),
        (lambda: EntrySampling(SHAPE, m=3, seed=0, replace="yes"), TypeError, "replace must be"),
        (lambda: EntrySampling(SHAPE, m=3, seed=None), TypeError, "seed must be an integer"),
    ],
)
def test_bad_inputs(make, error, message):
    with pytest.raises(error) as info:
        make()
    assert message in str(info.value)


def test_bad_map_inputs(op):
    with pytest.raises(ValueError, match=r"Z must have shape \(7, 5\)"):
        op(np.zeros((5, 7)))
    with pytest.raises(ValueError, match="R must have shape"):
        op.measure(np.zeros((7, 2)), np.zeros((5, 3)))
    with pytest.raises(ValueError, match=rf"z must have shape \({op.m},\)"):
        op.adjoint(np.zeros(op.m + 1))


@pytest.mark.parametrize(
    "op",
    [RankOneSensing(5, (10**5, 10**5), seed=0), EntrySampling((10**5, 10**5), m=50, seed=0)],
    ids=["rank-one", "completion"],
)
def test_huge_shape_never_forms_the_matrix(op):
    """At n1 = n2 = 1e5 an n1 x n2 float64 array would take 80 GB: the solver path (and the
    test error from factors) must get by with the factors."""
    n1, n2 = op.shape
    rng = np.random.default_rng(8)
    L, R = rng.standard_normal((n1, 1)) / 300, rng.standard_normal((n2, 1)) / 300
    U0, V0 = small_random_init(n1, n2, 2, 1e-3, seed=0)
    # A tiny step: rank-one gradients scale with ||a_i|| ||b_i|| ~ 1e5 at this size.
    result = factorized_gd(op, op.measure(L, R), U0, V0, 1e-9, 3, truth=(L, R))
    assert np.all(np.isfinite(result.history["train_loss"]))
    with pytest.raises(ValueError, match="A\\*\\(z\\) would have n1=100000 \\* n2=100000"):
        op.adjoint(np.zeros(op.m))


# Calibrated on 10-12 operator seeds at alpha = 1e-6, 800 iterations: the final test error
# was at most 1.2e-4 (rank-one) and 6.6e-4 (completion, which needs the larger shape and
# half the entries to be reliable), against the threshold 1e-2.
RECOVERY = {
    "rank-one": lambda: RankOneSensing(160, (12, 10), seed=1),
    "completion": lambda: EntrySampling((30, 24), fraction=0.5, seed=1),
}


@pytest.mark.parametrize("name", list(RECOVERY))
def test_gd_from_small_init_recovers_rank_two(name):
    op = RECOVERY[name]()
    (n1, n2), r, k = op.shape, 2, 4
    rng = np.random.default_rng(9)
    L = np.linalg.qr(rng.standard_normal((n1, r)))[0] * [1.0, 0.6]
    R = np.linalg.qr(rng.standard_normal((n2, r)))[0]
    y = op.measure(L, R)
    U0, V0 = small_random_init(n1, n2, k, 1e-6, seed=2)
    result = factorized_gd(op, y, U0, V0, 0.3, 800, truth=(L, R), record_every=100)
    assert result.history["test_error"][-1] < 1e-2
    # The test error from factors agrees with the dense one.
    dense_error = np.linalg.norm(result.product - L @ R.T) / np.linalg.norm(L @ R.T)
    assert result.history["test_error"][-1] == pytest.approx(dense_error, rel=1e-8)


@pytest.mark.parametrize("name", list(RECOVERY))
def test_gd_batch_equals_single_runs(name):
    op = RECOVERY[name]()
    (n1, n2), k = op.shape, 3
    rng = np.random.default_rng(10)
    y = op.measure(*(rng.standard_normal((n, 2)) / np.sqrt(n) for n in (n1, n2)))
    inits = [small_random_init(n1, n2, k, alpha, seed=s) for s, alpha in enumerate([1e-3, 1e-2])]
    batch = factorized_gd(
        op, y, np.stack([u for u, _ in inits]), np.stack([v for _, v in inits]), 0.1, 50
    )
    for (U0, V0), got in zip(inits, batch, strict=True):
        alone = factorized_gd(op, y, U0, V0, 0.1, 50)
        np.testing.assert_allclose(got.U, alone.U, rtol=1e-12, atol=1e-15)
        np.testing.assert_allclose(got.V, alone.V, rtol=1e-12, atol=1e-15)
