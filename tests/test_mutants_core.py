"""Behaviour of the operators, targets, metrics and solver at the edges the other tests leave.

Written to kill the mutants that ``make mutation`` found surviving in the core modules (the
ones that cannot be killed are listed with their reason in tests/mutmut_equivalent.md): the
operators' arrays are read-only and copied to another dtype only when a solve needs it,
gradients over several row blocks, a truth of norm exactly 1, boundaries of the metrics
("below" is strict), and errors that name the parameter the caller gave.
"""

from __future__ import annotations

import io
import sys
import warnings

import numpy as np
import pytest

from matrix_sensing import (
    DivergenceError,
    EntrySampling,
    GaussianSensing,
    RankOneSensing,
    factorized_gd,
    low_rank_target,
    metrics,
    psd_target,
    small_random_init,
)
from matrix_sensing.operators import TwoPassGradients

# Operators ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("make", "arrays"),
    [
        (lambda: GaussianSensing(6, (3, 2), seed=0), ("matrix",)),
        (lambda: RankOneSensing(6, (3, 2), seed=0), ("a", "b")),
        (lambda: EntrySampling((3, 2), 4, seed=0), ("rows", "cols")),
    ],
    ids=["gaussian", "rank-one", "completion"],
)
def test_operator_arrays_are_read_only(make, arrays):
    # The same seed gives the same operator: nothing may change it in place afterwards.
    op = make()
    for name in arrays:
        with pytest.raises(ValueError, match="read-only"):
            getattr(op, name)[0] = 1


def test_repr_names_the_class_and_sizes():
    assert repr(GaussianSensing(6, (3, 2), seed=0)) == "GaussianSensing(m=6, shape=(3, 2))"
    assert repr(RankOneSensing(6, (3, 2), seed=0)) == "RankOneSensing(m=6, shape=(3, 2))"
    assert repr(EntrySampling((3, 2), 4, seed=0, replace=True)) == (
        "EntrySampling(m=4, shape=(3, 2), replace=True)"
    )
    assert EntrySampling((3, 2), 4, seed=0, replace=True).replace is True


def test_from_array_accepts_a_single_measurement_of_a_vector():
    A = np.arange(3.0).reshape(1, 3, 1)  # m = 1, n2 = 1
    op = GaussianSensing.from_array(A)
    assert (op.m, op.shape) == (1, (3, 1))
    assert op(np.ones((3, 1))) == pytest.approx([3.0])


def rank_one_reference(op, U, V, y):
    A = op.scale * np.einsum("ij,il->ijl", op.a.astype(np.float64), op.b.astype(np.float64))
    residual = np.einsum("ijl,jl->i", A, U @ V.T) - y
    E = np.einsum("i,ijl->jl", residual, A)
    return residual, E @ V, E.T @ U


def test_rank_one_gradients_sum_over_every_row_block():
    # m = 1000 measurements of a 40 x 30 matrix span three row blocks of the fused pass.
    op = RankOneSensing(1000, (40, 30), seed=1)
    U, V = small_random_init(40, 30, 3, 1.0, seed=2)
    y = np.linspace(-1.0, 1.0, 1000)
    for got, expected in zip(
        op.residual_and_gradients(U, V, y), rank_one_reference(op, U, V, y), strict=True
    ):
        np.testing.assert_allclose(got, expected, rtol=1e-10, atol=1e-12)


def test_rank_one_copies_to_another_dtype_only_for_a_solve_in_it():
    op = RankOneSensing(50, (6, 5), seed=0)
    own = op.a.nbytes + op.b.nbytes
    L, R = np.ones((6, 1)), np.ones((5, 1))
    op.measure(L, R)
    U0, V0 = small_random_init(6, 5, 2, 1e-2, seed=1)
    factorized_gd(op, op.measure(L, R), U0, V0, 0.1, 3)
    assert op.nbytes == own  # float64 work on a float64 operator: no copy
    factorized_gd(op, op.measure(L, R), U0, V0, 0.1, 3, dtype=np.float32)
    assert op.nbytes == own + own // 2  # a float32 copy of a and b, kept

    op32 = RankOneSensing(50, (6, 5), seed=0, dtype=np.float32)
    np.testing.assert_array_equal(op32.a, op.a.astype(np.float32))
    op32.measure(L, R)
    factorized_gd(op32, op32.measure(L, R), U0, V0, 0.1, 3, dtype=np.float32)
    assert op32.nbytes == own // 2  # measured and solved in its own dtype: no copy


# Targets -----------------------------------------------------------------------------------


def test_default_condition_number_is_two():
    sigma = np.linalg.svd(low_rank_target(6, 5, 3, seed=0), compute_uv=False)
    assert sigma[2] == pytest.approx(0.5)
    lam = np.linalg.eigvalsh(psd_target(6, 3, seed=0))
    assert lam[-3] == pytest.approx(0.5)


def test_given_spectrum_is_sorted_decreasingly_checked_and_named_in_errors():
    X, Q = psd_target(6, 2, kappa=10.0, seed=0, eigenvalues=[1.0, 3.0], return_basis=True)
    np.testing.assert_allclose(X @ Q, Q * [3.0, 1.0], atol=1e-12)  # largest on Q's first column
    with pytest.raises(ValueError, match=r"^eigenvalues must"):
        psd_target(6, 2, seed=0, eigenvalues=[1.0, 2.0, 3.0])
    with pytest.raises(ValueError, match=r"^singular_values must"):
        low_rank_target(6, 5, 2, seed=0, singular_values=[1.0, 2.0, 3.0])
    for bad in ([1.0, 0.0], [1.0, -2.0]):
        with pytest.raises(ValueError, match=r"^singular_values must all be > 0"):
            low_rank_target(6, 5, 2, seed=0, singular_values=bad)


# Metrics and the solver's test error ------------------------------------------------------


UNIT = np.zeros((3, 2))
UNIT[0, 0] = 1.0  # a truth whose norms (Frobenius and operator) are exactly 1


def test_a_truth_of_norm_one_is_a_valid_truth():
    assert metrics.relative_error(2 * UNIT, UNIT) == 1.0
    assert metrics.relative_error(2 * UNIT, UNIT, norm="op") == 1.0
    op = GaussianSensing(8, (3, 2), seed=0)
    U0, V0 = small_random_init(3, 2, 2, 1e-3, seed=1)
    result = factorized_gd(op, op(UNIT), U0, V0, 0.1, 2, truth=UNIT)
    assert result.history["test_error"][0] == pytest.approx(1.0, abs=1e-5)
    with pytest.raises(ValueError, match="non-zero"):
        factorized_gd(op, op(UNIT), U0, V0, 0.1, 2, truth=0 * UNIT)


def test_truth_factors_of_rank_zero_are_refused():
    op = GaussianSensing(8, (3, 2), seed=0)
    U0, V0 = small_random_init(3, 2, 2, 1e-3, seed=1)
    with pytest.raises(ValueError, match="non-zero"):
        factorized_gd(op, np.zeros(8), U0, V0, 0.1, 2, truth=(np.zeros((3, 0)), np.zeros((2, 0))))


def test_effective_rank_ignores_zero_singular_values():
    assert metrics.effective_rank(np.diag([1.0, 0.0, 0.0])) == pytest.approx(1.0)
    assert metrics.effective_rank(np.diag([0.5, 0.5, 0.0])) == pytest.approx(2.0)


def test_local_linear_rate_window_includes_its_start():
    iterations = np.arange(4.0)
    values = np.array([1.0, 0.5, 0.3, 0.2])
    slope = np.polyfit(iterations[:3], np.log(values[:3]), 1)[0]
    assert metrics.local_linear_rate(iterations, values, 0, 3) == pytest.approx(np.exp(slope))
    for bad in (0.0, -1.0):
        with pytest.raises(ValueError, match="> 0"):
            metrics.local_linear_rate(iterations, [1.0, bad, 0.3, 0.2], 0, 3)


def test_crossing_is_strictly_below_and_rise_is_at_or_above():
    iterations, values = [0, 10, 20], [1.0, 0.1, 0.01]
    assert metrics.first_crossing(iterations, values, 0.1) == 20
    assert metrics.first_rise(iterations, [0.0, 0.5, 1.0], 0.5) == 10
    assert metrics.first_crossing(iterations, values, 0.001) is None


# The solver -------------------------------------------------------------------------------


def small_problem():
    op = GaussianSensing(8, (3, 2), seed=0)
    return op, op(UNIT)


def test_divergence_bound_is_factor_times_the_larger_of_initial_loss_and_half_y_squared():
    op, y = small_problem()
    for alpha in (1e-3, 3.0):  # initial loss below resp. above ||y||^2 / 2
        U0, V0 = small_random_init(3, 2, 2, alpha, seed=1)
        f0 = metrics.train_loss(op, y, U0, V0)
        with pytest.raises(DivergenceError) as caught:
            factorized_gd(op, y, U0, V0, 50.0, 20, divergence_factor=10.0)
        assert caught.value.bound == pytest.approx(10.0 * max(f0, 0.5 * float(y @ y)))


def test_a_loss_equal_to_the_bound_is_not_a_divergence():
    op, y = small_problem()
    U0, V0 = small_random_init(3, 2, 2, 3.0, seed=1)  # f(U0, V0) > ||y||^2 / 2
    assert metrics.train_loss(op, y, U0, V0) > 0.5 * float(y @ y)
    # factor 1: the bound is the initial loss itself; the loss then decreases.
    result = factorized_gd(op, y, U0, V0, 1e-3, 3, divergence_factor=1.0)
    assert np.all(np.diff(result.history["train_loss"]) < 0)


@pytest.mark.parametrize(
    "make",
    [lambda: RankOneSensing(8, (3, 2), seed=0), lambda: EntrySampling((3, 2), 4, seed=0)],
    ids=["rank-one", "completion"],
)
def test_python_loop_diverges_without_floating_point_warnings(make):
    op = make()
    U0, V0 = small_random_init(3, 2, 2, 1e3, seed=1)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # overflow to inf and NaN are reported as divergence
        with pytest.raises(DivergenceError):
            factorized_gd(op, op(UNIT), U0, V0, 1e300, 5)


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_bar_only_when_asked_and_erased_at_the_end(capfd, monkeypatch):
    op, y = small_problem()
    U0, V0 = small_random_init(3, 2, 2, 1e-3, seed=1)
    factorized_gd(op, y, U0, V0, 0.1, 5)
    assert capfd.readouterr().err == ""
    terminal = Terminal()
    with monkeypatch.context() as patch:
        patch.setattr(sys, "stderr", terminal)  # not even on a terminal
        factorized_gd(op, y, U0, V0, 0.1, 5)
    assert terminal.getvalue() == ""
    factorized_gd(op, y, U0, V0, 0.1, 5, progress=True)
    err = capfd.readouterr().err
    assert "factorized GD:" in err and "/5 [" in err
    assert err.endswith("\r") and err.rstrip("\r").split("\r")[-1].strip() == ""


@pytest.mark.parametrize(
    "attributes",
    [
        ("m", "shape", "__call__", "forward_unchecked", "adjoint_unchecked"),
        ("shape",),
        ("shape", "__call__", "adjoint", "forward_unchecked", "adjoint_unchecked"),
    ],
    ids=["no adjoint", "shape only", "no m"],
)
def test_an_incomplete_operator_is_refused(attributes):
    fake = type("Fake", (), dict.fromkeys(attributes, lambda *args: None))()
    with pytest.raises(TypeError, match="op must be a measurement operator"):
        factorized_gd(fake, np.zeros(8), np.zeros((3, 1)), np.zeros((2, 1)), 0.1, 1)


def test_ragged_initial_factors_are_refused_naming_u0():
    op, y = small_problem()
    with pytest.raises(TypeError, match="U0"):
        factorized_gd(op, y, [[1.0, 2.0], [3.0]], np.zeros((2, 2)), 0.1, 1)


def test_float32_python_loop_keeps_float32_factors():
    op = RankOneSensing(8, (3, 2), seed=0)
    U0, V0 = small_random_init(3, 2, 2, 1e-3, seed=1)
    result = factorized_gd(op, op(UNIT), U0, V0, 0.1, 2, dtype=np.float32)
    assert result.U.dtype == np.float32 and result.V.dtype == np.float32


class TwoPasses(TwoPassGradients):
    """An operator with only the forward and adjoint maps (no fused pass)."""

    def __init__(self, op):
        self.m, self.shape, self._op = op.m, op.shape, op

    def __call__(self, Z):
        return self._op(Z)

    def adjoint(self, z):
        return self._op.adjoint(z)

    def forward_unchecked(self, Z):
        return self._op.forward_unchecked(Z)

    def adjoint_unchecked(self, z):
        return self._op.adjoint_unchecked(z)


def test_two_pass_operator_runs_in_the_requested_dtype():
    op, y = small_problem()
    U0, V0 = small_random_init(3, 2, 2, 1e-3, seed=1)
    for dtype in (np.float32, np.float64):
        result = factorized_gd(TwoPasses(op), y, U0, V0, 0.1, 3, dtype=dtype)
        assert result.U.dtype == dtype and result.V.dtype == dtype
    reference = factorized_gd(op, y, U0, V0, 0.1, 3)
    np.testing.assert_allclose(result.U, reference.U, rtol=1e-12, atol=1e-15)
