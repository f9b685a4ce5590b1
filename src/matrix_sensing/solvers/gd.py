"""Factorized gradient descent for asymmetric matrix sensing.

Loss ``f(U, V) = 1/2 ||A(U V^T) - y||^2``. With ``E_t = A*(A(U_t V_t^T) - y)`` the update is
simultaneous (the V step uses the old U)::

    U_{t+1} = U_t - μ E_t V_t,      V_{t+1} = V_t - μ E_t^T U_t.

The operator supplies the residual and both gradients in one call
(:meth:`~matrix_sensing.operators.SensingOperator.residual_and_gradients`, one pass over a
dense operator's array). On a :class:`~matrix_sensing.GaussianSensing` operator every
iteration between two records runs in compiled code
(``matrix_sensing.operators.compiled``); results differ from the Python
loop by rounding only (tested). The loop itself is :func:`~matrix_sensing.solvers.iterate`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import numpy as np

from .. import _validation as check
from ..operators import GaussianSensing, check_operator
from ..operators.compiled import CompiledRuns
from .driver import (
    DivergenceError,
    GDResult,
    Method,
    check_run_options,
    dense_truth,
    iterate,
    test_error_function,
)

__all__ = ["factorized_gd"]


def factorized_gd(
    op,
    y,
    U0,
    V0,
    step,
    iters: int,
    truth=None,
    record_every: int = 1,
    metrics: Mapping[str, Callable[[np.ndarray, np.ndarray], float]] | None = None,
    divergence_factor: float = 1e6,
    progress: bool = False,
    balance_weight: float = 0.0,
    dtype=np.float64,
) -> GDResult | list[GDResult]:
    """Run ``iters`` steps of factorized gradient descent from ``(U0, V0)``, or from a batch
    of B initializations at once.

    Parameters
    ----------
    op : measurement operator (e.g. :class:`~matrix_sensing.GaussianSensing`) of shape
        ``(n1, n2)`` with ``m`` measurements.
    y : (m,) measurements.
    U0, V0 : (n1, k) and (n2, k) initial factors; or stacks (B, n1, k) and (B, n2, k) of B
        runs that share ``op`` and ``y`` (a sweep over α, step or seed; runs of different
        widths can share a batch by zero-padding, see below). The batch advances together,
        so the measurement array is read once per iteration for all B runs.
    step : the step size μ > 0; with a batch, one μ for all runs or a list of B of them.
    iters : number of iterations T >= 0.
    truth : optional ground truth X, an (n1, n2) array or a tuple ``(L, R)`` of factors
        with ``X = L R^T`` (L: (n1, r), R: (n2, r)); adds ``test_error``
        ||U V^T - X||_F / ||X||_F to the history. With factors no (n1, n2) matrix is formed:
        the norm is that of ``R_1 R_2^T`` for the triangular factors of the QR
        decompositions ``[U, -L] = Q_1 R_1`` and ``[V, R] = Q_2 R_2`` (accurate down to
        rounding, unlike expanding the square into Gram matrices).
    record_every : record the history every this many iterations (the last iteration is
        always recorded).
    metrics : extra ``name -> f(U, V)`` evaluated at every recorded iteration (with a
        batch, once per run on that run's ``(U, V)``).
    divergence_factor : raise :class:`DivergenceError` once the loss exceeds this factor
        times ``max(f(U0, V0), ||y||^2 / 2)`` (per run; in a batch the error names the run).
    progress : show a tqdm progress bar.
    balance_weight : λ >= 0 adds the balancing regularizer ``(λ/4) ||U^T U - V^T V||_F^2`` to
        the loss (gradient ``λ U Δ`` for U and ``-λ V Δ`` for V), the explicit baseline that
        the main paper shows to be unnecessary. 0 (default) is plain gradient descent; the
        recorded ``train_loss`` is always the data-fit term f alone.
    dtype : ``numpy.float64`` (default) or ``numpy.float32``: the precision of the
        iterates and of the operator products. float32 reads half the bytes (faster on a
        large dense operator) and keeps a float32 copy of the operator's array
        (:meth:`GaussianSensing.astype` avoids holding both), but its rounding floors the
        relative test error a few float32 unit roundoffs above zero, where float64 goes on
        converging; from a small α float32 therefore departs from float64 once the error
        nears that floor. Use float64 for small α and for anything near rounding level.
        The book's Performance page (``book/performance.md``, "float32") measures this
        comparison at every build.

    Returns one :class:`GDResult` for a single run, and a list of B of them (in batch order)
    for a batch, each identical up to rounding (1e-12 relative) to its run made alone.
    The history always has ``iteration``, ``train_loss`` (f(U_t, V_t)) and ``imbalance``
    (operator norm of Δ_t = U_t^T U_t - V_t^T V_t).

    Widths: zero columns of U and V stay exactly zero (their gradient columns ``E v_j`` and
    ``E^T u_j`` vanish), so a width-k run padded with zero columns to width K follows the
    width-k run; only the rounding of sums over the (zero) extra columns differs.
    """
    check_operator(op)
    n1, n2 = op.shape
    y = check.array("y", y, ndim=1, shape=(op.m,))
    U, V, batched = _initial_factors(U0, V0, n1, n2)
    steps = _steps(step, U.shape[0], batched)
    iters, record_every, divergence_factor, metrics = check_run_options(
        iters, record_every, divergence_factor, metrics
    )
    balance_weight = check.real("balance_weight", balance_weight, minimum=0.0)
    dtype = check.float_dtype(dtype)
    test_error = None if truth is None else test_error_function(truth, n1, n2)

    U, V, y_run = U.astype(dtype), V.astype(dtype), y.astype(dtype)
    with np.errstate(over="ignore", invalid="ignore"):
        if isinstance(op, GaussianSensing) and not balance_weight:
            dense = None if truth is None else dense_truth(truth, n1, n2)
            method = _CompiledGD(op, U, V, y_run, steps, batched, dense)
        else:
            method = _PythonGD(op, U, V, y_run, steps, batched, balance_weight)
    results = iterate(
        method,
        iters,
        step=steps,
        record_every=record_every,
        metrics=metrics,
        test_error=test_error,
        divergence_factor=divergence_factor,
        floor=0.5 * float(y @ y),
        progress=progress,
    )
    return results if batched else results[0]


class _GD(Method):
    """Factorized gradient descent on B runs that share ``op`` and ``y``."""

    algorithm = "factorized GD"

    def __init__(self, steps: np.ndarray, batched: bool):
        self._steps, self._batched = steps, batched

    def divergence(self, iteration: int, run: int, bound: float) -> DivergenceError:
        loss, step = float(self.losses[run]), float(self._steps[run])
        if not self._batched:
            return DivergenceError(iteration, loss, step, bound)
        return DivergenceError(
            iteration,
            loss,
            step,
            bound,
            algorithm=f"gradient descent (run {run} of a batch of {len(self._steps)})",
            run=run,
        )


class _CompiledGD(_GD):
    """Every iteration in compiled code, on a dense operator, the standard history too
    (the test error against the (n1, n2) array ``truth`` when given)."""

    def __init__(self, op, U, V, y, steps, batched: bool, truth=None):
        super().__init__(steps, batched)
        self._runs = CompiledRuns(op.matrix_as(U.dtype), y, U, V, steps, op.shape, truth)
        self.losses = self._runs.losses
        self.recorded_inside = frozenset(
            {"train_loss", "imbalance", *(["test_error"] if truth is not None else [])}
        )

    def record(self, names):
        return self._runs.record(names)

    def advance_recording(self, count, bounds, every, start, names):
        return self._runs.advance_recording(count, bounds, every, start, names)

    def factors(self):
        return self._runs.U, self._runs.V

    def advance(self, count: int, bounds: np.ndarray) -> int:
        return self._runs.advance(count, bounds)


class _PythonGD(_GD):
    """One call of the operator's ``residual_and_gradients`` per iteration for all runs."""

    def __init__(self, op, U, V, y, steps, batched: bool, balance_weight: float):
        super().__init__(steps, batched)
        self._op, self._U, self._V, self._y = op, U, V, y
        self._step = steps.astype(U.dtype)[:, None, None]  # broadcasts over each (n, k)
        self._balance_weight = balance_weight
        self._evaluate()

    def _evaluate(self) -> None:
        if self._batched:
            residual, self._grad_U, self._grad_V = self._op.residual_and_gradients(
                self._U, self._V, self._y
            )
        else:  # an operator's single-run path may round differently from its batch path
            residual, grad_U, grad_V = self._op.residual_and_gradients(
                self._U[0], self._V[0], self._y
            )
            residual, self._grad_U, self._grad_V = residual[None], grad_U[None], grad_V[None]
        self.losses = 0.5 * np.einsum("bi,bi->b", residual, residual).astype(np.float64)

    def factors(self):
        return self._U, self._V

    def step(self) -> None:
        grad_U, grad_V = self._grad_U, self._grad_V
        if self._balance_weight:
            delta = _gram(self._U) - _gram(self._V)
            grad_U = grad_U + self._balance_weight * (self._U @ delta)
            grad_V = grad_V - self._balance_weight * (self._V @ delta)
        self._U, self._V = self._U - self._step * grad_U, self._V - self._step * grad_V
        self._evaluate()


def _initial_factors(U0, V0, n1: int, n2: int) -> tuple[np.ndarray, np.ndarray, bool]:
    """Validated float64 copies of the initial factors as stacks (B, n1, k), (B, n2, k),
    and whether a stack was given."""
    try:
        ndim = np.ndim(U0)
    except ValueError:  # ragged nested lists: check.array reports them naming U0
        ndim = None
    batched = ndim == 3
    if batched:
        U = check.array("U0", U0, ndim=3, shape=(None, n1, None))
        if U.shape[0] < 1:
            raise ValueError(f"U0 must hold at least one run (B >= 1), got shape {U.shape}")
        V_shape = (U.shape[0], n2, U.shape[2])
    else:
        if ndim not in (None, 2):
            raise ValueError(
                f"U0 must have 2 dimensions (n1, k), or 3 (B, n1, k) for a batch of runs, got "
                f"shape {np.shape(U0)}"
            )
        U = check.array("U0", U0, ndim=2, shape=(n1, None))[None]
        V_shape = (n2, U.shape[2])
    if U.shape[2] < 1:
        raise ValueError("U0 must have at least one column (width k >= 1)")
    V = check.array("V0", V0, ndim=len(V_shape), shape=V_shape)
    return U.copy(), V.copy() if batched else V[None].copy(), batched


def _steps(step, batch: int, batched: bool) -> np.ndarray:
    """The step sizes as a float64 array (B,): one scalar for all runs, or one per run."""
    if np.ndim(step) == 0:
        return np.full(batch, check.real("step", step, positive=True))
    if not batched:
        raise TypeError(
            f"step must be a real number for a single run (a list of steps needs stacked "
            f"U0 and V0), got {step!r}"
        )
    if np.ndim(step) != 1 or len(step) != batch:
        raise ValueError(
            f"step must be a number or a list of B={batch} numbers (one per run), got shape "
            f"{np.shape(step)}"
        )
    return np.array([check.real(f"step[{b}]", s, positive=True) for b, s in enumerate(step)])


def _gram(U: np.ndarray) -> np.ndarray:
    """``U_b^T U_b`` for each run of a stack (B, n, k) -> (B, k, k)."""
    return U.transpose(0, 2, 1) @ U
