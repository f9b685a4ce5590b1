"""The one iteration loop (matrix_sensing.solvers.iterate): an algorithm written as a
Method gets recording, stopping, divergence reports and continuation from the driver."""

from __future__ import annotations

import numpy as np
import pytest
from _numerics import rel_diff

import matrix_sensing as ms
from matrix_sensing.solvers import DivergenceError, Method, continue_run, iterate


class PlainGD(Method):
    """Factorized gradient descent written with the public operator maps only."""

    algorithm = "plain gradient descent"
    entries = ("residual_norm",)

    def __init__(self, op, y, U, V, step, stop_below=None):
        self.op, self.y, self.U, self.V, self.step_size = op, y, U, V, step
        self.stop_below = stop_below
        self._evaluate()

    def _evaluate(self):
        self.residual = self.op(self.U @ self.V.T) - self.y
        self.losses = np.array([0.5 * self.residual @ self.residual])
        if self.stop_below is not None:
            self.stopped = bool(self.losses[0] <= self.stop_below)

    def factors(self):
        return self.U[None], self.V[None]

    def values(self):
        return {"residual_norm": np.array([np.linalg.norm(self.residual)])}

    def step(self):
        E = self.op.adjoint(self.residual)
        self.U, self.V = (
            self.U - self.step_size * E @ self.V,
            self.V - self.step_size * E.T @ self.U,
        )
        self._evaluate()

    def divergence(self, iteration, run, bound):
        return DivergenceError(
            iteration, float(self.losses[run]), self.step_size, bound, algorithm=self.algorithm
        )


def run(problem, step=0.2, iters=30, **options):
    op, y, U0, V0, truth = problem
    method = PlainGD(op, y, U0, V0, step, options.pop("stop_below", None))
    test_error = ms.solvers.test_error_function(truth, *op.shape)
    (result,) = iterate(
        method, iters, step=step, test_error=test_error, floor=0.5 * y @ y, **options
    )
    return result


def test_a_method_through_the_driver_is_factorized_gd(problem):
    op, y, U0, V0, truth = problem
    mine = run(problem, record_every=7)
    reference = ms.factorized_gd(op, y, U0, V0, 0.2, 30, truth=truth, record_every=7)
    assert mine.history["iteration"].tolist() == [0, 7, 14, 21, 28, 30]
    assert list(mine.history) == [
        "iteration",
        "train_loss",
        "imbalance",
        "residual_norm",
        "test_error",
    ]
    for name in ("train_loss", "imbalance", "test_error"):
        assert rel_diff(mine.history[name], reference.history[name]) < 1e-12, name
    assert rel_diff(mine.product, reference.product) < 1e-12
    assert mine.iters == 30 and mine.step == 0.2
    np.testing.assert_allclose(mine.history["residual_norm"] ** 2 / 2, mine.history["train_loss"])


def test_a_method_that_stops_itself_is_recorded_where_it_stops(problem):
    full = run(problem, iters=200, record_every=50)
    level = full.history["train_loss"][2]  # the loss at iteration 100
    stopped = run(problem, iters=200, record_every=50, stop_below=level)
    assert stopped.iters <= 100
    assert stopped.history["iteration"][-1] == stopped.iters
    assert stopped.history["train_loss"][-1] <= level < stopped.history["train_loss"][-2]


def test_divergence_names_the_method_and_the_first_iteration_past_the_bound(problem):
    with pytest.raises(DivergenceError) as info:
        run(problem, step=5.0, iters=100, divergence_factor=10.0)
    error = info.value
    assert error.algorithm == "plain gradient descent"
    assert error.loss > error.bound or not np.isfinite(error.loss)
    recorded = run(problem, step=5.0, iters=error.iteration - 1, divergence_factor=10.0)
    assert recorded.history["train_loss"].max() <= error.bound


def test_a_continued_run_is_one_run(problem):
    op, y, U0, V0, truth = problem
    whole = ms.factorized_gd(op, y, U0, V0, 0.2, 40, truth=truth, record_every=4)
    first = ms.factorized_gd(op, y, U0, V0, 0.2, 16, truth=truth, record_every=4)
    second = ms.factorized_gd(op, y, first.U, first.V, 0.2, 24, truth=truth, record_every=4)
    joined = continue_run(first, second)
    assert joined.iters == 40
    np.testing.assert_array_equal(joined.U, whole.U)
    for name, values in whole.history.items():
        np.testing.assert_array_equal(joined.history[name], values, err_msg=name)
