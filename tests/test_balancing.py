"""Claim M8 (implicit balancing): the identity, the unbalanced start, the experiment's
bookkeeping and validation, and the notebook's outputs."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from _notebook_helpers import assert_only_verdict_cell_has_outputs

from matrix_sensing import GaussianSensing, claims, factorized_gd
from matrix_sensing.experiments.balancing import (
    identity_residual,
    imbalance_step,
    implicit_balancing,
    unbalanced_init,
)
from matrix_sensing.metrics import imbalance

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK = ROOT / "notebooks" / "m8_balancing.ipynb"
# A tiny instance of the experiment, for bookkeeping (not for the claim itself).
TINY = {
    "n1": 8,
    "n2": 6,
    "r": 1,
    "kappa": 1.0,
    "m": 40,
    "k": 8,
    "alpha": 1e-3,
    "step": 0.25,
    "iters": 60,
    "step_factors": [2.0, 0.5],
    "unbalance": 10.0,
}


@pytest.fixture
def tiny_problem():
    rng = np.random.default_rng(7)
    op = GaussianSensing(12, (5, 4), seed=3)
    truth = rng.standard_normal((5, 2)) @ rng.standard_normal((2, 4))
    U = rng.standard_normal((5, 3))
    V = rng.standard_normal((4, 3))
    return op, op(truth), U, V


# The identity -------------------------------------------------------------------------------


@pytest.mark.parametrize("step", [1e-3, 0.05, 0.3])
def test_identity_holds_on_a_gradient_step(tiny_problem, step):
    op, y, U, V = tiny_problem
    E = op.adjoint(op(U @ V.T) - y)
    result = factorized_gd(op, y, U, V, step, 1)
    lhs = imbalance(result.U, result.V) - imbalance(U, V)
    rhs = imbalance_step(U, V, E, step)
    assert np.abs(rhs).max() > 1e-6  # a real change, not 0 = 0
    np.testing.assert_allclose(lhs, rhs, rtol=0, atol=1e-12 * np.abs(rhs).max() + 1e-13)
    residual, scale = identity_residual(U, V, result.U, result.V, E, step)
    assert residual / scale < 1e-14
    assert scale > np.linalg.norm(U.T @ U)


def test_identity_residual_detects_a_sequential_update(tiny_problem):
    # The identity depends on the simultaneous update; a V step that uses U_{t+1} breaks it.
    op, y, U, V = tiny_problem
    step = 0.1
    E = op.adjoint(op(U @ V.T) - y)
    U1 = U - step * E @ V
    V1 = V - step * E.T @ U1
    residual, scale = identity_residual(U, V, U1, V1, E, step)
    assert residual / scale > 1e-4


def test_identity_normalization_does_not_blow_up_without_change(tiny_problem):
    # With E = 0 the step changes nothing: both sides vanish, and the ratio is rounding,
    # not 0/0 (a normalization by ||Δ_{t+1} - Δ_t|| would divide by zero here).
    _, _, U, V = tiny_problem
    residual, scale = identity_residual(U, V, U, V, np.zeros((5, 4)), 0.1)
    assert scale > 0 and residual / scale < 1e-15


def test_identity_error_along_a_run():
    run = implicit_balancing(**TINY, seed=0)
    history = run.results["base"].history
    assert np.isnan(history["identity_error"][0])
    assert np.nanmax(history["identity_error"]) < 1e-13
    assert run.data["identity_change"].shape == (TINY["iters"],)
    assert run.data["identity_change"].max() > 1e3 * np.nanmax(history["identity_error"])


# The unbalanced start -------------------------------------------------------------------


def test_unbalanced_init_keeps_the_product(tiny_problem):
    _, _, U, V = tiny_problem
    Uc, Vc = unbalanced_init(U, V, 100.0)
    np.testing.assert_allclose(Uc @ Vc.T, U @ V.T, rtol=1e-13, atol=1e-13)
    np.testing.assert_allclose(Uc, 100.0 * U)
    np.testing.assert_allclose(imbalance(Uc, Vc), 1e4 * U.T @ U - 1e-4 * V.T @ V)
    Ub, Vb = unbalanced_init(U, V, 1.0)
    np.testing.assert_array_equal(Ub, U)
    np.testing.assert_array_equal(Vb, V)


@pytest.mark.parametrize(
    ("c", "error", "message"),
    [
        (0.0, ValueError, "unbalance must be > 0, got 0"),
        (-2.0, ValueError, "unbalance must be > 0, got -2"),
        (float("inf"), ValueError, "unbalance must be finite"),
        ("big", TypeError, "unbalance must be a real number"),
    ],
)
def test_unbalanced_init_validates_c(tiny_problem, c, error, message):
    _, _, U, V = tiny_problem
    with pytest.raises(error, match=message):
        unbalanced_init(U, V, c)


# The experiment ------------------------------------------------------------------------


def test_runs_cover_the_same_effective_time():
    run = implicit_balancing(**TINY, seed=1)
    assert set(run.results) == {"base", "step_x2", "step_x0.5", "unbalanced"}
    base, half, double = (run.results[n] for n in ("base", "step_x0.5", "step_x2"))
    assert (base.iters, half.iters, double.iters) == (60, 120, 30)
    assert (base.step, half.step, double.step) == (0.25, 0.125, 0.5)
    # The half step is recorded at the base run's effective times.
    np.testing.assert_array_equal(half.history["iteration"], 2 * base.history["iteration"])
    assert base.history["drift"][0] == 0.0
    # The drift is measured from the shared start: at t = 0 the imbalance is ||Δ_0||.
    assert base.history["imbalance"][0] == pytest.approx(run.data["delta0"], rel=1e-12)
    # The unbalanced start has the same product, hence the same initial test error and loss.
    unbalanced = run.results["unbalanced"].history
    assert unbalanced["test_error"][0] == pytest.approx(base.history["test_error"][0], rel=1e-12)
    assert unbalanced["train_loss"][0] == pytest.approx(base.history["train_loss"][0], rel=1e-12)
    assert unbalanced["imbalance"][0] > 10 * base.history["imbalance"][0]
    assert run.results["unbalanced"].history["iteration"][-1] == TINY["iters"]


def test_same_seed_same_measurements():
    first = claims.evaluate("M8", implicit_balancing(**TINY, seed=2)).measured
    second = claims.evaluate("M8", implicit_balancing(**TINY, seed=2)).measured
    assert first == second
    assert claims.evaluate("M8", implicit_balancing(**TINY, seed=3)).measured != first


@pytest.mark.parametrize(
    ("override", "error", "message"),
    [
        ({"alpha": -1.0}, ValueError, "alpha must be > 0, got -1"),
        ({"step": 0.0}, ValueError, "step must be > 0, got 0"),
        ({"iters": 0}, ValueError, "iters must be an integer >= 1, got 0"),
        ({"k": 2.5}, TypeError, "k must be an integer"),
        ({"unbalance": 0.0}, ValueError, "unbalance must be > 0, got 0"),
        ({"step_factors": []}, ValueError, "step_factors must be a non-empty list"),
        ({"step_factors": [1.0, 0.5]}, ValueError, "distinct factors other than 1"),
        ({"step_factors": [0.5, 0.5]}, ValueError, "distinct factors other than 1"),
        ({"step_factors": [-0.5]}, ValueError, r"step_factors\[\] must be > 0"),
        ({"step_factors": 0.5}, TypeError, "step_factors must be a list of positive numbers"),
    ],
)
def test_parameters_are_validated_up_front(override, error, message):
    with pytest.raises(error, match=message):
        implicit_balancing(**{**TINY, **override}, seed=0)


def test_claim_needs_the_half_step():
    run = implicit_balancing(**{**TINY, "step_factors": [2.0]}, seed=0)
    with pytest.raises(ValueError, match=r"step_factors must contain 0\.5"):
        claims.evaluate("M8", run)


def test_claim_registration():
    claim = claims.get("M8")
    assert claim.experiment is implicit_balancing
    assert claim.notebook == "notebooks/m8_balancing.ipynb"
    assert claim.threshold("identity_error").value == 1e-10
    assert claim.threshold("max_imbalance").value == 1e-2
    assert claim.threshold("drift_ratio").value == (1.6, 2.5)
    assert claim.threshold("unbalanced_error_ratio").value == 5.0
    ci = claim.params("ci")
    assert (ci["n1"], ci["n2"], ci["r"], ci["m"], ci["k"], ci["step"]) == (40, 30, 2, 560, 40, 0.25)
    assert ci["alpha"] == 1e-6 and ci["unbalance"] == 100.0 and 0.5 in ci["step_factors"]


# The notebook ---------------------------------------------------------------------------


def test_only_the_verdict_cell_carries_outputs():
    assert_only_verdict_cell_has_outputs(NOTEBOOK)
