"""Claim M10 machinery: nested initial draws, the escape time, runs recorded densely until
the escape, the measurement, parameter validation and determinism."""

from __future__ import annotations

import math

import numpy as np
import pytest

import matrix_sensing as ms
from matrix_sensing import claims
from matrix_sensing.claims.width import measure_m10
from matrix_sensing.experiments import Run, spawn_seeds
from matrix_sensing.experiments.width import (
    check_extra_alphas,
    check_widths,
    escape_time,
    nested_init,
    run_recording_escape,
    width_sweep,
)

# A tiny problem (rank 1) that escapes within a few dozen iterations.
TINY = {
    "n1": 8,
    "n2": 6,
    "r": 1,
    "kappa": 1.0,
    "m": 60,
    "widths": [1, 2, 8],
    "alpha": 1e-4,
    "step": 0.25,
    "iters": 300,
    "escape_level": 0.1,
    "extra_width": 8,
    "extra_alphas": [1e-2],
}


@pytest.fixture(scope="module")
def tiny_run():
    return width_sweep(**TINY, seed=3)


@pytest.fixture
def tiny_problem():
    truth = ms.low_rank_target(8, 6, 1, kappa=1.0, seed=0)
    op = ms.GaussianSensing(60, (8, 6), seed=1)
    U0, V0 = ms.small_random_init(8, 6, 4, 1e-4, seed=2)
    return op, op(truth), U0, V0, truth


# Nested initial draws ---------------------------------------------------------------------


def test_nested_init_takes_the_first_columns_scaled_to_variance_alpha2_over_k():
    rng = np.random.default_rng(0)
    G_U, G_V = rng.standard_normal((7, 10)), rng.standard_normal((5, 10))
    for k in (1, 3, 10):
        U0, V0 = nested_init(G_U, G_V, k, 1e-3)
        assert U0.shape == (7, k) and V0.shape == (5, k)
        np.testing.assert_allclose(U0, 1e-3 * G_U[:, :k] / math.sqrt(k), rtol=1e-15)
        np.testing.assert_allclose(V0, 1e-3 * G_V[:, :k] / math.sqrt(k), rtol=1e-15)
    # Wider runs share the narrower runs' columns (up to the scale 1/sqrt(k)).
    narrow, wide = nested_init(G_U, G_V, 3, 1.0)[0], nested_init(G_U, G_V, 10, 1.0)[0]
    np.testing.assert_allclose(narrow * math.sqrt(3), wide[:, :3] * math.sqrt(10), rtol=1e-15)


def test_nested_init_rejects_a_width_beyond_the_draw():
    G = np.ones((4, 3))
    with pytest.raises(ValueError, match=r"^k must be an integer >= 1 and <= 3, got 4$"):
        nested_init(G, G, 4, 1.0)


def test_widest_run_starts_from_the_package_initialization(tiny_run):
    # U_0 at the widest width is small_random_init at that width, from the run's init seed:
    # compare the imbalance ||U_0^T U_0 - V_0^T V_0|| recorded at t = 0.
    _, init_seed = spawn_seeds(3, 2)
    U0, V0 = ms.small_random_init(8, 6, 8, TINY["alpha"], seed=init_seed)
    recorded = tiny_run.results["k=8"].history["imbalance"][0]
    assert recorded == pytest.approx(ms.metrics.imbalance_norm(U0, V0), rel=1e-12)
    # and the width-2 run starts from the first two columns of the same draw
    U2, V2 = U0[:, :2] * math.sqrt(8 / 2), V0[:, :2] * math.sqrt(8 / 2)
    recorded = tiny_run.results["k=2"].history["imbalance"][0]
    assert recorded == pytest.approx(ms.metrics.imbalance_norm(U2, V2), rel=1e-12)


# Escape time and recording ----------------------------------------------------------------


def test_escape_time_is_first_recorded_iteration_strictly_below_level():
    history = {
        "iteration": np.array([0, 1, 2, 3, 10]),
        "test_error": np.array([1, 0.1, 0.2, 0.05, 1e-4]),
    }
    assert escape_time(history, 0.1) == 3.0  # 0.1 itself is not below 0.1
    assert escape_time(history, 0.15) == 1.0
    assert escape_time(history, 1e-3) == 10.0  # recorded iterations only
    assert math.isnan(escape_time(history, 1e-4))


def test_recording_is_dense_until_the_escape_and_the_iterates_are_one_run(tiny_problem):
    op, y, U0, V0, truth = tiny_problem
    chunked = run_recording_escape(
        op, y, U0, V0, 0.25, 300, truth, level=0.1, record_every=25, chunk=20
    )
    plain = ms.factorized_gd(op, y, U0, V0, 0.25, 300, truth=truth, record_every=1)
    np.testing.assert_array_equal(chunked.U, plain.U)
    np.testing.assert_array_equal(chunked.V, plain.V)
    assert chunked.iters == 300
    it = chunked.history["iteration"]
    t_escape = escape_time(plain.history, 0.1)
    assert escape_time(chunked.history, 0.1) == t_escape
    dense_end = 20 * math.ceil(t_escape / 20)  # the end of the chunk of the escape
    np.testing.assert_array_equal(it[: dense_end + 1], np.arange(dense_end + 1))
    tail = np.arange(dense_end, 301, 25)
    np.testing.assert_array_equal(it[dense_end:], np.append(tail, 300) if tail[-1] != 300 else tail)
    for key, values in chunked.history.items():
        np.testing.assert_allclose(values, plain.history[key][it], rtol=1e-12, atol=1e-300)


def test_recording_without_escape_stays_dense(tiny_problem):
    op, y, U0, V0, truth = tiny_problem
    result = run_recording_escape(op, y, U0, V0, 0.25, 30, truth, level=1e-9, record_every=10)
    np.testing.assert_array_equal(result.history["iteration"], np.arange(31))
    assert math.isnan(escape_time(result.history, 1e-9))


# The experiment and the measurement -------------------------------------------------------


def test_tiny_run_shows_the_claim_in_miniature(tiny_run):
    data = tiny_run.data
    np.testing.assert_array_equal(data["widths"], [1, 2, 8])
    errors = dict(zip(data["widths"], data["final_test_error"], strict=True))
    assert errors[1] < 1e-10  # k = r converges to rounding
    assert min(errors[2], errors[8]) > 1e3 * errors[1]  # k > r stalls at a floor
    assert np.all(np.isfinite(data["escape_time"]))
    assert set(tiny_run.results) == {"k=1", "k=2", "k=8", "extra/k=8/alpha=0.01"}
    # the larger extra scale ends at a higher floor than alpha at the same width
    assert data["extra_final_test_error"][0] > errors[8]
    assert tiny_run.params == {**TINY, "widths": [1, 2, 8], "extra_alphas": [1e-2]}


def test_same_seed_same_numbers(tiny_run):
    again = width_sweep(**TINY, seed=3)
    for key, value in tiny_run.data.items():
        np.testing.assert_array_equal(again.data[key], value)
    other = width_sweep(**TINY, seed=4)
    assert not np.array_equal(other.data["final_test_error"], tiny_run.data["final_test_error"])


def _fake_run(errors, times, r=2, widths=(2, 4, 10)):
    return Run(
        "width_sweep",
        {"r": r},
        0,
        np.eye(2),
        data={
            "widths": np.array(widths),
            "final_test_error": np.array(errors),
            "escape_time": np.array(times, dtype=float),
        },
    )


def test_measure_m10_on_synthetic_data():
    measured = measure_m10(_fake_run([1e-15, 3e-5, 2e-4], [130.0, 120.0, 125.0]))
    assert measured == {
        "max_test_error": 2e-4,
        "exact_test_error": 1e-15,
        "overparam_floor": 3e-5,
        "escape_ratio": pytest.approx(130 / 120),
    }
    never = measure_m10(_fake_run([1e-15, 3e-5, 2e-4], [130.0, math.nan, 125.0]))
    assert math.isnan(never["escape_ratio"])
    result = claims.ClaimResult(claims.get("M10"), 0, never)
    assert not result.passed


def test_thresholds_are_the_digest_ones():
    claim = claims.get("M10")
    assert [(t.quantity, t.relation, t.value) for t in claim.thresholds] == [
        ("max_test_error", "<=", 1e-3),
        ("exact_test_error", "<=", 1e-10),
        ("overparam_floor", ">=", 1e-7),
        ("escape_ratio", "<=", 1.3),
    ]
    assert claim.experiment is width_sweep
    assert claim.notebook == "notebooks/m10_width.ipynb"


# Parameter validation ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("override", "error", "message"),
    [
        (
            {"widths": [2, 4]},
            ValueError,
            "widths must be distinct integers >= 1 that contain the rank r=1 and at least one "
            "width k > r, got [2, 4]",
        ),
        ({"widths": [1]}, ValueError, "contain the rank r=1 and at least one width k > r"),
        ({"widths": [1, 2, 2]}, ValueError, "widths must be distinct integers >= 1"),
        ({"widths": [1, 0]}, ValueError, "widths[] must be an integer >= 1, got 0"),
        ({"widths": [1, 2.5]}, TypeError, "widths[] must be an integer, got 2.5"),
        ({"widths": "1,2"}, TypeError, "widths must be a list of integers >= 1, got '1,2'"),
        ({"alpha": 0.0}, ValueError, "alpha must be > 0, got 0"),
        ({"step": -0.1}, ValueError, "step must be > 0, got -0.1"),
        ({"iters": 0}, ValueError, "iters must be an integer >= 1, got 0"),
        ({"escape_level": 0}, ValueError, "escape_level must be > 0, got 0"),
        ({"extra_width": 0}, ValueError, "extra_width must be an integer >= 1, got 0"),
        (
            {"extra_alphas": []},
            ValueError,
            "extra_alphas must contain at least one number, all distinct and in (0, 1), got []",
        ),
        ({"extra_alphas": [2.0]}, ValueError, "all distinct and in (0, 1), got [2.0]"),
        ({"extra_alphas": [float("nan")]}, ValueError, "extra_alphas[] must be finite, got nan"),
        ({"r": 9}, ValueError, "r must be an integer >= 1 and <= 6, got 9"),
    ],
)
def test_bad_parameters_fail_clearly(override, error, message):
    with pytest.raises(error) as info:
        width_sweep(**{**TINY, **override}, seed=0)
    assert message in str(info.value)


def test_validators_return_clean_lists():
    assert check_widths((1, 3, np.int64(8)), 1) == [1, 3, 8]
    assert check_extra_alphas((1e-2, np.float64(1e-3))) == [1e-2, 1e-3]
    with pytest.raises(TypeError, match="extra_alphas must be a list of numbers in \\(0, 1\\)"):
        check_extra_alphas(0.1)
