"""Claims N2-N4 machinery: the rebalancing step, the two rate-window rules, the continued
plain run, parameter validation, determinism, and the notebook's parameters against the
claim registry."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from _notebook_helpers import assert_scales_match_registry

import matrix_sensing as ms
from matrix_sensing import claims
from matrix_sensing.claims.imbalance import measure_n2, measure_n3, measure_n4
from matrix_sensing.experiments import Run
from matrix_sensing.experiments.imbalance import (
    _plain_run,
    imbalance_rates,
    level_window_rate,
    scaled_window_rate,
)
from matrix_sensing.solvers import DivergenceError, rebalance

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK = ROOT / "notebooks" / "n2_n4_imbalance.ipynb"

# A tiny problem whose every phase fits in a few hundred cheap iterations (bookkeeping only).
TINY = {
    "n1": 12,
    "n2": 12,
    "r": 1,
    "kappa": 1.0,
    "m": 200,
    "k": 3,
    "step": 0.25,
    "alphas": [0.2, 0.3],
    "ratio": 3.0,
    "alpha_equal": 0.3,
    "window": [0.5, 1.0],
    "final_window": [1.0, 2.0],
    "signal_level": 1e-2,
    "levels": [1e-6, 1e-9],
    "exact_iters": 150,
    "rebalance_below": 1e-4,
    "rebalance_floor": 0.5,
    "rebalance_iters": 150,
}


def factors(n1, n2, k, seed=0, spectrum=None):
    rng = np.random.default_rng(seed)
    U, V = rng.standard_normal((n1, k)), rng.standard_normal((n2, k))
    if spectrum is not None:  # U V^T with prescribed singular values, unbalanced factors
        left, _ = np.linalg.qr(rng.standard_normal((n1, k)))
        right, _ = np.linalg.qr(rng.standard_normal((n2, k)))
        mix = rng.standard_normal((k, k)) + 3 * np.eye(k)  # an invertible P
        U = left * np.asarray(spectrum) @ mix
        V = right @ np.linalg.inv(mix).T
    return U, V


@pytest.fixture(scope="module")
def tiny_run():
    return imbalance_rates(**TINY, seed=2)


# The rebalancing step ------------------------------------------------------------------


@pytest.mark.parametrize("shape", [(40, 40, 5), (30, 20, 7), (6, 9, 4), (5, 3, 8)])
@pytest.mark.parametrize("floor", [0.0, 0.5, 1.0])
def test_rebalance_keeps_the_product(shape, floor):
    U, V = factors(*shape, seed=sum(shape))
    U_b, V_b = rebalance(U, V, floor=floor)
    assert U_b.shape == U.shape and V_b.shape == V.shape
    product = U @ V.T
    assert np.linalg.norm(U_b @ V_b.T - product) <= 1e-12 * np.linalg.norm(product)


def test_rebalance_keeps_a_gradient_descent_product():
    # The regime of N4: a product close to rank r with tiny spurious directions, unbalanced.
    U, V = factors(40, 40, 5, seed=7, spectrum=[1.0, 0.5, 1e-3, 1e-4, 1e-6])
    U_b, V_b = rebalance(U, V)
    product = U @ V.T
    assert np.linalg.norm(U_b @ V_b.T - product) <= 1e-12 * np.linalg.norm(product)


def test_rebalance_is_u_p_and_v_p_inverse_transpose():
    U, V = factors(20, 15, 4, seed=3)
    U_b, V_b = rebalance(U, V, floor=0.3)
    P = np.linalg.lstsq(U, U_b, rcond=None)[0]
    np.testing.assert_allclose(U @ P, U_b, atol=1e-12)
    np.testing.assert_allclose(V @ np.linalg.inv(P).T, V_b, atol=1e-11)


def test_floor_zero_balances_the_factors_exactly():
    U, V = factors(40, 40, 5, seed=1, spectrum=[1.0, 0.5, 1e-2, 1e-3, 1e-4])
    before = np.linalg.norm(U.T @ U - V.T @ V)
    U_b, V_b = rebalance(U, V, floor=0.0)
    after = U_b.T @ U_b - V_b.T @ V_b
    assert before > 1.0
    assert np.linalg.norm(after) <= 1e-13 * np.linalg.norm(U_b) ** 2
    sigma = np.linalg.svd(U @ V.T, compute_uv=False)[:5]
    np.testing.assert_allclose(np.sort(np.linalg.eigvalsh(U_b.T @ U_b))[::-1], sigma, rtol=1e-10)


def test_floor_balances_the_strong_directions_and_conditions_u():
    spectrum = np.array([1.0, 0.6, 1e-3, 1e-4, 1e-5])
    U, V = factors(40, 30, 5, seed=2, spectrum=spectrum)
    floor = 0.5
    U_b, V_b = rebalance(U, V, floor=floor)
    # In the rebalanced basis the imbalance is diagonal: D² - σ²/D², D² = max(σ, τ).
    delta = U_b.T @ U_b - V_b.T @ V_b
    sigma = np.linalg.svd(U @ V.T, compute_uv=False)[:5]
    scale_sq = np.maximum(sigma, floor * sigma[0])
    np.testing.assert_allclose(delta, np.diag(scale_sq - sigma**2 / scale_sq), atol=1e-13)
    assert np.all(np.abs(np.diag(delta)[:2]) <= 1e-14)  # balanced where σ_i >= τ
    assert np.linalg.cond(U_b) == pytest.approx(1 / np.sqrt(floor), rel=1e-12)
    assert np.linalg.cond(U) > 1e3  # the input U was badly conditioned


def test_rebalance_against_a_plain_svd_of_the_product():
    # Reference: the full SVD of the n1 x n2 product (sign-free invariants U'U'^T, V'V'^T).
    U, V = factors(25, 18, 6, seed=5)
    U_b, V_b = rebalance(U, V, floor=0.4)
    left, sigma, right_t = np.linalg.svd(U @ V.T)
    left, sigma, right = left[:, :6], sigma[:6], right_t[:6].T
    d2 = np.maximum(sigma, 0.4 * sigma[0])
    np.testing.assert_allclose(U_b @ U_b.T, (left * d2) @ left.T, atol=1e-12)
    np.testing.assert_allclose(V_b @ V_b.T, (right * sigma**2 / d2) @ right.T, atol=1e-12)


def test_rebalance_rank_deficient_and_wide():
    U, V = factors(6, 4, 3, seed=4)
    U[:, 2] = 0.0  # rank 2 product
    U_b, V_b = rebalance(U, V, floor=0.0)
    assert np.all(np.isfinite(U_b)) and np.all(np.isfinite(V_b))
    np.testing.assert_allclose(U_b @ V_b.T, U @ V.T, atol=1e-13)
    np.testing.assert_allclose(V_b[:, 2], 0.0, atol=1e-15)
    U, V = factors(3, 2, 5, seed=6)  # k > n1, n2: zero-padded columns
    U_b, V_b = rebalance(U, V)
    assert U_b.shape == (3, 5) and V_b.shape == (2, 5)
    np.testing.assert_allclose(U_b @ V_b.T, U @ V.T, atol=1e-13)


def test_rebalance_is_deterministic_and_does_not_modify_inputs():
    U, V = factors(10, 8, 3, seed=9)
    U_copy, V_copy = U.copy(), V.copy()
    first, second = rebalance(U, V), rebalance(U, V)
    for a, b in zip(first, second, strict=True):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(U, U_copy)
    np.testing.assert_array_equal(V, V_copy)


@pytest.mark.parametrize(
    ("args", "kwargs", "error", "message"),
    [
        (
            (np.ones((4, 2)), np.ones((3, 3))),
            {},
            ValueError,
            "V must have shape ('*', 2), got (3, 3)",
        ),
        ((np.ones(4), np.ones((3, 1))), {}, ValueError, "U must have 2 dimensions, got shape (4,)"),
        (
            (np.full((4, 2), np.nan), np.ones((3, 2))),
            {},
            ValueError,
            "U must contain only finite values",
        ),
        (
            (np.ones((4, 2)), np.ones((3, 2))),
            {"floor": 1.5},
            ValueError,
            "floor must be <= 1, got 1.5",
        ),
        (
            (np.ones((4, 2)), np.ones((3, 2))),
            {"floor": -0.1},
            ValueError,
            "floor must be >= 0, got -0.1",
        ),
        (
            (np.ones((4, 2)), np.ones((3, 2))),
            {"floor": "half"},
            TypeError,
            "floor must be a real number",
        ),
        ((np.zeros((4, 2)), np.ones((3, 2))), {}, ValueError, "U V^T must be non-zero"),
        ((np.ones((4, 0)), np.ones((3, 0))), {}, ValueError, "U must have shape (n1, k)"),
    ],
)
def test_rebalance_validation(args, kwargs, error, message):
    with pytest.raises(error) as info:
        rebalance(*args, **kwargs)
    assert message in str(info.value)


# Rate windows on synthetic geometric sequences -----------------------------------------


def geometric_history(rho, iters, record_every=1, c=3.0):
    iteration = np.arange(0, iters + 1, record_every)
    return {"iteration": iteration, "train_loss": c * rho**iteration}


def test_scaled_window_rate_recovers_a_geometric_rate():
    step, alpha, rho = 0.25, 0.05, 0.9975
    history = geometric_history(rho, 2000, record_every=10)
    rate, first, last = scaled_window_rate(history, step, alpha, 0.5, 1.0)
    assert (first, last) == (800, 1600)  # [0.5, 1.0] / (μ α²) with 1/(μ α²) = 1600
    assert rate == pytest.approx(1 - rho, rel=1e-10)


def test_scaled_window_rate_uses_only_the_window():
    # Fast decay before the window, the measured rate after: only the latter counts.
    iteration = np.arange(0, 3001, 10)
    loss = np.where(iteration < 800, 0.9**iteration, 0.9**800 * 0.999 ** (iteration - 800))
    history = {"iteration": iteration, "train_loss": loss}
    rate, _, _ = scaled_window_rate(history, 0.25, 0.05, 0.5, 1.0)
    assert rate == pytest.approx(0.001, rel=1e-9)


def test_level_window_rate_recovers_a_geometric_rate():
    history = geometric_history(0.9, 400, c=1.0)
    rate, first, last = level_window_rate(history, [1e-8, 1e-12])
    assert first == math.ceil(8 * math.log(10) / -math.log(0.9) + 1e-9)  # first t: 0.9^t < 1e-8
    assert last == math.ceil(12 * math.log(10) / -math.log(0.9))
    assert rate == pytest.approx(0.1, rel=1e-10)


def test_level_window_rate_not_reached_is_nan():
    rate, first, last = level_window_rate(geometric_history(0.9, 100, c=1.0), [1e-3, 1e-30])
    assert math.isnan(rate) and (first, last) == (-1, -1)


@pytest.mark.parametrize(
    ("levels", "message"),
    [
        ([1e-12, 1e-8], "levels must be a pair [high, low] with high > low > 0"),
        ([1e-8], "levels must be a pair [high, low] with high > low > 0"),
        ([1e-8, -1.0], "levels[1] must be > 0"),
    ],
)
def test_level_window_validation(levels, message):
    with pytest.raises(ValueError) as info:
        level_window_rate(geometric_history(0.9, 10), levels)
    assert message in str(info.value)


def test_scaled_window_validation():
    history = geometric_history(0.9, 10)
    with pytest.raises(ValueError, match=r"stop must be > start, got start=1, stop=0\.5"):
        scaled_window_rate(history, 0.25, 0.05, 1.0, 0.5)
    with pytest.raises(ValueError, match="alpha must be > 0"):
        scaled_window_rate(history, 0.25, 0.0, 0.5, 1.0)


# The continued plain run -----------------------------------------------------------------


def test_continued_run_equals_one_long_run_and_captures_the_first_crossing():
    truth = ms.low_rank_target(12, 12, 1, kappa=1.0, seed=0)
    op = ms.GaussianSensing(200, (12, 12), seed=1)
    y = op(truth)
    U0, V0 = ms.initialization.unequal_scale_init(12, 12, 3, 0.2, 3.0, seed=2)
    # 30 iterations are not enough to reach 1e-4: the run continues in chunks.
    result, t_s, (t_switch, U_s, V_s) = _plain_run(
        op,
        y,
        U0,
        V0,
        0.25,
        span=30,
        signal_level=1e-1,
        below=1e-4,
        record_every=5,
        progress=False,
    )
    reference = ms.factorized_gd(op, y, U0, V0, 0.25, result.iters, record_every=5)
    assert result.iters >= t_s + 30 and result.iters > 30
    assert t_s == ms.metrics.first_crossing(
        reference.history["iteration"], reference.history["train_loss"], 1e-1
    )
    np.testing.assert_array_equal(result.history["iteration"], reference.history["iteration"])
    np.testing.assert_array_equal(result.history["train_loss"], reference.history["train_loss"])
    np.testing.assert_array_equal(result.U, reference.U)
    expected = ms.metrics.first_crossing(
        reference.history["iteration"], reference.history["train_loss"], 1e-4
    )
    assert t_switch == expected
    state = ms.factorized_gd(op, y, U0, V0, 0.25, t_switch)
    np.testing.assert_array_equal(U_s, state.U)
    np.testing.assert_array_equal(V_s, state.V)


# The experiment ------------------------------------------------------------------------


def test_tiny_run_records_every_rate(tiny_run):
    data = tiny_run.data
    for name in ("rate_unequal", "rate_exact", "rate_rebalanced", "imbalance_change"):
        assert len(data[name]) == 2 and all(np.isfinite(data[name])), name
        assert all(0 < v < 1 for v in data[name]) or name == "imbalance_change", name
    assert 0 < data["rate_equal_final"] < data["rate_unequal_final"] < 1
    assert data["rebalance_product_error"] <= 1e-12
    for alpha, t_switch in zip(TINY["alphas"], data["rebalance_iteration"], strict=True):
        after = tiny_run.results[f"rebalanced_{alpha:g}"].history
        assert after["iteration"][0] == t_switch
        assert after["train_loss"][0] < TINY["rebalance_below"]
    assert set(tiny_run.results) == {
        "unequal_0.2",
        "exact_0.2",
        "rebalanced_0.2",
        "unequal_0.3",
        "exact_0.3",
        "rebalanced_0.3",
        "final_unequal",
        "final_equal",
    }
    assert tiny_run.results["exact_0.2"].U.shape == (12, 1)
    assert "test_error" in tiny_run.results["final_equal"].history


def test_tiny_run_is_deterministic(tiny_run):
    again = imbalance_rates(**TINY, seed=2)
    for name, result in tiny_run.results.items():
        np.testing.assert_array_equal(
            result.history["train_loss"], again.results[name].history["train_loss"]
        )
    assert again.data["rate_rebalanced"] == tiny_run.data["rate_rebalanced"]


def test_claims_measure_the_tiny_run(tiny_run):
    n2, n3, n4 = measure_n2(tiny_run), measure_n3(tiny_run), measure_n4(tiny_run)
    data, alphas = tiny_run.data, np.array(TINY["alphas"])
    ratio = np.array(data["rate_unequal"]) / alphas**2
    assert n2["rate_over_alpha2_spread"] == pytest.approx(ratio.max() / ratio.min() - 1)
    assert n3["equal_init_slowdown"] == data["rate_unequal_final"] / data["rate_equal_final"]
    assert n3["imbalance_change"] == data["imbalance_change_final"]
    speedup = np.array(data["rate_rebalanced"]) / np.array(data["rate_unequal"])
    assert n4["rebalance_speedup"] == pytest.approx(speedup.min())


def test_a_missing_rate_fails_the_claim():
    run = Run(
        "imbalance_rates",
        {},
        0,
        np.eye(2),
        data={
            "alphas": [0.1, 0.2],
            "rate_unequal": [0.01, 0.04],
            "rate_exact": [0.1, math.nan],
            "rate_rebalanced": [math.nan, 0.5],
        },
    )
    assert math.isnan(measure_n2(run)["exact_rate_spread"])
    assert math.isnan(measure_n4(run)["rebalance_speedup"])
    result = claims.ClaimResult(claims.get("N4"), 0, measure_n4(run))
    assert not result.passed


def test_divergence_raises_with_the_iteration_and_a_hint():
    with pytest.raises(DivergenceError) as info:
        imbalance_rates(**{**TINY, "step": 20.0}, seed=0)
    assert info.value.iteration >= 1
    assert "Hint: step=20 is too large" in str(info.value)


@pytest.mark.parametrize(
    ("override", "error", "message"),
    [
        ({"k": 1}, ValueError, "k must be an integer >= 2, got 1"),
        ({"alphas": [0.1]}, ValueError, "alphas must hold at least two distinct scales"),
        ({"alphas": [0.1, 0.1]}, ValueError, "alphas must be distinct"),
        ({"alphas": [0.1, -0.2]}, ValueError, "alphas[] must be > 0, got -0.2"),
        ({"alphas": "small"}, TypeError, "alphas must be a list of positive numbers"),
        ({"window": [1.0, 0.5]}, ValueError, "window must be a pair [start, stop] with 0 <= start"),
        ({"final_window": [2.0]}, ValueError, "final_window must be a pair [start, stop]"),
        ({"levels": [1e-9, 1e-6]}, ValueError, "levels must be a pair [high, low]"),
        ({"rebalance_floor": 2.0}, ValueError, "rebalance_floor must be <= 1, got 2"),
        ({"rebalance_below": 0.0}, ValueError, "rebalance_below must be > 0"),
        ({"alpha_equal": float("nan")}, ValueError, "alpha_equal must be finite"),
        ({"step": 0.0}, ValueError, "step must be > 0"),
        ({"exact_iters": 0}, ValueError, "exact_iters must be an integer >= 1, got 0"),
        ({"ratio": -3.0}, ValueError, "ratio must be > 0"),
    ],
)
def test_experiment_validation(override, error, message):
    with pytest.raises(error) as info:
        imbalance_rates(**{**TINY, **override}, seed=0)
    assert message in str(info.value)


# The notebook and the registry -----------------------------------------------------------


def test_claims_registered_with_their_source():
    for cid in ("N2", "N3", "N4"):
        claim = claims.get(cid)
        assert claim.source == "Xiong, Ding & Du 2024"
        assert claim.notebook == "notebooks/n2_n4_imbalance.ipynb"
        assert claim.experiment is imbalance_rates
        assert claim.params("ci") == claims.get("N2").params("ci")
    assert claims.get("N2").threshold("rate_over_alpha2_spread").value == 0.2
    assert claims.get("N3").threshold("equal_init_slowdown").value == 2.0
    assert claims.get("N3").threshold("imbalance_change").value == 0.1
    assert claims.get("N4").threshold("rebalance_speedup").value == 5.0


def test_notebook_parameters_are_the_registry_scales():
    assert_scales_match_registry(NOTEBOOK, ("N2", "N3", "N4"))
