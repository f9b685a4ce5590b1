"""Matrix factorization by ScaledGD with the Nyström initialization (claim N8): the identity
operator, the initialization, the exact quadratic recursion, a reference loop, validation,
and the experiment."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from _numerics import rel_diff

from matrix_sensing import claims, low_rank_target
from matrix_sensing.experiments.nystrom import nystrom_vs_random
from matrix_sensing.operators import IdentitySensing
from matrix_sensing.solvers import (
    DivergenceError,
    heron_prediction,
    nystrom_init,
    scaled_gd_factorization,
)
from matrix_sensing.targets import psd_target


@pytest.fixture
def target():
    return low_rank_target(8, 6, 2, kappa=5.0, seed=0)


def test_identity_operator_makes_the_loss_the_factorization_loss(target):
    op = IdentitySensing(target.shape)
    assert op.m == 48
    Z = np.arange(48.0).reshape(8, 6)
    assert np.array_equal(op(Z), Z.reshape(-1))
    assert np.array_equal(op.adjoint(op(Z)), Z)
    U, V = np.ones((8, 2)), np.ones((6, 2))
    result = scaled_gd_factorization(target, U, V, 0.5, 0)
    assert result.history["train_loss"][0] == pytest.approx(
        0.5 * np.linalg.norm(U @ V.T - target) ** 2, rel=1e-14
    )


def test_scaledgd_gradient_against_finite_differences(target):
    U0, V0 = nystrom_init(target, 2, seed=1)
    result = scaled_gd_factorization(target, U0, V0, 0.1, 1)

    def loss_U(U):
        return 0.5 * np.linalg.norm(U @ V0.T - target) ** 2

    fd = np.zeros_like(U0)
    for idx in np.ndindex(U0.shape):
        plus, minus = U0.copy(), U0.copy()
        plus[idx] += 1e-6
        minus[idx] -= 1e-6
        fd[idx] = (loss_U(plus) - loss_U(minus)) / 2e-6
    assert rel_diff((U0 - result.U) / 0.1 @ (V0.T @ V0), fd) < 1e-6


def test_matches_reference_loop(target):
    U, V = nystrom_init(target, 2, seed=1)
    result = scaled_gd_factorization(target, U, V, 0.5, 25)
    for _ in range(25):
        E = U @ V.T - target
        U, V = (
            U - 0.5 * E @ V @ np.linalg.inv(V.T @ V),
            V - 0.5 * E.T @ U @ np.linalg.inv(U.T @ U),
        )
    assert rel_diff(result.U @ result.V.T, U @ V.T) < 1e-12


def test_nystrom_init_spans_the_ranges_of_m(target):
    U0, V0 = nystrom_init(target, 2, seed=3)
    left, _, right_t = np.linalg.svd(target)
    L, R = left[:, :2], right_t[:2].T
    assert np.linalg.norm(U0 - L @ (L.T @ U0)) < 1e-12 * np.linalg.norm(U0)
    assert np.linalg.norm(V0 - R @ (R.T @ V0)) < 1e-12 * np.linalg.norm(V0)
    assert np.array_equal(V0, target.T @ U0)
    U1, V1 = nystrom_init(target, 2, seed=3)
    assert np.array_equal(U0, U1) and np.array_equal(V0, V1)


def test_heron_recursion_of_one_step_from_a_nystrom_start(target):
    # [D] With range(U) = range(M), range(V) = range(M^T), k = r and μ = 1/2, the core
    # P = L^T U V^T R obeys P' - Σ = (P - Σ) P^{-1} (P - Σ) / 4 exactly.
    left, sigma, right_t = np.linalg.svd(target)
    L, R, S = left[:, :2], right_t[:2].T, np.diag(sigma[:2])
    U, V = nystrom_init(target, 2, seed=4)
    for _ in range(4):
        P = L.T @ U @ V.T @ R
        result = scaled_gd_factorization(target, U, V, 0.5, 1, divergence_factor=1e300)
        U, V = result.U, result.V
        P_next = L.T @ U @ V.T @ R
        expected = (P - S) @ np.linalg.inv(P) @ (P - S) / 4
        assert np.linalg.norm(P_next - S - expected) <= 1e-10 * max(1.0, np.linalg.norm(P))


def test_heron_prediction_is_the_measured_trajectory(target):
    U0, V0 = nystrom_init(target, 2, seed=5)
    run = scaled_gd_factorization(target, U0, V0, 0.5, 12, divergence_factor=1e300)
    predicted = heron_prediction(target, U0, V0, 12)
    measured = run.history["test_error"]
    above = predicted > 1e-10  # below that, rounding dominates the measurement
    assert above.sum() >= 4
    assert np.allclose(measured[above], predicted[above], rtol=1e-6, atol=0)
    with pytest.raises(ValueError, match="Q_0 must have real positive eigenvalues"):
        heron_prediction(target, U0, -V0, 3)


def test_symmetric_nystrom_start_stays_symmetric_and_converges_quadratically():
    M = psd_target(12, 3, 10.0, seed=0)
    U0, V0 = nystrom_init(M, 3, seed=1, symmetric=True)
    assert np.array_equal(U0, V0)
    result = scaled_gd_factorization(M, U0, V0, 0.5, 40, stop_below=1e-14, divergence_factor=1e300)
    assert np.max(np.abs(result.U - result.V)) <= 1e-10 * np.max(np.abs(result.U))
    errors = result.history["test_error"]
    assert errors[-1] <= 1e-14
    # once below 1e-1, each step at least squares the error (up to a constant)
    start = int(np.flatnonzero(errors <= 1e-1)[0])
    tail = errors[start:]
    assert all(b <= 10 * a**2 or b < 1e-13 for a, b in itertools.pairwise(tail))


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (lambda M: nystrom_init(np.zeros((4, 3)), 2, seed=0), ValueError, "M must be a non-zero"),
        (lambda M: nystrom_init(M, 0, seed=0), ValueError, "k must be an integer >= 1"),
        (lambda M: nystrom_init(M, 2, seed=-1), ValueError, "seed must be an integer >= 0"),
        (
            lambda M: nystrom_init(M, 2, seed=0, symmetric=True),
            ValueError,
            "M must be exactly symmetric",
        ),
        (
            lambda M: scaled_gd_factorization(M, np.ones((8, 2)), np.ones((6, 2)), 0.0, 3),
            ValueError,
            "step must be > 0",
        ),
        (
            lambda M: scaled_gd_factorization(M, np.ones((7, 2)), np.ones((6, 2)), 0.5, 3),
            ValueError,
            r"U0 must have shape \(8, '\*'\)",
        ),
        (
            lambda M: scaled_gd_factorization(M, np.ones((8, 2)), np.ones((6, 2)), 0.5, 3),
            ValueError,
            "singular at iteration 0",
        ),
        (lambda M: IdentitySensing((3,)), ValueError, "shape must be a pair"),
    ],
)
def test_rejects_bad_input(target, call, error, message):
    with pytest.raises(error, match=message):
        call(target)


def test_divergence_raises_with_iteration_and_hint(target):
    U0, V0 = nystrom_init(target, 2, seed=0)
    with pytest.raises(DivergenceError, match=r"diverged at iteration \d+.*Hint: step="):
        scaled_gd_factorization(target, U0, V0, 3.0, 200)


SMALL = {
    "n": 12,
    "r": 2,
    "kappa": 5.0,
    "k": 2,
    "alpha": 1e-2,
    "alpha_small": 1e-6,
    "step": 0.5,
    "iters": 60,
    "level_start": 1e-1,
    "level_end": 1e-11,
}


def test_experiment_steps_and_determinism():
    first = nystrom_vs_random(**SMALL, seed=0)
    second = nystrom_vs_random(**SMALL, seed=0)
    assert first.data["steps"] == second.data["steps"]
    assert np.array_equal(first.data["prediction"], second.data["prediction"])
    for name in ("nystrom", "random", "random_small"):
        assert np.array_equal(first.results[name].U, second.results[name].U)
    assert first.data["symmetry_gap"] < 1e-9
    steps = first.data["steps"]
    prediction = first.data["prediction"]
    measured = first.results["nystrom"].history["test_error"]
    above = prediction[: len(measured)] > 1e-10
    assert np.allclose(measured[above], prediction[: len(measured)][above], rtol=1e-6)
    assert steps["nystrom"] <= 5 < 20 <= steps["random"]
    history = first.results["nystrom"].history
    start = np.flatnonzero(history["test_error"] <= 1e-1)[0]
    end = np.flatnonzero(history["test_error"] <= 1e-11)[0]
    assert steps["nystrom"] == history["iteration"][end] - history["iteration"][start]


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ({"level_end": 1.0}, "level_end must be < level_start"),
        ({"k": 13}, "k must be an integer >= 1 and <= 12"),
        ({"alpha": 0.0}, "alpha must be > 0"),
        ({"iters": 0}, "iters must be an integer >= 1"),
    ],
)
def test_experiment_rejects_bad_parameters(override, message):
    with pytest.raises(ValueError, match=message):
        nystrom_vs_random(**{**SMALL, **override}, seed=0)


def test_claim_over_five_seeds():
    verdict = claims.verdict("N8", [claims.check("N8", seed=s) for s in range(5)])
    assert verdict.passed, verdict.line()
