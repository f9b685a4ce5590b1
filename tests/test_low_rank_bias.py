"""Claim M9 (implicit low-rank bias at full width): its measurements, its sharing of the
runs of M1/M2, the trajectory experiment behind its figures, and the notebook's outputs."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from _notebook_helpers import assert_only_verdict_cell_has_outputs

from matrix_sensing import claims
from matrix_sensing.experiments import Run, small_vs_large_init
from matrix_sensing.experiments.low_rank_bias import (
    low_rank_trajectory,
    nuclear_norm_gap,
    sigma_ratio,
)
from matrix_sensing.metrics import effective_rank
from matrix_sensing.solvers import GDResult

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK = ROOT / "notebooks" / "m9_low_rank_bias.ipynb"
# Configuration B with a few iterations: for bookkeeping, not for the claim itself.
CHEAP = {"iters_small": 20, "iters_large": 20}


def _rotated(sigma, n1=6, n2=5, seed=0):
    rng = np.random.default_rng(seed)
    left, _ = np.linalg.qr(rng.standard_normal((n1, len(sigma))))
    right, _ = np.linalg.qr(rng.standard_normal((n2, len(sigma))))
    return (left * np.asarray(sigma)) @ right.T


# Measurements ---------------------------------------------------------------------------


def test_sigma_ratio_on_a_known_spectrum():
    M = _rotated([3.0, 2.0, 1e-4, 1e-6])
    assert sigma_ratio(M, 2) == pytest.approx(5e-5, rel=1e-8)
    assert sigma_ratio(M, 1) == pytest.approx(2 / 3, rel=1e-12)
    assert sigma_ratio(_rotated([1.0, 0.5]), 2) == pytest.approx(0.0, abs=1e-15)


@pytest.mark.parametrize(
    ("M", "r", "error", "message"),
    [
        (np.eye(3), 3, ValueError, "r must be an integer >= 1 and <= 2, got 3"),
        (np.eye(3), 0, ValueError, "r must be an integer >= 1"),
        (np.diag([1.0, 0.0, 0.0]), 2, ValueError, "M has rank < r=2"),
        (np.ones(3), 1, ValueError, "M must have 2 dimensions"),
    ],
)
def test_sigma_ratio_validates(M, r, error, message):
    with pytest.raises(error, match=message):
        sigma_ratio(M, r)


def test_nuclear_norm_gap():
    X = _rotated([1.0, 0.5])
    assert nuclear_norm_gap(X, X) == pytest.approx(0.0, abs=1e-14)
    assert nuclear_norm_gap(1.01 * X, X) == pytest.approx(0.01, rel=1e-10)
    # A component outside X's span adds its singular value to the nuclear norm.
    assert nuclear_norm_gap(_rotated([1.0, 0.5, 0.015]), X) == pytest.approx(0.01, rel=1e-10)
    with pytest.raises(ValueError, match="truth must be a non-zero matrix"):
        nuclear_norm_gap(X, np.zeros_like(X))
    with pytest.raises(ValueError, match=r"M must have shape \(6, 5\)"):
        nuclear_norm_gap(np.ones((5, 6)), X)


def test_measure_on_a_synthetic_run():
    X = _rotated([1.0, 0.5], n1=6, n2=5)
    small = _rotated([1.0, 0.5, 2e-4], n1=6, n2=5)  # another basis: only the spectrum counts
    large = _rotated([1.0, 0.9, 0.6, 0.3], n1=6, n2=5, seed=1)
    run = Run("small_vs_large_init", {"r": 2}, 0, X)
    for name, Z in (("small", small), ("large", large)):
        left, s, right_t = np.linalg.svd(Z, full_matrices=False)
        run.results[name] = GDResult(U=left * s, V=right_t.T, step=0.1, iters=0)
    measured = claims.evaluate("M9", run).measured
    assert measured["small_sigma_ratio"] == pytest.approx(4e-4, rel=1e-8)
    assert measured["nuclear_norm_gap"] == pytest.approx(2e-4 / 1.5, rel=1e-8)
    assert measured["large_sigma_ratio"] == pytest.approx(2 / 3, rel=1e-8)
    assert claims.evaluate("M9", run).passed


# One run serves M1, M2 and M9 ---------------------------------------------------------


def test_m9_shares_the_experiment_and_scales_of_m1_m2():
    m9 = claims.get("M9")
    assert m9.experiment is small_vs_large_init is claims.get("M1").experiment
    assert m9.scales is claims.get("M1").scales is claims.get("M2").scales
    assert m9.notebook == "notebooks/m9_low_rank_bias.ipynb"
    assert m9.threshold("small_sigma_ratio").value == 1e-3
    assert m9.threshold("nuclear_norm_gap").value == 1e-3
    assert m9.threshold("large_sigma_ratio").value == 0.5


def test_one_run_serves_m1_m2_and_m9():
    run = claims.run_experiment("M1", 0, **CHEAP)
    for cid in ("M1", "M2", "M9"):
        result = claims.evaluate(cid, run)
        assert set(result.measured) == {t.quantity for t in claims.get(cid).thresholds}


# The trajectory experiment ------------------------------------------------------------


def test_trajectory_has_the_iterates_of_small_vs_large_init():
    params = claims.get("M9").params("ci", **CHEAP)
    reference = small_vs_large_init(**params, seed=3)
    trace = low_rank_trajectory(**params, seed=3, record_every=7)
    np.testing.assert_array_equal(trace.truth, reference.truth)
    for name in ("small", "large"):
        np.testing.assert_allclose(
            trace.results[name].product, reference.results[name].product, rtol=0, atol=1e-13
        )
        history = trace.results[name].history
        np.testing.assert_array_equal(history["iteration"], [0, 7, 14, 20])
        product = trace.results[name].product
        assert history["effective_rank"][-1] == pytest.approx(effective_rank(product))
        assert history["sigma_ratio"][-1] == pytest.approx(sigma_ratio(product, params["r"]))
        nuclear = np.linalg.svd(product, compute_uv=False).sum()
        assert history["nuclear_norm"][-1] == pytest.approx(nuclear)
    np.testing.assert_allclose(
        trace.data["truth_singular_values"][: params["r"]], [1.0, 0.5], rtol=1e-12
    )


@pytest.mark.parametrize(
    ("override", "error", "message"),
    [
        ({"r": 30}, ValueError, "r must be an integer >= 1 and <= 29, got 30"),
        ({"k": 1}, ValueError, "k must be an integer >= 2, got 1"),
        ({"alpha_small": 0.0}, ValueError, "alpha_small must be > 0"),
        ({"step_large": -0.1}, ValueError, "step_large must be > 0"),
        ({"iters_small": 1.5}, TypeError, "iters_small must be an integer"),
    ],
)
def test_trajectory_validates(override, error, message):
    params = claims.get("M9").params("ci", **CHEAP)
    with pytest.raises(error, match=message):
        low_rank_trajectory(**{**params, **override}, seed=0)
    with pytest.raises(ValueError, match="record_every must be an integer >= 1"):
        low_rank_trajectory(**params, seed=0, record_every=0)


# The notebook ---------------------------------------------------------------------------


def test_only_the_verdict_cell_carries_outputs():
    assert_only_verdict_cell_has_outputs(NOTEBOOK)
