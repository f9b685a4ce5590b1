"""Factorized gradient descent for asymmetric matrix sensing.

Loss ``f(U, V) = 1/2 ||A(U V^T) - y||^2``. With ``E_t = A*(A(U_t V_t^T) - y)`` the update is
simultaneous (the V step uses the old U)::

    U_{t+1} = U_t - μ E_t V_t,      V_{t+1} = V_t - μ E_t^T U_t.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import numpy as np
from tqdm import tqdm

from . import _validation as check


class DivergenceError(RuntimeError):
    """Gradient descent blew up: the loss became non-finite or grew past a bound.

    Attributes ``iteration``, ``loss`` and ``step`` say where and with what; the message
    carries a hint about the step size.
    """

    def __init__(self, iteration: int, loss: float, step: float, bound: float):
        self.iteration, self.loss, self.step, self.bound = iteration, loss, step, bound
        what = "is not finite" if not np.isfinite(loss) else f"exceeds the bound {bound:.3g}"
        super().__init__(
            f"gradient descent diverged at iteration {iteration}: train loss {loss:.3g} {what}. "
            f"Hint: step={step:g} is too large for this problem (the theory asks for "
            f"step ≲ 1/||X||); try step={step / 2:g} or smaller."
        )


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
    step: float,
    iters: int,
    truth=None,
    record_every: int = 1,
    metrics: Mapping[str, Callable[[np.ndarray, np.ndarray], float]] | None = None,
    divergence_factor: float = 1e6,
    progress: bool = False,
    balance_weight: float = 0.0,
) -> GDResult:
    """Run ``iters`` steps of factorized gradient descent from ``(U0, V0)``.

    Parameters
    ----------
    op : measurement operator (e.g. :class:`~matrix_sensing.GaussianSensing`) of shape
        ``(n1, n2)`` with ``m`` measurements.
    y : (m,) measurements.
    U0, V0 : (n1, k) and (n2, k) initial factors.
    step : the step size μ > 0.
    iters : number of iterations T >= 0.
    truth : optional (n1, n2) ground truth X; adds ``test_error`` ||U V^T - X||_F / ||X||_F
        to the history.
    record_every : record the history every this many iterations (the last iteration is
        always recorded).
    metrics : extra ``name -> f(U, V)`` evaluated at every recorded iteration.
    divergence_factor : raise :class:`DivergenceError` once the loss exceeds this factor
        times ``max(f(U0, V0), ||y||^2 / 2)``.
    progress : show a tqdm progress bar.
    balance_weight : λ >= 0 adds the balancing regularizer ``(λ/4) ||U^T U - V^T V||_F^2`` to
        the loss (gradient ``λ U Δ`` for U and ``-λ V Δ`` for V), the explicit baseline that
        the main paper shows to be unnecessary. 0 (default) is plain gradient descent; the
        recorded ``train_loss`` is always the data-fit term f alone.

    The history always has ``iteration``, ``train_loss`` (f(U_t, V_t)) and ``imbalance``
    (operator norm of Δ_t = U_t^T U_t - V_t^T V_t).
    """
    for attribute in ("m", "shape", "_forward", "_adjoint"):
        if not hasattr(op, attribute):
            raise TypeError(f"op must be a measurement operator (e.g. GaussianSensing), got {op!r}")
    n1, n2 = op.shape
    y = check.array("y", y, ndim=1, shape=(op.m,))
    U = check.array("U0", U0, ndim=2, shape=(n1, None)).copy()
    k = U.shape[1]
    if k < 1:
        raise ValueError("U0 must have at least one column (width k >= 1)")
    V = check.array("V0", V0, ndim=2, shape=(n2, k)).copy()
    step = check.real("step", step, positive=True)
    iters = check.integer("iters", iters, minimum=0)
    record_every = check.integer("record_every", record_every, minimum=1)
    divergence_factor = check.real("divergence_factor", divergence_factor, minimum=1.0)
    balance_weight = check.real("balance_weight", balance_weight, minimum=0.0)
    metrics = dict(metrics or {})
    for name, fn in metrics.items():
        if not callable(fn):
            raise TypeError(f"metrics[{name!r}] must be callable f(U, V), got {fn!r}")
    if truth is not None:
        truth = check.array("truth", truth, ndim=2, shape=(n1, n2))
        truth_norm = np.linalg.norm(truth)
        if truth_norm == 0:
            raise ValueError("truth must be a non-zero matrix")

    records: dict[str, list] = {"iteration": [], "train_loss": [], "imbalance": []}
    if truth is not None:
        records["test_error"] = []
    for name in metrics:
        records[name] = []

    bound = None
    bar = tqdm(total=iters, disable=not progress, desc="factorized GD", leave=False)
    # Overflow while blowing up is reported below as a DivergenceError, not as a warning.
    with np.errstate(over="ignore", invalid="ignore"):
        for t in range(iters + 1):
            product = U @ V.T
            residual = op._forward(product) - y
            loss = 0.5 * float(residual @ residual)
            if bound is None:
                bound = divergence_factor * max(loss, 0.5 * float(y @ y))
            if not np.isfinite(loss) or loss > bound:
                bar.close()
                raise DivergenceError(t, loss, step, bound)
            if t % record_every == 0 or t == iters:
                records["iteration"].append(t)
                records["train_loss"].append(loss)
                records["imbalance"].append(np.linalg.norm(U.T @ U - V.T @ V, 2))
                if truth is not None:
                    records["test_error"].append(np.linalg.norm(product - truth) / truth_norm)
                for name, fn in metrics.items():
                    records[name].append(fn(U, V))
            if t == iters:
                break
            gradient = op._adjoint(residual)
            grad_U, grad_V = gradient @ V, gradient.T @ U
            if balance_weight:
                delta = U.T @ U - V.T @ V
                grad_U += balance_weight * (U @ delta)
                grad_V -= balance_weight * (V @ delta)
            U, V = U - step * grad_U, V - step * grad_V
            bar.update()
    bar.close()
    history = {name: np.asarray(values) for name, values in records.items()}
    return GDResult(U=U, V=V, step=step, iters=iters, history=history)
