"""Factorized gradient descent for asymmetric matrix sensing.

Loss ``f(U, V) = 1/2 ||A(U V^T) - y||^2``. With ``E_t = A*(A(U_t V_t^T) - y)`` the update is
simultaneous (the V step uses the old U)::

    U_{t+1} = U_t - μ E_t V_t,      V_{t+1} = V_t - μ E_t^T U_t.

The operator supplies the residual and both gradients in one call
(``op._residual_and_gradients``, one pass over a dense operator's array); operators with
only ``_forward`` and ``_adjoint`` are applied in two passes. On a dense operator
(``op._compiled_runs``) every iteration between two records runs in compiled code
(:mod:`._compiled_run`); results differ from the Python loop by rounding only (tested).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import numpy as np
from tqdm import tqdm

from . import _validation as check
from ._factors import DivergenceError, check_run_options
from .operators import _float_dtype

__all__ = ["DivergenceError", "GDResult", "factorized_gd"]


@dataclass
class GDResult:
    """Outcome of a run. ``U``: (n1, k), ``V``: (n2, k) are the last iterates; ``history``
    maps a metric name to a 1-D array aligned with ``history["iteration"]``."""

    U: np.ndarray
    V: np.ndarray
    step: float
    iters: int
    history: dict[str, np.ndarray] = field(default_factory=dict)

    @property
    def product(self) -> np.ndarray:
        """The estimate ``U V^T`` (n1, n2)."""
        return self.U @ self.V.T


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
    _check_operator(op)
    n1, n2 = op.shape
    y = check.array("y", y, ndim=1, shape=(op.m,))
    U, V, batched = _initial_factors(U0, V0, n1, n2)
    batch = U.shape[0]
    steps = _steps(step, batch, batched)
    iters, record_every, divergence_factor, metrics = check_run_options(
        iters, record_every, divergence_factor, metrics
    )
    balance_weight = check.real("balance_weight", balance_weight, minimum=0.0)
    dtype = _float_dtype(dtype)
    test_error = None if truth is None else _test_error_function(truth, n1, n2)

    records = [{"iteration": [], "train_loss": [], "imbalance": []} for _ in range(batch)]
    for record in records:
        if test_error is not None:
            record["test_error"] = []
        for name in metrics:
            record[name] = []

    U, V, y_run = U.astype(dtype), V.astype(dtype), y.astype(dtype)
    bar = tqdm(total=iters, disable=not progress, desc="factorized GD", leave=False)
    # Overflow while blowing up is reported below as a DivergenceError, not as a warning.
    with np.errstate(over="ignore", invalid="ignore"):
        runs = _runs(op, U, V, y_run, steps, batched, balance_weight)
        bounds = divergence_factor * np.maximum(runs.losses, 0.5 * float(y @ y))
        t = 0
        while True:
            losses = runs.losses
            bad = _diverged(losses, bounds)
            if bad.size:
                bar.close()
                raise _divergence(t, bad[0], losses, steps, bounds, batched)
            if t % record_every == 0 or t == iters:
                _record(records, t, losses, runs.U, runs.V, test_error, metrics)
            if t == iters:
                break
            until = min(iters, (t // record_every + 1) * record_every)
            if progress:
                until = min(until, t + _PROGRESS_EVERY)
            done = runs.advance(until - t, bounds)
            t += done
            bar.update(done)
    bar.close()
    U, V = runs.U, runs.V
    results = [
        GDResult(
            U=U[b].copy(),
            V=V[b].copy(),
            step=float(steps[b]),
            iters=iters,
            history={name: np.asarray(values) for name, values in record.items()},
        )
        for b, record in enumerate(records)
    ]
    return results if batched else results[0]


def _check_operator(op) -> None:
    usable = hasattr(op, "_residual_and_gradients") or (
        hasattr(op, "_forward") and hasattr(op, "_adjoint")
    )
    if not (usable and hasattr(op, "m") and hasattr(op, "shape")):
        raise TypeError(f"op must be a measurement operator (e.g. GaussianSensing), got {op!r}")


# With a progress bar, the compiled loop hands back control this often to update it.
_PROGRESS_EVERY = 100


def _diverged(losses: np.ndarray, bounds: np.ndarray) -> np.ndarray:
    """Indices of the runs whose loss is not finite or above its bound."""
    return np.flatnonzero(~np.isfinite(losses) | (losses > bounds))


def _record(records, t, losses, U, V, test_error, metrics) -> None:
    """Append iteration ``t`` of every run of the stacks ``U`` (B, n1, k), ``V`` (B, n2, k)
    with their ``losses`` (B,) to ``records``."""
    imbalance = np.linalg.norm(_gram(U) - _gram(V), 2, axis=(1, 2))
    for b, record in enumerate(records):
        record["iteration"].append(t)
        record["train_loss"].append(float(losses[b]))
        record["imbalance"].append(float(imbalance[b]))
        if test_error is not None:
            record["test_error"].append(test_error(U[b], V[b]))
        for name, fn in metrics.items():
            record[name].append(fn(U[b], V[b]))


def _runs(op, U, V, y, steps, batched: bool, balance_weight: float):
    """The runs at t = 0 (their gradients evaluated), as an object with ``losses`` (B,),
    stacks ``U``, ``V`` and ``advance(count, bounds) -> steps taken`` (which stops after the
    first step to a loss that :func:`_diverged` flags). Runs on an operator with a compiled
    path go there (without the balancing term); anything else runs in the Python loop."""
    compiled = getattr(op, "_compiled_runs", None)
    if compiled is not None and not balance_weight:
        return compiled(U, V, y, steps)
    return _PythonRuns(op, U, V, y, steps, batched, balance_weight)


class _PythonRuns:
    """Runs advanced by a Python loop: one pass of the operator per iteration for all runs
    (its ``_residual_and_gradients``), or its forward and adjoint maps."""

    def __init__(self, op, U, V, y, steps, batched: bool, balance_weight: float):
        self._gradients = _gradient_function(op, batched)
        self.U, self.V, self._y = U, V, y
        self._step = steps.astype(U.dtype)[:, None, None]  # broadcasts over each (n, k)
        self._balance_weight = balance_weight
        self._evaluate()

    def _evaluate(self) -> None:
        residual, self._grad_U, self._grad_V = self._gradients(self.U, self.V, self._y)
        self.losses = 0.5 * np.einsum("bi,bi->b", residual, residual).astype(np.float64)

    def advance(self, count: int, bounds: np.ndarray) -> int:
        for done in range(1, count + 1):
            grad_U, grad_V = self._grad_U, self._grad_V
            if self._balance_weight:
                delta = _gram(self.U) - _gram(self.V)
                grad_U = grad_U + self._balance_weight * (self.U @ delta)
                grad_V = grad_V - self._balance_weight * (self.V @ delta)
            self.U, self.V = self.U - self._step * grad_U, self.V - self._step * grad_V
            self._evaluate()
            if _diverged(self.losses, bounds).size:
                return done
        return count


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


def _test_error_function(truth, n1: int, n2: int) -> Callable[[np.ndarray, np.ndarray], float]:
    """``(U, V) -> ||U V^T - X||_F / ||X||_F`` for X an (n1, n2) array or a tuple (L, R)."""
    if not isinstance(truth, tuple):
        truth = check.array("truth", truth, ndim=2, shape=(n1, n2))
        norm = np.linalg.norm(truth)
        if norm == 0:
            raise ValueError("truth must be a non-zero matrix")
        return lambda U, V: float(np.linalg.norm(U @ V.T - truth) / norm)
    if len(truth) != 2:
        raise ValueError(
            f"truth must be an (n1, n2) array or a pair (L, R) of factors, got a tuple of "
            f"length {len(truth)}"
        )
    L = check.array("truth[0]", truth[0], ndim=2, shape=(n1, None))
    R = check.array("truth[1]", truth[1], ndim=2, shape=(n2, L.shape[1]))
    norm = _product_norm(L, R)
    if norm == 0:
        raise ValueError("truth must be a non-zero matrix")
    return lambda U, V: _product_norm(np.hstack([U, -L]), np.hstack([V, R])) / norm


def _product_norm(P: np.ndarray, Q: np.ndarray) -> float:
    """``||P Q^T||_F`` from the R factors of P and Q (P: (n1, s), Q: (n2, s)), without
    forming the n1 x n2 product: ``P Q^T = Q_P (R_P R_Q^T) Q_Q^T``."""
    if P.shape[1] == 0:
        return 0.0
    return float(np.linalg.norm(np.linalg.qr(P, mode="r") @ np.linalg.qr(Q, mode="r").T))


def _gram(U: np.ndarray) -> np.ndarray:
    """``U_b^T U_b`` for each run of a stack (B, n, k) -> (B, k, k)."""
    return U.transpose(0, 2, 1) @ U


def _gradient_function(op, batched: bool):
    """``(U, V, y) -> (residual, grad_U, grad_V)`` on stacks (B, ., k): the operator's fused
    ``_residual_and_gradients`` when it has one (given 2-D factors for a single run), else
    the forward and adjoint maps one after the other."""
    fused = getattr(op, "_residual_and_gradients", None)
    if fused is not None and batched:
        return fused
    if fused is not None:

        def single(U, V, y):
            residual, grad_U, grad_V = fused(U[0], V[0], y)
            return residual[None], grad_U[None], grad_V[None]

        return single

    def two_passes(U, V, y):
        residual = np.stack([op._forward(Ub @ Vb.T) for Ub, Vb in zip(U, V, strict=True)]) - y
        E = np.stack([op._adjoint(r) for r in residual])
        dtype = U.dtype
        return (
            residual.astype(dtype, copy=False),
            (E @ V).astype(dtype, copy=False),
            (E.transpose(0, 2, 1) @ U).astype(dtype, copy=False),
        )

    return two_passes


def _divergence(t: int, b: int, losses, steps, bounds, batched: bool) -> DivergenceError:
    if not batched:
        return DivergenceError(t, float(losses[b]), float(steps[b]), float(bounds[b]))
    return DivergenceError(
        t,
        float(losses[b]),
        float(steps[b]),
        float(bounds[b]),
        algorithm=f"gradient descent (run {b} of a batch of {len(steps)})",
        run=b,
    )
