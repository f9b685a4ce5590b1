"""Factorized gradient descent: gradients, a reference implementation, exact identities,
history bookkeeping, determinism and divergence handling."""

from __future__ import annotations

import numpy as np
import pytest
from _numerics import central_difference, rel_diff
from conftest import N1, N2

import matrix_sensing as ms
from matrix_sensing import metrics


def residual_gradient(op, y, U, V):
    """E = A*(A(U V^T) - y), computed with the public, checked operator methods."""
    return op.adjoint(op(U @ V.T) - y)


def capture_iterates(op, y, U0, V0, step, iters):
    """Run GD once with a metrics hook that stores (U_t, V_t) at every iteration."""
    snapshots = []

    def hook(U, V):
        snapshots.append((U.copy(), V.copy()))
        return 0.0

    result = ms.factorized_gd(op, y, U0, V0, step, iters, metrics={"snapshot": hook})
    return result, snapshots


# (a) gradient -------------------------------------------------------------------------


def test_gd_step_is_gradient_step_of_train_loss(problem):
    op, y, U0, V0, _ = problem
    step = 0.1  # large enough that (U0 - U1)/step loses little to cancellation
    result = ms.factorized_gd(op, y, U0, V0, step, 1)
    grad_U = (U0 - result.U) / step
    grad_V = (V0 - result.V) / step

    fd_U = central_difference(lambda U: metrics.train_loss(op, y, U, V0), U0)
    fd_V = central_difference(lambda V: metrics.train_loss(op, y, U0, V), V0)
    # h = 1e-5: truncation ~h^2 and rounding ~eps/h are both far below 1e-6.
    assert rel_diff(grad_U, fd_U) < 1e-6
    assert rel_diff(grad_V, fd_V) < 1e-6

    E = residual_gradient(op, y, U0, V0)
    assert rel_diff(E @ V0, fd_U) < 1e-6
    assert rel_diff(E.T @ U0, fd_V) < 1e-6
    # The simultaneous update: V's step uses the old U.
    assert rel_diff(grad_U, E @ V0) < 1e-12
    assert rel_diff(grad_V, E.T @ U0) < 1e-12


# (b) reference implementation ---------------------------------------------------------


def reference_gd(A, y, U, V, step, iters, truth):
    """Plain GD with an explicit sum over the measurement matrices A_i."""
    losses, errors = [], []
    for t in range(iters + 1):
        residual = np.einsum("ijk,jk->i", A, U @ V.T) - y
        losses.append(0.5 * np.sum(residual**2))
        errors.append(np.linalg.norm(U @ V.T - truth) / np.linalg.norm(truth))
        if t == iters:
            break
        E = np.einsum("i,ijk->jk", residual, A)
        U, V = U - step * E @ V, V - step * E.T @ U
    return U, V, np.array(losses), np.array(errors)


def test_matches_reference_loop(problem):
    op, y, U0, V0, truth = problem
    step, iters = 0.2, 50
    result = ms.factorized_gd(op, y, U0, V0, step, iters, truth=truth)
    U, V, losses, errors = reference_gd(op.array, y, U0, V0, step, iters, truth)

    assert losses[-1] < 0.1 * losses[0]  # the comparison is over a run that moves
    assert rel_diff(result.U, U) < 1e-12
    assert rel_diff(result.V, V) < 1e-12
    assert rel_diff(result.history["train_loss"], losses) < 1e-12
    assert rel_diff(result.history["test_error"], errors) < 1e-12
    np.testing.assert_array_equal(result.history["iteration"], np.arange(iters + 1))


# (c), (d) exact identities ------------------------------------------------------------


def test_imbalance_identity_every_step(problem):
    op, y, U0, V0, _ = problem
    step, iters = 0.2, 30
    result, snaps = capture_iterates(op, y, U0, V0, step, iters)
    assert len(snaps) == iters + 1
    np.testing.assert_array_equal(snaps[-1][0], result.U)
    np.testing.assert_array_equal(snaps[-1][1], result.V)

    for t in range(iters):
        (U, V), (U1, V1) = snaps[t], snaps[t + 1]
        E = residual_gradient(op, y, U, V)
        change = metrics.imbalance(U1, V1) - metrics.imbalance(U, V)
        predicted = step**2 * (V.T @ E.T @ E @ V - U.T @ E @ E.T @ U)
        assert np.linalg.norm(predicted) > 0
        assert rel_diff(change, predicted) <= 1e-10, f"t={t}"


def test_imbalance_identity_with_restarted_single_steps(problem):
    # Same identity, iterating factorized_gd(iters=1) by hand.
    op, y, U, V, _ = problem
    step = 0.2
    for t in range(10):
        E = residual_gradient(op, y, U, V)
        nxt = ms.factorized_gd(op, y, U, V, step, 1)
        change = metrics.imbalance(nxt.U, nxt.V) - metrics.imbalance(U, V)
        predicted = step**2 * (V.T @ E.T @ E @ V - U.T @ E @ E.T @ U)
        assert rel_diff(change, predicted) <= 1e-10, f"t={t}"
        U, V = nxt.U, nxt.V


def test_dilation_identity(problem):
    op, y, U0, V0, _ = problem
    step, iters = 0.2, 20
    _, snaps = capture_iterates(op, y, U0, V0, step, iters)
    for t in range(iters):
        (U, V), (U1, V1) = snaps[t], snaps[t + 1]
        E = residual_gradient(op, y, U, V)
        dilation = np.block([[np.zeros((N1, N1)), E], [E.T, np.zeros((N2, N2))]])
        W, W1 = np.vstack([U, V]), np.vstack([U1, V1])
        assert rel_diff(W1, (np.eye(N1 + N2) - step * dilation) @ W) <= 1e-12, f"t={t}"


# (e) history ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("iters", "record_every", "expected"),
    [
        (10, 1, list(range(11))),
        (10, 3, [0, 3, 6, 9, 10]),  # the last iteration is always recorded
        (10, 5, [0, 5, 10]),
        (7, 20, [0, 7]),
        (0, 4, [0]),
    ],
)
def test_history_iterations(problem, iters, record_every, expected):
    op, y, U0, V0, truth = problem
    result = ms.factorized_gd(op, y, U0, V0, 0.1, iters, truth=truth, record_every=record_every)
    assert set(result.history) == {"iteration", "train_loss", "imbalance", "test_error"}
    np.testing.assert_array_equal(result.history["iteration"], expected)
    for values in result.history.values():
        assert values.shape == (len(expected),)


def test_history_keys_without_truth(problem):
    op, y, U0, V0, _ = problem
    result = ms.factorized_gd(op, y, U0, V0, 0.1, 3)
    assert set(result.history) == {"iteration", "train_loss", "imbalance"}


def test_history_values_match_metrics(problem):
    op, y, U0, V0, truth = problem
    snaps = []

    def hook(U, V):
        snaps.append((U.copy(), V.copy()))
        return float(np.sum(U) - 2 * np.sum(V))

    result = ms.factorized_gd(
        op, y, U0, V0, 0.1, 9, truth=truth, record_every=4, metrics={"custom": hook}
    )
    history = result.history
    assert set(history) == {"iteration", "train_loss", "imbalance", "test_error", "custom"}
    np.testing.assert_array_equal(history["iteration"], [0, 4, 8, 9])
    assert len(snaps) == 4  # hooks run only at recorded iterations
    for i, (U, V) in enumerate(snaps):
        assert history["custom"][i] == np.sum(U) - 2 * np.sum(V)
        assert history["train_loss"][i] == pytest.approx(metrics.train_loss(op, y, U, V), rel=1e-12)
        assert history["imbalance"][i] == pytest.approx(metrics.imbalance_norm(U, V), rel=1e-12)
        assert history["test_error"][i] == pytest.approx(metrics.test_error(U, V, truth), rel=1e-12)
    np.testing.assert_array_equal(snaps[-1][0], result.U)


def test_zero_iterations_returns_init(problem):
    op, y, U0, V0, _ = problem
    result = ms.factorized_gd(op, y, U0, V0, 0.1, 0)
    np.testing.assert_array_equal(result.U, U0)
    np.testing.assert_array_equal(result.V, V0)
    assert result.U is not U0 and result.V is not V0
    assert result.iters == 0 and result.step == 0.1
    np.testing.assert_array_equal(result.product, U0 @ V0.T)
    assert result.history["train_loss"][0] == pytest.approx(metrics.train_loss(op, y, U0, V0))


# (f) determinism -----------------------------------------------------------------------


def test_runs_are_bit_identical(problem):
    op, y, U0, V0, truth = problem
    first = ms.factorized_gd(op, y, U0, V0, 0.2, 40, truth=truth, record_every=3)
    second = ms.factorized_gd(op, y, U0, V0, 0.2, 40, truth=truth, record_every=3)
    assert np.array_equal(first.U, second.U)
    assert np.array_equal(first.V, second.V)
    assert first.history.keys() == second.history.keys()
    for key in first.history:
        assert np.array_equal(first.history[key], second.history[key]), key


# (g) divergence ------------------------------------------------------------------------


def test_huge_step_raises_divergence_error(problem):
    op, y, U0, V0, truth = problem
    assert np.linalg.norm(truth, 2) == pytest.approx(1.0)
    with pytest.raises(ms.DivergenceError) as info:
        ms.factorized_gd(op, y, U0, V0, 50.0, 100, truth=truth)
    err = info.value
    assert isinstance(err.iteration, int) and 1 <= err.iteration <= 100
    assert err.step == 50.0
    assert np.isfinite(err.loss) and err.loss > err.bound
    message = str(err)
    assert "iteration" in message and "step" in message and "Hint" in message
    assert isinstance(err, RuntimeError)


@pytest.mark.filterwarnings("ignore:overflow:RuntimeWarning")
@pytest.mark.filterwarnings("ignore:invalid value:RuntimeWarning")
def test_non_finite_loss_raises_instead_of_returning_nan(problem):
    # A bound too large to ever trip: the loss overflows to inf/NaN, which must still be
    # reported as a DivergenceError rather than returned. numpy's overflow warnings on the
    # way are expected here and silenced.
    op, y, U0, V0, _ = problem
    with pytest.raises(ms.DivergenceError, match="not finite") as info:
        ms.factorized_gd(op, y, U0, V0, 50.0, 1000, divergence_factor=1e300)
    assert not np.isfinite(info.value.loss)
    assert info.value.iteration >= 1


def test_moderate_step_does_not_diverge(problem):
    op, y, U0, V0, truth = problem
    result = ms.factorized_gd(op, y, U0, V0, 0.2, 200, truth=truth)
    for values in result.history.values():
        assert np.all(np.isfinite(values))
    assert result.history["train_loss"][-1] < result.history["train_loss"][0]


# (h) inputs untouched ------------------------------------------------------------------


def test_inputs_not_modified(problem):
    op, y, U0, V0, truth = problem
    before = [a.copy() for a in (y, U0, V0, truth, op.matrix)]
    ms.factorized_gd(op, y, U0, V0, 0.2, 20, truth=truth)
    for original, now in zip(before, (y, U0, V0, truth, op.matrix), strict=True):
        np.testing.assert_array_equal(original, now)


def test_accepts_lists_and_numpy_integers(problem):
    # Inputs are converted to float64; results agree with float inputs.
    op, y, U0, V0, _ = problem
    expected = ms.factorized_gd(op, y, U0, V0, 0.1, 5)
    result = ms.factorized_gd(op, y.tolist(), U0.tolist(), V0.tolist(), 0.1, np.int64(5))
    np.testing.assert_array_equal(result.U, expected.U)
    assert result.U.dtype == np.float64
