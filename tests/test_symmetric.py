"""Symmetric matrix sensing: the operator (adjointness, symmetry, packing, Gram matrix), PSD
targets, and symmetric gradient descent (gradient, reference loop, both methods, history,
validation, determinism, divergence)."""

from __future__ import annotations

import numpy as np
import pytest
from _numerics import central_difference, rel_diff

from matrix_sensing import GaussianSensing, psd_target, small_random_init
from matrix_sensing.operators import SymmetricGaussianSensing
from matrix_sensing.solvers import DivergenceError, symmetric_gd, symmetric_loss

N, K, M = 6, 4, 40


@pytest.fixture
def psd_problem():
    """A tiny overparameterized PSD problem (k > r) with ||X|| = 1 and a moderate init."""
    truth = psd_target(N, 2, kappa=2.0, seed=0)
    op = SymmetricGaussianSensing(M, N, seed=1)
    U0 = small_random_init(N, N, K, 0.5, seed=2)[0]
    return op, op(truth), U0, truth


# Operator -------------------------------------------------------------------------------


def test_measurement_matrices_are_symmetrized_gaussians():
    op = SymmetricGaussianSensing(M, N, seed=7)
    G = np.random.default_rng(7).standard_normal((M, N, N)) / np.sqrt(M)
    np.testing.assert_allclose(op.array, (G + G.transpose(0, 2, 1)) / 2, rtol=0, atol=1e-15)
    np.testing.assert_array_equal(op.array, op.array.transpose(0, 2, 1))
    np.testing.assert_array_equal(op.matrix, op.array.reshape(M, -1))
    assert op.packed.shape == (M, N * (N + 1) // 2)
    assert not op.packed.flags.writeable
    assert (op.m, op.n, op.shape) == (M, N, (N, N))


def test_forward_and_adjoint_match_the_dense_sums():
    op = SymmetricGaussianSensing(M, N, seed=3)
    rng = np.random.default_rng(0)
    Z = rng.standard_normal((N, N))  # not symmetric: <A_i, Z> = <A_i, (Z + Z^T)/2>
    z = rng.standard_normal(M)
    A = op.array
    assert rel_diff(op(Z), np.einsum("ijk,jk->i", A, Z)) < 1e-13
    assert rel_diff(op.adjoint(z), np.einsum("i,ijk->jk", z, A)) < 1e-13


def test_adjointness_and_symmetric_adjoint():
    op = SymmetricGaussianSensing(M, N, seed=4)
    rng = np.random.default_rng(1)
    for _ in range(5):
        Z, z = rng.standard_normal((N, N)), rng.standard_normal(M)
        lhs, rhs = op(Z) @ z, np.sum(Z * op.adjoint(z))
        assert abs(lhs - rhs) <= 1e-12 * max(abs(lhs), 1.0)
        adjoint = op.adjoint(z)
        np.testing.assert_array_equal(adjoint, adjoint.T)


def test_stacks_match_single_calls():
    op = SymmetricGaussianSensing(M, N, seed=5)
    rng = np.random.default_rng(2)
    Zs, zs = rng.standard_normal((3, N, N)), rng.standard_normal((3, M))
    forward, adjoint = op(Zs), op.adjoint(zs)
    assert forward.shape == (3, M) and adjoint.shape == (3, N, N)
    for i in range(3):
        assert rel_diff(forward[i], op(Zs[i])) < 1e-14
        assert rel_diff(adjoint[i], op.adjoint(zs[i])) < 1e-14


def test_expected_normal_operator_is_identity_on_symmetric_matrices():
    # E[A*A] = Id on symmetric matrices: averaged over many measurements A*A(Z)/... -> Z.
    op = SymmetricGaussianSensing(20000, 3, seed=6)
    Z = np.array([[1.0, 0.5, 0.0], [0.5, -1.0, 0.2], [0.0, 0.2, 0.3]])
    assert rel_diff(op.adjoint(op(Z)), Z) < 0.05


def test_gram_matrix_is_the_normal_operator_in_packed_coordinates():
    op = SymmetricGaussianSensing(M, N, seed=8)
    rng = np.random.default_rng(3)
    B = rng.standard_normal((N, N))
    Z = B + B.T
    packed = op.pack(Z)
    assert rel_diff(op.unpack(packed), Z) == 0
    assert rel_diff(op.unpack(op.gram @ packed), op.adjoint(op(Z))) < 1e-13


def test_from_array_round_trip_and_symmetry_check():
    op = SymmetricGaussianSensing(M, N, seed=9)
    copy = SymmetricGaussianSensing.from_array(op.array)
    np.testing.assert_array_equal(copy.packed, op.packed)
    A = op.array
    A[0, 0, 1] += 1.0
    with pytest.raises(ValueError, match=r"A must hold symmetric matrices: A\[i\] == A\[i\].T"):
        SymmetricGaussianSensing.from_array(A)
    with pytest.raises(ValueError, match=r"A must have shape \(m, n, n\)"):
        SymmetricGaussianSensing.from_array(np.zeros((3, 2, 4)))


def test_operator_is_deterministic_and_validated():
    a, b = SymmetricGaussianSensing(M, N, seed=11), SymmetricGaussianSensing(M, N, seed=11)
    np.testing.assert_array_equal(a.packed, b.packed)
    assert not np.array_equal(a.packed, SymmetricGaussianSensing(M, N, seed=12).packed)
    with pytest.raises(ValueError, match="m must be an integer >= 1, got 0"):
        SymmetricGaussianSensing(0, N, seed=0)
    with pytest.raises(TypeError, match="n must be an integer"):
        SymmetricGaussianSensing(M, 2.5, seed=0)
    with pytest.raises(ValueError, match="seed must be an integer >= 0, got -1"):
        SymmetricGaussianSensing(M, N, seed=-1)
    with pytest.raises(ValueError, match=r"Z must have shape \(6, 6\), got \(6, 5\)"):
        a(np.zeros((N, N - 1)))
    with pytest.raises(ValueError, match=r"z must have shape \(40,\), got \(39,\)"):
        a.adjoint(np.zeros(M - 1))
    with pytest.raises(ValueError, match="Z must contain only finite values"):
        a(np.full((N, N), np.nan))


# PSD target ------------------------------------------------------------------------------


def test_psd_target_spectrum():
    X = psd_target(10, 3, kappa=4.0, seed=0)
    np.testing.assert_array_equal(X, X.T)
    eigenvalues = np.linalg.eigvalsh(X)[::-1]
    np.testing.assert_allclose(eigenvalues[:3], [1.0, 0.625, 0.25], atol=1e-13)
    np.testing.assert_allclose(eigenvalues[3:], 0.0, atol=1e-13)
    given = psd_target(10, 3, seed=0, eigenvalues=[0.25, 1.0, 0.5])
    np.testing.assert_allclose(np.linalg.eigvalsh(given)[::-1][:3], [1.0, 0.5, 0.25], atol=1e-13)
    np.testing.assert_array_equal(psd_target(10, 3, seed=5), psd_target(10, 3, seed=5))


def test_psd_target_validation():
    with pytest.raises(ValueError, match="r must be an integer >= 1 and <= 4, got 5"):
        psd_target(4, 5, seed=0)
    with pytest.raises(ValueError, match="eigenvalues must all be > 0"):
        psd_target(4, 2, seed=0, eigenvalues=[1.0, 0.0])
    with pytest.raises(ValueError, match=r"eigenvalues must have shape \(2,\), got \(3,\)"):
        psd_target(4, 2, seed=0, eigenvalues=[1.0, 0.5, 0.2])
    with pytest.raises(ValueError, match=r"kappa must be >= 1, got 0\.5"):
        psd_target(4, 2, kappa=0.5, seed=0)


# Gradient descent ---------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["direct", "gram"])
def test_step_is_gradient_step_of_the_quarter_loss(psd_problem, method):
    op, y, U0, _ = psd_problem
    step = 0.1
    result = symmetric_gd(op, y, U0, step, 1, method=method)
    gradient = (U0 - result.U) / step
    fd = central_difference(lambda U: symmetric_loss(op, y, U), U0)
    assert rel_diff(gradient, fd) < 1e-6
    E = op.adjoint(op(U0 @ U0.T) - y)
    assert rel_diff(gradient, E @ U0) < 1e-12


def reference_symmetric_gd(A, y, U, step, iters, truth):
    """Plain symmetric GD with explicit sums over the measurement matrices A_i."""
    losses, errors = [], []
    for t in range(iters + 1):
        residual = np.einsum("ijk,jk->i", A, U @ U.T) - y
        losses.append(0.25 * np.sum(residual**2))
        errors.append(np.linalg.norm(U @ U.T - truth) / np.linalg.norm(truth))
        if t == iters:
            break
        U = U - step * np.einsum("i,ijk->jk", residual, A) @ U
    return U, np.array(losses), np.array(errors)


@pytest.mark.parametrize("method", ["direct", "gram", "auto"])
def test_matches_reference_loop(psd_problem, method):
    op, y, U0, truth = psd_problem
    step, iters = 0.2, 50
    result = symmetric_gd(op, y, U0, step, iters, truth=truth, method=method)
    U, losses, errors = reference_symmetric_gd(op.array, y, U0, step, iters, truth)
    assert losses[-1] < 0.1 * losses[0]  # the comparison is over a run that moves
    assert rel_diff(result.U, U) < 1e-12
    assert rel_diff(result.product, U @ U.T) < 1e-12
    assert rel_diff(result.history["train_loss"], losses) < 1e-12
    assert rel_diff(result.history["test_error"], errors) < 1e-12
    np.testing.assert_array_equal(result.history["iteration"], np.arange(iters + 1))


def test_gram_loss_between_records_tracks_the_exact_loss(psd_problem):
    # With record_every > 1 the gram path estimates the loss between records (for the
    # divergence check only); the recorded losses are exact and equal the direct path's.
    op, y, U0, _ = psd_problem
    direct = symmetric_gd(op, y, U0, 0.2, 30, record_every=7, method="direct")
    gram = symmetric_gd(op, y, U0, 0.2, 30, record_every=7, method="gram")
    np.testing.assert_array_equal(gram.history["iteration"], [0, 7, 14, 21, 28, 30])
    assert rel_diff(gram.history["train_loss"], direct.history["train_loss"]) < 1e-12


def test_history_conventions(psd_problem):
    op, y, U0, truth = psd_problem
    calls = []
    result = symmetric_gd(
        op,
        y,
        U0,
        0.2,
        10,
        truth=truth,
        record_every=4,
        metrics={"norm": lambda U: calls.append(U.shape) or float(np.linalg.norm(U))},
    )
    assert set(result.history) == {"iteration", "train_loss", "test_error", "norm"}
    np.testing.assert_array_equal(result.history["iteration"], [0, 4, 8, 10])
    assert len(calls) == 4 and calls[0] == (N, K)
    assert result.history["norm"][0] == pytest.approx(np.linalg.norm(U0))
    assert result.iters == 10 and result.step == 0.2
    no_truth = symmetric_gd(op, y, U0, 0.2, 0)
    assert set(no_truth.history) == {"iteration", "train_loss"}
    np.testing.assert_array_equal(no_truth.U, U0)


def test_deterministic(psd_problem):
    op, y, U0, truth = psd_problem
    first = symmetric_gd(op, y, U0, 0.2, 20, truth=truth)
    second = symmetric_gd(op, y, U0, 0.2, 20, truth=truth)
    np.testing.assert_array_equal(first.U, second.U)
    np.testing.assert_array_equal(first.history["train_loss"], second.history["train_loss"])


@pytest.mark.parametrize(
    ("change", "error", "message"),
    [
        ({"U0": np.zeros((N + 1, K))}, ValueError, r"U0 must have shape \(6, '\*'\), got \(7, 4\)"),
        ({"U0": np.zeros((N, 0))}, ValueError, r"U0 must have at least one column"),
        ({"step": 0.0}, ValueError, "step must be > 0, got 0"),
        ({"step": -0.1}, ValueError, "step must be > 0, got -0.1"),
        ({"iters": -1}, ValueError, "iters must be an integer >= 0, got -1"),
        ({"record_every": 0}, ValueError, "record_every must be an integer >= 1, got 0"),
        ({"y": np.full(M, np.nan)}, ValueError, "y must contain only finite values"),
        ({"y": np.zeros(M + 1)}, ValueError, r"y must have shape \(40,\), got \(41,\)"),
        ({"truth": np.zeros((N, N))}, ValueError, "truth must be a non-zero matrix"),
        ({"method": "fast"}, ValueError, r"method must be one of \['auto', 'direct', 'gram'\]"),
        ({"metrics": {"bad": 3}}, TypeError, r"metrics\['bad'\] must be callable f\(U\)"),
        ({"divergence_factor": 0.5}, ValueError, "divergence_factor must be >= 1, got 0.5"),
    ],
)
def test_validation_messages(psd_problem, change, error, message):
    op, y, U0, truth = psd_problem
    kwargs = {"op": op, "y": y, "U0": U0, "step": 0.1, "iters": 3, "truth": truth, **change}
    with pytest.raises(error, match=message):
        symmetric_gd(**kwargs)


def test_operator_checks():
    with pytest.raises(TypeError, match="op must be a measurement operator"):
        symmetric_gd(object(), np.zeros(3), np.zeros((2, 1)), 0.1, 1)
    asymmetric = GaussianSensing(10, (3, 4), seed=0)
    with pytest.raises(ValueError, match=r"op must measure square \(n, n\) matrices"):
        symmetric_gd(asymmetric, np.zeros(10), np.zeros((3, 1)), 0.1, 1)
    square = GaussianSensing(10, (3, 3), seed=0)
    with pytest.raises(ValueError, match="method='gram' needs a SymmetricGaussianSensing"):
        symmetric_gd(square, np.zeros(10), np.zeros((3, 1)), 0.1, 1, method="gram")
    # "auto" falls back to the direct path for other operators.
    result = symmetric_gd(square, np.ones(10), np.full((3, 1), 0.1), 0.01, 2)
    assert result.history["train_loss"][-1] < result.history["train_loss"][0]


@pytest.mark.parametrize("method", ["direct", "gram"])
def test_divergence_raises_with_iteration_and_hint(psd_problem, method):
    op, y, U0, _ = psd_problem
    with pytest.raises(DivergenceError) as info:
        symmetric_gd(op, y, 10 * U0, 50.0, 100, method=method)
    assert info.value.iteration >= 1
    assert info.value.step == 50.0
    message = str(info.value)
    assert f"diverged at iteration {info.value.iteration}" in message
    assert "Hint: step=50 is too large" in message and "try step=25" in message
