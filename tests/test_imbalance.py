"""Claims N2-N4 machinery: the rebalancing step, the two rate-window rules, the continued
run with k > r, the three experiments (parameter validation, determinism, the runs they
share), and their registration (the notebook's parameters: tests/test_parameters_sync.py)."""

from __future__ import annotations

import inspect
import math

import numpy as np
import pytest

import matrix_sensing as ms
from matrix_sensing import claims
from matrix_sensing.claims.imbalance import measure_n2, measure_n3, measure_n4
from matrix_sensing.experiments import Run
from matrix_sensing.experiments.imbalance import (
    _scaled_run,
    alpha_squared_rates,
    equal_scale_slowdown,
    level_window_rate,
    rebalanced_rates,
    scaled_window_rate,
)
from matrix_sensing.solvers import DivergenceError, rebalance

EXPERIMENTS = {"N2": alpha_squared_rates, "N3": equal_scale_slowdown, "N4": rebalanced_rates}

# A tiny problem whose every phase fits in a few hundred cheap iterations (bookkeeping only):
# the parameters of all three experiments, each taking its own (see `only`).
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


def only(experiment, params: dict) -> dict:
    """The entries of ``params`` that ``experiment`` takes (its keywords without defaults)."""
    signature = inspect.signature(experiment).parameters
    return {
        name: value
        for name, value in params.items()
        if name in signature and signature[name].default is inspect.Parameter.empty
    }


@pytest.fixture(scope="module")
def tiny_runs():
    return {cid: run(**only(run, TINY), seed=2) for cid, run in EXPERIMENTS.items()}


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


# The continued run with k > r ------------------------------------------------------------


def test_continued_run_equals_one_long_run_and_captures_the_first_crossing():
    truth = ms.low_rank_target(12, 12, 1, kappa=1.0, seed=0)
    op = ms.GaussianSensing(200, (12, 12), seed=1)
    y = op(truth)
    U0, V0 = ms.initialization.unequal_scale_init(12, 12, 3, 0.2, 3.0, seed=2)
    # The scaled window [0, 0.3] ends 30 iterations after t_s (1/(μ α²) = 100), not enough
    # to reach 1e-4: the run continues in chunks.
    result, t_s, rate, bounds, (t_switch, U_s, V_s) = _scaled_run(
        op,
        y,
        U0,
        V0,
        0.25,
        0.2,
        [0.0, 0.3],
        1e-1,
        below=1e-4,
        record_every=5,
        progress=False,
    )
    reference = ms.factorized_gd(op, y, U0, V0, 0.25, result.iters, record_every=5)
    assert result.iters >= t_s + 30 and result.iters > 30
    assert bounds == [t_s, t_s + 30]
    assert rate == scaled_window_rate(reference.history, 0.25, 0.2, 0.0, 0.3, t_s)[0]
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


def test_a_switch_level_changes_how_the_run_is_cut_not_what_it_records(monkeypatch):
    """With ``below``, the first span goes in pieces of ``_SWITCH_PIECE`` (rounded up to a
    multiple of record_every) until the loss is below it, so that the switch iterate is
    recovered from a nearby start: the same iterates, records and switch as the first span
    in one piece."""
    import matrix_sensing.experiments._common as common
    import matrix_sensing.experiments.imbalance as imbalance

    truth = ms.low_rank_target(12, 12, 1, kappa=1.0, seed=0)
    op = ms.GaussianSensing(200, (12, 12), seed=1)
    y = op(truth)
    U0, V0 = ms.initialization.unequal_scale_init(12, 12, 3, 0.2, 3.0, seed=2)
    # span = ceil(1.03 / (0.25 * 0.04)) = 103 (not a multiple of record_every = 5); the loss
    # is first recorded below 1e-4 at iteration 85, inside it; t_s = 15.
    args = (op, y, U0, V0, 0.25, 0.2, [0.0, 1.03], 1e-1)
    options = {"below": 1e-4, "record_every": 5, "progress": False}
    lengths = []

    def counted(*args, **kwargs):
        lengths.append(args[5])
        return ms.factorized_gd(*args, **kwargs)

    for module in (imbalance, common):  # the first piece, the others and the rerun
        monkeypatch.setattr(module, "factorized_gd", counted)
    monkeypatch.setattr(imbalance, "_SWITCH_PIECE", 12)  # pieces of 15
    cut = _scaled_run(*args, **options)
    # Six pieces to 90 (85 is in the sixth), one to 103, t_s = 15 more, the rerun from 75.
    assert lengths == [15] * 6 + [13, 15, 10]
    monkeypatch.setattr(imbalance, "_SWITCH_PIECE", 10**6)
    lengths.clear()
    whole = _scaled_run(*args, **options)
    assert lengths == [103, 15, 85]
    assert cut[4][0] == whole[4][0] == 85 and 103 in cut[0].history["iteration"]
    for name in ("iteration", "train_loss", "imbalance"):
        np.testing.assert_array_equal(cut[0].history[name], whole[0].history[name])
    np.testing.assert_array_equal(cut[0].U, whole[0].U)
    assert cut[1:4] == whole[1:4]  # t_s, rate, window
    np.testing.assert_array_equal(cut[4][1], whole[4][1])  # the switch iterate
    np.testing.assert_array_equal(cut[4][2], whole[4][2])


def test_continue_while_joins_pieces_and_iterate_at_reruns_from_the_latest_start():
    from matrix_sensing.experiments._common import continue_while, iterate_at

    truth = ms.low_rank_target(12, 12, 1, kappa=1.0, seed=0)
    op = ms.GaussianSensing(200, (12, 12), seed=1)
    y = op(truth)
    U0, V0 = ms.initialization.unequal_scale_init(12, 12, 3, 0.2, 3.0, seed=2)
    first = ms.factorized_gd(op, y, U0, V0, 0.25, 7, record_every=7)
    starts = [(0, U0, V0)]
    result = continue_while(
        first, op, y, lambda run: 5 if run.iters < 20 else 0, record_every=5, starts=starts
    )
    assert result.iters == 22 and [s[0] for s in starts] == [0, 7, 12, 17]
    np.testing.assert_array_equal(result.history["iteration"], [0, 7, 12, 17, 22])
    reference = ms.factorized_gd(op, y, U0, V0, 0.25, 22)
    np.testing.assert_array_equal(result.U, reference.U)
    np.testing.assert_array_equal(
        result.history["train_loss"], reference.history["train_loss"][[0, 7, 12, 17, 22]]
    )
    for t in (0, 12, 15):
        U_t, V_t = iterate_at(op, y, 0.25, starts, t)
        state = ms.factorized_gd(op, y, U0, V0, 0.25, t)
        np.testing.assert_array_equal(U_t, state.U)
        np.testing.assert_array_equal(V_t, state.V)
    with pytest.raises(ValueError, match="t must be >= the first start 0, got -1"):
        iterate_at(op, y, 0.25, starts, -1)


# The experiments ------------------------------------------------------------------------


def test_tiny_runs_record_every_rate(tiny_runs):
    n2, n3, n4 = tiny_runs["N2"].data, tiny_runs["N3"].data, tiny_runs["N4"].data
    for data, name in ((n2, "rate_unequal"), (n2, "rate_exact"), (n4, "rate_rebalanced")):
        assert len(data[name]) == 2 and all(0 < v < 1 for v in data[name]), name
    assert len(n4["imbalance_change"]) == 2 and all(np.isfinite(n4["imbalance_change"]))
    assert 0 < n3["rate_equal"] < n3["rate_unequal"] < 1
    assert n4["rebalance_product_error"] <= 1e-12
    for alpha, t_switch in zip(TINY["alphas"], n4["rebalance_iteration"], strict=True):
        after = tiny_runs["N4"].results[f"rebalanced_{alpha:g}"].history
        assert after["iteration"][0] == t_switch
        assert after["train_loss"][0] < TINY["rebalance_below"]
    assert set(tiny_runs["N2"].results) == {"unequal_0.2", "exact_0.2", "unequal_0.3", "exact_0.3"}
    assert set(tiny_runs["N3"].results) == {"unequal", "equal"}
    assert set(tiny_runs["N4"].results) == {
        "unequal_0.2",
        "rebalanced_0.2",
        "unequal_0.3",
        "rebalanced_0.3",
    }
    assert tiny_runs["N2"].results["exact_0.2"].U.shape == (12, 1)
    assert "test_error" in tiny_runs["N3"].results["equal"].history


def test_n4_continues_the_runs_of_n2(tiny_runs):
    """N4's speed-up divides by N2's rates: its runs with k > r are N2's, continued until the
    loss is below rebalance_below, so the rates and windows are N2's exactly."""
    n2, n4 = tiny_runs["N2"], tiny_runs["N4"]
    assert n4.data["rate_unequal"] == n2.data["rate_unequal"]
    assert n4.data["signal_time"] == n2.data["signal_time"]
    for alpha in TINY["alphas"]:
        name = f"unequal_{alpha:g}"
        short, long = n2.results[name].history, n4.results[name].history
        assert n4.data["windows"][name] == n2.data["windows"][name]
        assert n4.results[name].iters >= n2.results[name].iters
        for key in ("iteration", "train_loss"):
            np.testing.assert_array_equal(long[key][: len(short[key])], short[key])


def test_the_three_experiments_share_the_data_of_a_seed(tiny_runs):
    for run in tiny_runs.values():
        np.testing.assert_array_equal(run.truth, tiny_runs["N2"].truth)


def test_tiny_runs_are_deterministic(tiny_runs):
    for cid, experiment in EXPERIMENTS.items():
        again = experiment(**only(experiment, TINY), seed=2)
        for name, result in tiny_runs[cid].results.items():
            np.testing.assert_array_equal(
                result.history["train_loss"], again.results[name].history["train_loss"]
            )
        assert claims.evaluate(cid, again).measured == claims.evaluate(cid, tiny_runs[cid]).measured


def test_runs_record_their_parameters(tiny_runs):
    for cid, experiment in EXPERIMENTS.items():
        assert tiny_runs[cid].experiment == experiment.__name__
        assert tiny_runs[cid].params == only(experiment, TINY)


def test_claims_measure_the_tiny_runs(tiny_runs):
    n2, n3, n4 = (tiny_runs[cid] for cid in ("N2", "N3", "N4"))
    alphas = np.array(TINY["alphas"])
    ratio = np.array(n2.data["rate_unequal"]) / alphas**2
    assert measure_n2(n2)["rate_over_alpha2_spread"] == pytest.approx(ratio.max() / ratio.min() - 1)
    measured = measure_n3(n3)
    assert measured["equal_init_slowdown"] == n3.data["rate_unequal"] / n3.data["rate_equal"]
    assert measured["imbalance_change"] == n3.data["imbalance_change_unequal"]
    speedup = np.array(n4.data["rate_rebalanced"]) / np.array(n4.data["rate_unequal"])
    assert measure_n4(n4)["rebalance_speedup"] == pytest.approx(speedup.min())


def test_a_missing_rate_fails_the_claim():
    data = {
        "alphas": [0.1, 0.2],
        "rate_unequal": [0.01, 0.04],
        "rate_exact": [0.1, math.nan],
        "rate_rebalanced": [math.nan, 0.5],
    }
    n2 = Run("alpha_squared_rates", {}, 0, np.eye(2), data=data)
    n4 = Run("rebalanced_rates", {}, 0, np.eye(2), data=data)
    assert math.isnan(measure_n2(n2)["exact_rate_spread"])
    assert math.isnan(measure_n4(n4)["rebalance_speedup"])
    assert not claims.evaluate("N4", n4).passed


@pytest.mark.parametrize("cid", sorted(EXPERIMENTS))
def test_divergence_raises_with_the_iteration_and_a_hint(cid):
    experiment = EXPERIMENTS[cid]
    with pytest.raises(DivergenceError) as info:
        experiment(**only(experiment, {**TINY, "step": 20.0}), seed=0)
    assert info.value.iteration >= 1
    assert "Hint: step=20 is too large" in str(info.value)


# Each experiment refuses a bad value of each of its parameters, naming it and its range.
SHARED_CASES = [
    ({"n1": 0}, ValueError, "n1 must be an integer >= 1, got 0"),
    ({"m": 2.5}, TypeError, "m must be an integer"),
    ({"r": 13}, ValueError, "r must be an integer >= 1 and <= 12, got 13"),
    ({"k": 1}, ValueError, "k must be an integer >= 2, got 1"),
    ({"kappa": 0.5}, ValueError, "kappa must be >= 1, got 0.5"),
    ({"step": 0.0}, ValueError, "step must be > 0"),
    ({"ratio": -3.0}, ValueError, "ratio must be > 0"),
    ({"signal_level": 0.0}, ValueError, "signal_level must be > 0"),
]
RATE_CASES = [  # N2 and N4
    ({"alphas": [0.1]}, ValueError, "alphas must hold at least two distinct scales"),
    ({"alphas": [0.1, 0.1]}, ValueError, "alphas must be distinct"),
    ({"alphas": [0.1, -0.2]}, ValueError, "alphas[] must be > 0, got -0.2"),
    ({"alphas": "small"}, TypeError, "alphas must be a list of positive numbers"),
    ({"window": [1.0, 0.5]}, ValueError, "window must be a pair [start, stop] with 0 <= start"),
    ({"window": [-0.1, 0.5]}, ValueError, "window[0] must be >= 0, got -0.1"),
    ({"levels": [1e-9, 1e-6]}, ValueError, "levels must be a pair [high, low]"),
    ({"levels": [1e-6, 0.0]}, ValueError, "levels[1] must be > 0"),
]
VALIDATION = [
    *[("N2", *case) for case in [*SHARED_CASES, *RATE_CASES]],
    ("N2", {"exact_iters": 0}, ValueError, "exact_iters must be an integer >= 1, got 0"),
    *[("N3", *case) for case in SHARED_CASES],
    ("N3", {"alpha_equal": float("nan")}, ValueError, "alpha_equal must be finite"),
    ("N3", {"alpha_equal": 0.0}, ValueError, "alpha_equal must be > 0"),
    ("N3", {"final_window": [2.0]}, ValueError, "final_window must be a pair [start, stop]"),
    ("N3", {"final_window": [2.0, 1.0]}, ValueError, "final_window must be a pair [start, stop]"),
    *[("N4", *case) for case in [*SHARED_CASES, *RATE_CASES]],
    ("N4", {"rebalance_floor": 2.0}, ValueError, "rebalance_floor must be <= 1, got 2"),
    ("N4", {"rebalance_floor": -0.5}, ValueError, "rebalance_floor must be >= 0, got -0.5"),
    ("N4", {"rebalance_below": 0.0}, ValueError, "rebalance_below must be > 0"),
    ("N4", {"rebalance_iters": 0}, ValueError, "rebalance_iters must be an integer >= 1, got 0"),
]


@pytest.mark.parametrize(("cid", "override", "error", "message"), VALIDATION)
def test_experiment_validation(cid, override, error, message):
    experiment = EXPERIMENTS[cid]
    with pytest.raises(error) as info:
        experiment(**only(experiment, {**TINY, **override}), seed=0)
    assert message in str(info.value)


@pytest.mark.parametrize("cid", sorted(EXPERIMENTS))
def test_experiments_refuse_parameters_they_do_not_take(cid):
    experiment = EXPERIMENTS[cid]
    with pytest.raises(TypeError, match="unexpected keyword"):
        experiment(**TINY, seed=0)


# The registry ------------------------------------------------------------------------------


def test_claims_registered_with_their_source():
    for cid, experiment in EXPERIMENTS.items():
        claim = claims.get(cid)
        assert claim.source == "Xiong, Ding & Du 2024"
        assert claim.notebook == "notebooks/n2_n4_imbalance.ipynb"
        assert claim.experiment is experiment
    assert claims.get("N2").threshold("rate_over_alpha2_spread").value == 0.2
    assert claims.get("N3").threshold("equal_init_slowdown").value == 2.0
    assert claims.get("N3").threshold("imbalance_change").value == 0.1
    assert claims.get("N4").threshold("rebalance_speedup").value == 5.0


def test_a_parameter_two_experiments_take_is_declared_once():
    """The notebook runs the three experiments from one parameters cell: a name they share
    is one parameter, with one value."""
    declarations = [claims.get(cid).declaration for cid in EXPERIMENTS]
    names = [{p.name for p in d.parameters} for d in declarations]
    for a, b in ((0, 1), (0, 2), (1, 2)):
        for name in names[a] & names[b]:
            assert declarations[a][name] is declarations[b][name], name
    assert all(not d.suffix for d in declarations)
