"""Fast paths of the solver agree with the reference: the fused one-pass residual and
gradients, batched runs, factor-pair truth and float32; plus their input errors."""

from __future__ import annotations

import tracemalloc

import numpy as np
import pytest
from _numerics import rel_diff

import matrix_sensing as ms
from matrix_sensing.experiments.alpha_scaling import final_errors
from matrix_sensing.operators import TwoPassGradients, batch, compiled
from matrix_sensing.operators.compiled import CompiledRuns


def reference(op, U, V, y):
    """Residual and gradients by the plain path: forward map, then adjoint."""
    residual = op.forward_unchecked(U @ V.T) - y
    E = op.adjoint_unchecked(residual)
    return residual, E @ V, E.T @ U


@pytest.fixture
def escaping_problem():
    """CI-like but small: rank 2, width 6, moderate α, so a run escapes within 200 steps."""
    n1, n2, r, m, k = 8, 6, 2, 120, 6
    truth = ms.low_rank_target(n1, n2, r, kappa=2.0, seed=0)
    op = ms.GaussianSensing(m, (n1, n2), seed=1)
    return op, op(truth), truth, k


def stacked_init(n1, n2, k, alphas, seed=2):
    pairs = [ms.small_random_init(n1, n2, k, a, seed=seed) for a in alphas]
    return np.stack([p[0] for p in pairs]), np.stack([p[1] for p in pairs])


# fused residual and gradients ------------------------------------------------------------


@pytest.mark.parametrize(
    ("n1", "n2", "m", "k", "runs"),
    [
        (5, 4, 30, 3, 3),  # a batch padded with one zero run
        (5, 4, 30, 3, 1),  # a stack of one is a single run
        (40, 30, 560, 40, 8),  # CI size, two tiles of four runs
        (7, 9, 1001, 2, 6),  # m not a multiple of 4, a padded second tile
        (3, 3, 2, 1, 5),  # fewer rows than a group of four
    ],
)
def test_fused_matches_forward_then_adjoint(monkeypatch, n1, n2, m, k, runs):
    op = ms.GaussianSensing(m, (n1, n2), seed=0)
    rng = np.random.default_rng(1)
    U, V = rng.standard_normal((runs, n1, k)), rng.standard_normal((runs, n2, k))
    y = rng.standard_normal(m)
    before = [a.copy() for a in (U, V, y, op.matrix)]

    for b in range(runs):
        fused = op.residual_and_gradients(U[b], V[b], y)
        for got, want in zip(fused, reference(op, U[b], V[b], y), strict=True):
            assert got.shape == want.shape and got.dtype == np.float64
            assert rel_diff(got, want) < 1e-12
    for min_runs in (1, runs + 1):  # the batch kernel, then a loop of single runs
        monkeypatch.setattr(compiled, "BATCH_MIN_RUNS", min_runs)
        batch = op.residual_and_gradients(U, V, y)
        assert [a.shape for a in batch] == [(runs, m), (runs, n1, k), (runs, n2, k)]
        for b in range(runs):
            for got, want in zip(batch, reference(op, U[b], V[b], y), strict=True):
                assert rel_diff(got[b], want) < 1e-12
    for original, now in zip(before, (U, V, y, op.matrix), strict=True):
        np.testing.assert_array_equal(original, now)


def check_kernel(kernel, A, X, y, dtype):
    """``kernel(A, X, y, R, G)`` in ``dtype`` against ``R = X A^T - y``, ``G = R A`` (X of
    shape (n,) for one run or (B, n)), and bit for bit against itself; returns tolerance."""
    R = np.full(X.shape[:-1] + A.shape[:1], np.nan, dtype=dtype)
    G = np.full(X.shape, np.nan, dtype=dtype)
    kernel(*(a.astype(dtype) for a in (A, X, y)), R, G)
    want_R = X @ A.T - y
    tol = 1e-13 if dtype == np.float64 else 1e-5
    assert R.dtype == G.dtype == dtype
    assert rel_diff(R, want_R) < tol
    assert rel_diff(G, want_R @ A) < tol
    again = np.empty_like(R), np.empty_like(G)
    kernel(*(a.astype(dtype) for a in (A, X, y)), *again)
    np.testing.assert_array_equal(again[0], R)  # deterministic, bit for bit
    np.testing.assert_array_equal(again[1], G)
    return tol


@pytest.mark.parametrize("m", [*range(1, 10), 31])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_compiled_batch_kernel_matches_plain_numpy(m, dtype):
    """The 4x4 tiles for every remainder m % 4, fewer rows than a tile, two run tiles."""
    from matrix_sensing.operators.kernels import fused_residual_adjoint_batch

    rng = np.random.default_rng(m)
    n, runs = 37, 8
    A, X, y = rng.standard_normal((m, n)), rng.standard_normal((runs, n)), rng.standard_normal(m)
    tol = check_kernel(fused_residual_adjoint_batch, A, X, y, dtype)
    for b in range(runs):  # each run's rows use only its own data (no mixing across a tile)
        X4 = np.zeros((4, n))
        X4[0] = X[b]
        want = X[b] @ A.T - y
        R, G = np.full((4, m), np.nan, dtype=dtype), np.full((4, n), np.nan, dtype=dtype)
        fused_residual_adjoint_batch(*(a.astype(dtype) for a in (A, X4, y)), R, G)
        assert rel_diff(R[0], want) < tol
        assert rel_diff(G[0], want @ A) < tol


def runs_kernel(A, X, y, R, G):
    """The run-minor batch kernel with the (B, n) / (B, m) layout of :func:`check_kernel`."""
    from matrix_sensing.operators.batch import LANES, fused_residual_adjoint_runs, pack, unpack

    P = -(-X.shape[0] // LANES) * LANES
    Xt, Rt, Gt = (np.full(size * P, np.nan, dtype=X.dtype) for size in (X.shape[1], *A.shape))
    pack(X, P, Xt)
    fused_residual_adjoint_runs(A, Xt, y, Rt, Gt, P)
    unpack(Rt, P, R)
    unpack(Gt, P, G)


@pytest.mark.parametrize("m", [*range(1, 18), 31])
@pytest.mark.parametrize(("n", "runs"), [(37, 8), (36, 5), (5, 16)])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_run_minor_batch_kernel_matches_plain_numpy(m, n, runs, dtype):
    """The groups of eight rows for every remainder m % 8, fewer rows than a group, an odd
    and an even number of columns, one and two blocks of lanes, runs padded to a block."""
    rng = np.random.default_rng(m)
    A, X, y = rng.standard_normal((m, n)), rng.standard_normal((runs, n)), rng.standard_normal(m)
    tol = check_kernel(runs_kernel, A, X, y, dtype)
    for b in range(runs):  # each run's lanes use only its own data (no mixing across lanes)
        alone = np.zeros((runs, n))
        alone[b] = X[b]
        want = X[b] @ A.T - y
        R, G = np.full((runs, m), np.nan, dtype=dtype), np.full((runs, n), np.nan, dtype=dtype)
        runs_kernel(*(a.astype(dtype) for a in (A, alone, y)), R, G)
        assert rel_diff(R[b], want) < tol
        assert rel_diff(G[b], want @ A) < tol


@pytest.mark.parametrize("m", [*range(1, 10), 31, 64])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_compiled_kernel_matches_plain_numpy(m, dtype):
    """The grouped kernel for every remainder m % 4, fewer rows than a group, one group."""
    from matrix_sensing.operators.kernels import fused_residual_adjoint

    rng = np.random.default_rng(m)
    n = 37  # not a multiple of any vector width
    A, x, y = rng.standard_normal((m, n)), rng.standard_normal(n), rng.standard_normal(m)
    check_kernel(fused_residual_adjoint, A, x, y, dtype)


@pytest.mark.parametrize("stored", [np.float64, np.float32])
def test_fused_float32_computes_in_float32(stored):
    op = ms.GaussianSensing(300, (10, 12), seed=0)
    if stored == np.float32:
        op = op.astype(np.float32)
    rng = np.random.default_rng(1)
    U, V, y = rng.standard_normal((10, 3)), rng.standard_normal((12, 3)), rng.standard_normal(300)
    got = op.residual_and_gradients(U.astype(np.float32), V.astype(np.float32), y)
    for g, want in zip(got, reference(op, U, V, y), strict=True):
        assert g.dtype == np.float32
        assert rel_diff(g, want) < 1e-5  # float32 rounding of A, U, V and the sums
    assert op.matrix.dtype == stored  # a float32 copy of a float64 array is kept on the side


def test_float64_path_makes_no_copy_of_the_array():
    op = ms.GaussianSensing(400, (40, 40), seed=0)  # A: 5.1 MB
    U0, V0 = ms.small_random_init(40, 40, 5, 0.1, seed=1)
    y = np.zeros(op.m)
    assert op.matrix_as(np.dtype(np.float64)) is op.matrix
    ms.factorized_gd(op, y, np.stack([U0] * 4), np.stack([V0] * 4), 0.1, 1)  # warm-up:
    tracemalloc.start()  # imports, and the batch kernels' compiled code loaded from disk
    ms.factorized_gd(op, y, np.stack([U0] * 4), np.stack([V0] * 4), 0.1, 5)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 0.1 * op.matrix.nbytes


def test_astype():
    op = ms.GaussianSensing(50, (4, 3), seed=0)
    assert op.astype(np.float64) is op
    single = op.astype("float32")
    assert single.matrix.dtype == np.float32 and single.shape == op.shape and single.m == op.m
    np.testing.assert_array_equal(single.matrix, op.matrix.astype(np.float32))
    with pytest.raises(ValueError, match=r"^dtype must be numpy.float64 or numpy.float32"):
        op.astype(np.int64)


# batched runs ----------------------------------------------------------------------------


def assert_same_run(batched: ms.GDResult, alone: ms.GDResult, tol: float = 1e-12):
    assert batched.step == alone.step and batched.iters == alone.iters
    assert rel_diff(batched.U, alone.U) < tol
    assert rel_diff(batched.V, alone.V) < tol
    assert batched.history.keys() == alone.history.keys()
    for key, values in alone.history.items():
        assert batched.history[key].shape == values.shape, key
        if key == "imbalance":
            # ||U^T U - V^T V|| cancels O(||U||^2) terms: its rounding is absolute.
            scale = max(np.linalg.norm(alone.U, 2), np.linalg.norm(alone.V, 2)) ** 2
            assert np.max(np.abs(batched.history[key] - values)) < tol * scale
        else:
            assert rel_diff(batched.history[key], values) < tol, key


@pytest.mark.parametrize("balance_weight", [0.0, 0.5])
@pytest.mark.parametrize("runs", [4, 7, 13])  # tiles; run-minor in one and two vectors
def test_batch_equals_separate_runs(escaping_problem, balance_weight, runs):
    op, y, truth, k = escaping_problem
    alphas = [1e-1, 1e-3, 1e-6, 1e-3, 1e-2, 1e-4, 1e-5] * 2
    steps = [0.25, 0.25, 0.2, 0.1, 0.25, 0.2, 0.15] * 2
    alphas, steps = alphas[:runs], steps[:runs]
    U0, V0 = stacked_init(*op.shape, k, alphas)
    hook = {"sum_U": lambda U, V: float(np.sum(U))}
    kwargs = dict(truth=truth, record_every=7, metrics=hook, balance_weight=balance_weight)
    batch = ms.factorized_gd(op, y, U0, V0, steps, 200, **kwargs)
    assert isinstance(batch, list) and len(batch) == len(alphas)
    for b, result in enumerate(batch):
        alone = ms.factorized_gd(op, y, U0[b], V0[b], steps[b], 200, **kwargs)
        assert_same_run(result, alone)
    # The runs moved: the comparison is over the escape, not near the initialization.
    assert batch[1].history["test_error"][-1] < 0.01


def test_batch_of_one_and_scalar_step(escaping_problem):
    op, y, truth, k = escaping_problem
    U0, V0 = stacked_init(*op.shape, k, [1e-3, 1e-4])
    batch = ms.factorized_gd(op, y, U0, V0, 0.25, 50, truth=truth)
    assert [r.step for r in batch] == [0.25, 0.25]
    (one,) = ms.factorized_gd(op, y, U0[1:], V0[1:], [0.25], 50, truth=truth)
    assert_same_run(one, batch[1])


def test_zero_padded_width_follows_the_narrow_run(escaping_problem):
    # Zero columns of U and V get zero gradient columns (E v_j = 0 and E^T u_j = 0), so
    # they stay exactly zero and the padded run is the narrow run up to rounding.
    op, y, truth, k = escaping_problem
    U0, V0 = ms.small_random_init(*op.shape, 3, 1e-3, seed=5)
    padded_U, padded_V = np.zeros((op.shape[0], k)), np.zeros((op.shape[1], k))
    padded_U[:, :3], padded_V[:, :3] = U0, V0
    narrow = ms.factorized_gd(op, y, U0, V0, 0.25, 150, truth=truth)
    padded = ms.factorized_gd(op, y, padded_U, padded_V, 0.25, 150, truth=truth)
    assert np.all(padded.U[:, 3:] == 0) and np.all(padded.V[:, 3:] == 0)
    padded.U, padded.V = padded.U[:, :3], padded.V[:, :3]
    assert_same_run(padded, narrow)


def test_batch_divergence_names_the_run(escaping_problem):
    op, y, _, k = escaping_problem
    U0, V0 = stacked_init(*op.shape, k, [0.5, 0.5, 0.5])
    with pytest.raises(ms.DivergenceError) as batch_info:
        ms.factorized_gd(op, y, U0, V0, [0.1, 50.0, 0.1], 100)
    with pytest.raises(ms.DivergenceError) as alone_info:
        ms.factorized_gd(op, y, U0[1], V0[1], 50.0, 100)
    err, alone = batch_info.value, alone_info.value
    assert err.run == 1 and alone.run is None
    assert (err.iteration, err.step) == (alone.iteration, 50.0)
    assert str(err).startswith(
        f"gradient descent (run 1 of a batch of 3) diverged at iteration {alone.iteration}: "
    )
    assert "Hint: step=50 is too large" in str(err)


def test_operator_without_fused_path_gives_the_same_runs(escaping_problem):
    op, y, truth, k = escaping_problem

    class TwoPasses(TwoPassGradients):  # only the forward and adjoint maps
        m, shape = op.m, op.shape
        forward_unchecked, adjoint_unchecked = op.forward_unchecked, op.adjoint_unchecked

        def __call__(self, Z):
            return op(Z)

        def adjoint(self, z):
            return op.adjoint(z)

    U0, V0 = stacked_init(*op.shape, k, [1e-2, 1e-4])
    fused = ms.factorized_gd(op, y, U0, V0, 0.25, 80, truth=truth)
    plain = ms.factorized_gd(TwoPasses(), y, U0, V0, 0.25, 80, truth=truth)
    for a, b in zip(fused, plain, strict=True):
        assert_same_run(a, b)


# factor-pair truth -----------------------------------------------------------------------


def test_factor_pair_truth_gives_the_dense_test_error(escaping_problem):
    op, y, truth, k = escaping_problem
    left, s, right_t = np.linalg.svd(truth)
    L, R = left[:, :2] * s[:2], right_t[:2].T  # X = L R^T
    U0, V0 = stacked_init(*op.shape, k, [1e-1, 1e-3])
    dense = ms.factorized_gd(op, y, U0, V0, 0.25, 200, truth=truth, record_every=10)
    pair = ms.factorized_gd(op, y, U0, V0, 0.25, 200, truth=(L, R), record_every=10)
    for a, b in zip(pair, dense, strict=True):
        assert rel_diff(a.history["test_error"], b.history["test_error"]) < 1e-12
    assert dense[1].history["test_error"][-1] < 1e-2  # includes small errors


# compiled runs ---------------------------------------------------------------------------


def python_loop(op):
    """``op`` without its compiled path: runs take the Python loop."""

    class PythonLoop:
        m, shape = op.m, op.shape
        forward_unchecked, adjoint_unchecked = op.forward_unchecked, op.adjoint_unchecked
        residual_and_gradients = op.residual_and_gradients

        def __call__(self, Z):
            return op(Z)

        def adjoint(self, z):
            return op.adjoint(z)

    return PythonLoop()


# One run; a batch padded to a tile of four; a run-minor batch padded to a vector of eight.
@pytest.mark.parametrize("runs", [None, 3, 6])
@pytest.mark.parametrize("record_every", [1, 7])
@pytest.mark.parametrize(("dtype", "tol"), [(np.float64, 1e-12), (np.float32, 1e-5)])
def test_compiled_runs_match_the_python_loop(escaping_problem, runs, record_every, dtype, tol):
    op, y, truth, k = escaping_problem
    if runs is None:
        U0, V0, steps = *ms.small_random_init(*op.shape, k, 1e-3, seed=4), 0.25
    else:
        U0, V0 = stacked_init(*op.shape, k, [1e-3, 1e-2, 1e-4, 1e-3, 1e-2, 1e-4][:runs], seed=4)
        steps = [0.25, 0.2, 0.25, 0.1, 0.25, 0.2][:runs]
    seen = []
    kwargs = dict(
        truth=truth,
        record_every=record_every,
        dtype=dtype,
        metrics={"U": lambda U, V: seen.append(U) or float(np.sum(U))},
    )
    compiled = ms.factorized_gd(op, y, U0, V0, steps, 200, **kwargs)
    plain = ms.factorized_gd(python_loop(op), y, U0, V0, steps, 200, **kwargs)
    if runs is None:
        compiled, plain = [compiled], [plain]
    assert len(seen) == 2 * len(compiled) * len(compiled[0].history["iteration"])
    for b, (fast, slow) in enumerate(zip(compiled, plain, strict=True)):
        # The metric kept references: each is its own iterate, not the running state.
        np.testing.assert_array_equal(seen[b], (U0 if runs is None else U0[b]).astype(dtype))
        assert rel_diff(seen[len(compiled) * (len(fast.history["iteration"]) - 1) + b], fast.U) == 0
        assert fast.U.dtype == slow.U.dtype == dtype
        assert_same_run(fast, slow, tol)
    assert compiled[0].history["test_error"][-1] < 0.01  # over the escape, not near the start


def test_run_minor_and_tiled_batches_give_the_same_runs(escaping_problem, monkeypatch):
    """The same batch of six through the run-minor kernels and through the 4 x 4 tiles."""
    op, y, truth, k = escaping_problem
    U0, V0 = stacked_init(*op.shape, k, [1e-3, 1e-2, 1e-4, 1e-3, 1e-2, 1e-4], seed=4)
    assert batch.run_minor(6)
    run_minor = ms.factorized_gd(op, y, U0, V0, 0.25, 150, truth=truth)
    monkeypatch.setattr(batch, "run_minor", lambda runs: False)
    assert not CompiledRuns(op.matrix, y, U0, V0, np.full(6, 0.25), op.shape)._run_minor
    tiled = ms.factorized_gd(op, y, U0, V0, 0.25, 150, truth=truth)
    for a, b in zip(run_minor, tiled, strict=True):
        assert_same_run(a, b)


def test_compiled_runs_below_the_batch_threshold_go_one_by_one(escaping_problem, monkeypatch):
    op, y, truth, k = escaping_problem
    U0, V0 = stacked_init(*op.shape, k, [1e-3, 1e-2, 1e-4], seed=4)
    batch = ms.factorized_gd(op, y, U0, V0, 0.25, 100, truth=truth)
    monkeypatch.setattr(compiled, "BATCH_MIN_RUNS", 4)
    assert CompiledRuns(op.matrix, y, U0, V0, np.full(3, 0.25), op.shape)._one_by_one
    one_by_one = ms.factorized_gd(op, y, U0, V0, 0.25, 100, truth=truth)
    for a, b in zip(one_by_one, batch, strict=True):
        assert_same_run(a, b)


def test_compiled_run_does_not_depend_on_where_it_stops(escaping_problem):
    """Records and progress updates hand control back to Python between compiled chunks of
    steps; the chunks do not change a single bit of the run."""
    op, y, _, k = escaping_problem
    U0, V0 = ms.small_random_init(*op.shape, k, 1e-3, seed=4)
    runs = [
        ms.factorized_gd(op, y, U0, V0, 0.25, 250, record_every=every, progress=bar)
        for every, bar in ((1, False), (13, False), (250, False), (250, True))
    ]
    for run in runs[1:]:
        np.testing.assert_array_equal(run.U, runs[0].U)
        np.testing.assert_array_equal(run.V, runs[0].V)
        assert run.history["train_loss"][-1] == runs[0].history["train_loss"][-1]


@pytest.mark.parametrize("runs", [1, 3, 6, 13])  # single, tiles, run-minor (1 and 2 vectors)
def test_compiled_step_is_the_plain_step(escaping_problem, runs):
    """One step by hand: loss ||A(U V^T) - y||^2 / 2 and U - μ A*(r) V, V - μ A*(r)^T U."""
    op, y, _, k = escaping_problem
    U, V = stacked_init(*op.shape, k, np.linspace(0.3, 0.1, runs), seed=6)
    steps = np.linspace(0.25, 0.1, runs)
    state = CompiledRuns(op.matrix, y, U, V, steps, op.shape)

    def check(U, V):
        for b in range(runs):
            residual = reference(op, U[b], V[b], y)[0]
            assert abs(state.losses[b] - 0.5 * residual @ residual) < 1e-12 * state.losses[b]

    check(U, V)
    assert state.advance(1, np.full(runs, np.inf)) == 1
    for b in range(runs):
        _, grad_U, grad_V = reference(op, U[b], V[b], y)
        assert rel_diff(state.U[b], U[b] - steps[b] * grad_U) < 1e-13
        assert rel_diff(state.V[b], V[b] - steps[b] * grad_V) < 1e-13
    check(state.U, state.V)


@pytest.mark.parametrize("step", [50.0, 1e200])  # a finite blow-up; an overflow to inf/nan
@pytest.mark.parametrize("batched", [0, 3, 6])
def test_compiled_runs_diverge_where_the_python_loop_does(escaping_problem, step, batched):
    op, y, _, k = escaping_problem
    U0, V0 = ms.small_random_init(*op.shape, k, 0.5, seed=2)
    if batched:  # the second run of the batch blows up
        steps = [0.1] * batched
        steps[1] = step
        U0, V0, step = np.stack([U0] * batched), np.stack([V0] * batched), steps
    errors = []
    for operator in (op, python_loop(op)):
        with pytest.raises(ms.DivergenceError) as info:
            ms.factorized_gd(operator, y, U0, V0, step, 100, record_every=100)
        errors.append(info.value)
    assert errors[0].iteration == errors[1].iteration > 0
    assert errors[0].run == errors[1].run == (1 if batched else None)
    assert str(errors[0]).split(": ")[0] == str(errors[1]).split(": ")[0]


# float32 -----------------------------------------------------------------------------------


def test_float32_run_is_float32_and_close_at_moderate_alpha(escaping_problem):
    op, y, truth, k = escaping_problem
    U0, V0 = ms.small_random_init(*op.shape, k, 1e-2, seed=3)
    double = ms.factorized_gd(op, y, U0, V0, 0.25, 200, truth=truth, dtype=np.float64)
    single = ms.factorized_gd(op, y, U0, V0, 0.25, 200, truth=truth, dtype=np.float32)
    assert single.U.dtype == np.float32 and single.V.dtype == np.float32
    assert double.U.dtype == np.float64
    assert rel_diff(single.product, double.product) < 1e-4
    errors = single.history["test_error"], double.history["test_error"]
    assert abs(errors[0][-1] - errors[1][-1]) < 1e-4


def test_float32_floors_the_test_error_where_float64_goes_on(escaping_problem):
    # The floor that factorized_gd's docstring and the Performance page report: float32
    # follows float64 at moderate α and stops near 1e-7 where float64 goes on to ~1e-11.
    op, y, truth, k = escaping_problem
    alphas = [1e-2, 1e-12]

    def init(alpha):
        return ms.small_random_init(*op.shape, k, alpha, seed=2)

    errors = {}
    for dtype in (np.float64, np.float32):
        results, errors[dtype], _ = final_errors(
            op, y, truth, init, alphas, 0.25, 1000, record_every=1000, dtype=dtype
        )
        assert all(result.U.dtype == dtype for result in results.values())
    double, single = errors[np.float64], errors[np.float32]
    assert abs(single[0] - double[0]) < 1e-4 * double[0]  # α = 1e-2: the same run
    assert double[1] < 1e-9  # α = 1e-12 in float64: far below the float32 floor
    assert 1e-8 < single[1] < 1e-6  # float32: recovered, down to its floor only


# input errors ------------------------------------------------------------------------------


@pytest.fixture
def batch_inputs(escaping_problem):
    op, y, truth, k = escaping_problem
    U0, V0 = stacked_init(*op.shape, k, [1e-3, 1e-4, 1e-5])
    return op, y, U0, V0, truth


@pytest.mark.parametrize(
    ("change", "error", "pattern"),
    [
        (dict(V0=lambda V: V[:2]), ValueError, r"^V0 must have shape \(3, 6, 6\), got \(2, 6, 6\)"),
        (dict(V0=lambda V: V[0]), ValueError, r"^V0 must have 3 dimensions"),
        (dict(V0=lambda V: V[..., :5]), ValueError, r"^V0 must have shape \(3, 6, 6\)"),
        (
            dict(U0=lambda U: U[:, :7]),
            ValueError,
            r"^U0 must have shape \('\*', 8, '\*'\), got \(3, 7, 6\)",
        ),
        (dict(U0=lambda U: U[:0]), ValueError, r"^U0 must hold at least one run \(B >= 1\)"),
        (dict(step=[0.1, 0.1]), ValueError, r"^step must be a number or a list of B=3 numbers"),
        (dict(step=[[0.1, 0.1, 0.1]]), ValueError, r"^step must be a number or a list of B=3"),
        (dict(step=[0.1, -0.1, 0.1]), ValueError, r"^step\[1\] must be > 0, got -0.1"),
        (dict(step=[0.1, 0.0, 0.1]), ValueError, r"^step\[1\] must be > 0, got 0"),
        (dict(step=[0.1, np.nan, 0.1]), ValueError, r"^step\[1\] must be finite"),
        (dict(dtype=np.float16), ValueError, r"^dtype must be numpy.float64 or numpy.float32"),
        (dict(dtype="complex"), ValueError, r"^dtype must be numpy.float64 or numpy.float32"),
        (dict(dtype="nonsense"), ValueError, r"^dtype must be numpy.float64 or numpy.float32"),
        (dict(dtype=None), ValueError, r"^dtype must be numpy.float64 or numpy.float32"),
    ],
)
def test_batch_input_errors(batch_inputs, change, error, pattern):
    op, y, U0, V0, truth = batch_inputs
    kwargs = dict(op=op, y=y, U0=U0, V0=V0, step=0.1, iters=3, truth=truth)
    for name, value in change.items():  # U0 and V0 are changed by a function of the valid one
        kwargs[name] = value(kwargs[name]) if name in ("U0", "V0") else value
    with pytest.raises(error, match=pattern):
        ms.factorized_gd(**kwargs)


def test_single_run_input_errors(escaping_problem):
    op, y, _, k = escaping_problem
    U0, V0 = ms.small_random_init(*op.shape, k, 1e-3, seed=0)
    with pytest.raises(TypeError, match=r"^step must be a real number for a single run"):
        ms.factorized_gd(op, y, U0, V0, [0.1], 3)
    with pytest.raises(ValueError, match=r"^U0 must have 2 dimensions \(n1, k\), or 3"):
        ms.factorized_gd(op, y, U0[None, None], V0, 0.1, 3)
    L, R = np.ones((8, 1)), np.ones((6, 1))
    with pytest.raises(ValueError, match=r"^truth must be an \(n1, n2\) array or a pair"):
        ms.factorized_gd(op, y, U0, V0, 0.1, 3, truth=(L, R, R))
    with pytest.raises(ValueError, match=r"^truth\[1\] must have shape \(6, 1\), got \(6, 2\)"):
        ms.factorized_gd(op, y, U0, V0, 0.1, 3, truth=(L, np.ones((6, 2))))
    with pytest.raises(ValueError, match=r"^truth\[0\] must have shape \(8, '\*'\), got \(7, 1\)"):
        ms.factorized_gd(op, y, U0, V0, 0.1, 3, truth=(np.ones((7, 1)), R))
    with pytest.raises(ValueError, match=r"^truth must be a non-zero matrix"):
        ms.factorized_gd(op, y, U0, V0, 0.1, 3, truth=(L, 0 * R))


# the history recorded inside the compiled loop --------------------------------------------


@pytest.mark.parametrize("runs", [None, 3, 6])
@pytest.mark.parametrize(("record_every", "progress"), [(1, False), (7, False), (1, True)])
@pytest.mark.parametrize("truth_form", ["array", "factors", None])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_history_recorded_in_compiled_code_is_the_python_record(
    escaping_problem, runs, record_every, progress, truth_form, dtype
):
    """Without metrics the compiled loop records loss, imbalance and test error itself; a
    metric sends the same run through the driver's Python record. Same iterations, same
    iterates bit for bit, and the same values up to rounding (the imbalance there is numpy's
    SVD, here a Householder reduction and bisection; the test error there from factors)."""
    op, y, truth, k = escaping_problem
    n1, n2 = op.shape
    if runs is None:
        U0, V0, steps = *ms.small_random_init(n1, n2, k, 1e-3, seed=4), 0.25
    else:
        U0, V0 = stacked_init(n1, n2, k, [1e-3, 1e-2, 1e-4, 1e-3, 1e-2, 1e-4][:runs], seed=4)
        steps = [0.25, 0.2, 0.25, 0.1, 0.25, 0.2][:runs]
    if truth_form == "factors":
        L, S, Rt = np.linalg.svd(truth)
        truth = (L[:, :2] * S[:2], Rt[:2].T)
    elif truth_form is None:
        truth = None
    options = dict(truth=truth, record_every=record_every, dtype=dtype, progress=progress)
    inside = ms.factorized_gd(op, y, U0, V0, steps, 200, **options)
    python = ms.factorized_gd(op, y, U0, V0, steps, 200, metrics={"one": lambda U, V: 1}, **options)
    if runs is None:
        inside, python = [inside], [python]
    for fast, slow in zip(inside, python, strict=True):
        np.testing.assert_array_equal(fast.U, slow.U)
        np.testing.assert_array_equal(fast.history["iteration"], slow.history["iteration"])
        assert fast.history["iteration"][-1] == 200
        assert set(fast.history) == set(slow.history) - {"one"}
        np.testing.assert_array_equal(fast.history["train_loss"], slow.history["train_loss"])
        tol = 1e-12 if dtype == np.float64 else 1e-5
        for name in ("imbalance", *(["test_error"] if truth is not None else [])):
            values, reference = fast.history[name], slow.history[name]
            scale = np.abs(reference).max()
            assert np.abs(values - reference).max() <= tol * scale, name
            assert values.dtype == np.float64


@pytest.mark.parametrize("k", [1, 2, 3, 5, 40, 77])
def test_compiled_spectral_norm_of_a_symmetric_matrix_is_numpys(k):
    """The imbalance's norm in compiled code, against numpy's SVD, over scales from 1e-200
    to 1e200 (scaled first, so no square underflows), definite, indefinite and zero."""
    from matrix_sensing.operators.kernels import symmetric_norm

    rng = np.random.default_rng(k)
    for trial in range(40):
        U, V = rng.standard_normal((k + 3, k)), rng.standard_normal((k + 1, k))
        D = [U.T @ U - V.T @ V, U.T @ U, -(V.T @ V), np.diag(rng.standard_normal(k))][trial % 4]
        D = D * 10.0 ** rng.integers(-200, 200)
        want = np.linalg.norm(D, 2)
        assert symmetric_norm(D.copy(), np.empty((5, -(-k // 8) * 8))) == pytest.approx(
            want, rel=1e-14
        )
    assert symmetric_norm(np.zeros((k, k)), np.empty((5, -(-k // 8) * 8))) == 0.0
    blown = np.full((k, k), np.inf)
    assert symmetric_norm(blown, np.empty((5, -(-k // 8) * 8))) == np.inf
    assert np.isnan(symmetric_norm(np.full((k, k), np.nan), np.empty((5, -(-k // 8) * 8))))


@pytest.mark.parametrize(("m", "n1", "n2", "k", "runs"), [(30, 5, 4, 3, 6), (9, 3, 1, 1, 13)])
def test_run_minor_kernels_write_only_inside_their_arrays(m, n1, n2, k, runs):
    """The vector loads and stores of the run-minor kernels index raw memory: every array
    gets a fence of sentinels past its end, which must come out untouched."""
    from matrix_sensing.operators.batch import LANES, pack, runs_evaluate

    fence, P = 3 * LANES, -(-runs // LANES) * LANES
    rng = np.random.default_rng(0)

    def fenced(size):
        out = np.full(size * P + fence, 7.0)
        out[: size * P] = 0.0
        return out

    U, V = rng.standard_normal((runs, n1, k)), rng.standard_normal((runs, n2, k))
    Ut, Vt = fenced(n1 * k), fenced(n2 * k)
    pack(U, P, Ut[: n1 * k * P])
    pack(V, P, Vt[: n2 * k * P])
    buffers = [fenced(size) for size in (n1 * n2, m, n1 * n2, n1 * k, n2 * k)]
    steps, dims = np.zeros(P), np.array([n1, n2, k, P])
    A, y, losses = rng.standard_normal((m, n1 * n2)), rng.standard_normal(m), np.empty(runs)
    runs_evaluate(A, y, (Ut, Vt, *buffers, steps, dims), losses)
    for array in (Ut, Vt, *buffers):
        assert np.all(array[-fence:] == 7.0)
    residual = np.einsum("bik,bjk->bij", U, V).reshape(runs, -1) @ A.T - y
    np.testing.assert_allclose(losses, 0.5 * np.sum(residual**2, axis=1), rtol=1e-12)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_run_minor_buffers_start_on_a_cache_line(dtype):
    from matrix_sensing.operators.batch import aligned_zeros

    for size in (1, 7, 64, 1001):
        out = aligned_zeros(size, dtype)
        assert out.shape == (size,) and out.dtype == dtype and not out.any()
        assert out.ctypes.data % 64 == 0
