"""Robust matrix sensing with an ℓ1 loss: outliers and the sub-gradient method.

Ma & Fattahi (2022) recover a low-rank matrix from measurements of which a fraction is
grossly corrupted by running the sub-gradient method on the ℓ1 loss from a small
initialization, with geometrically decaying steps. This module provides

- :func:`corrupt`: outlier corruption of a measurement vector;
- :func:`l1_loss` and :func:`l1_subgradient`: the loss and a sub-gradient of it;
- :func:`subgradient_method` (model ``U V^T``) and :func:`symmetric_subgradient_method`
  (model ``U U^T``): the sub-gradient method with steps ``μ_t = μ_0 ρ^t``;
- :func:`symmetric_l2_gd`: gradient descent on the ℓ2 loss of ``U U^T``, the non-robust
  baseline.

Normalization (this companion's reading, not checked against the paper). The operator of
this package has N(0, 1/m) entries (see ``book/setup.md``). Written with standard Gaussian
measurement matrices ``G_i = √m A_i`` and measurements ``√m y_i``, the ℓ1 loss normalized
by the number of measurements, ``(1/m) Σ_i |<G_i, U V^T> - √m y_i|``, is in this package's
units ::

    g(U, V) = (1/√m) ||A(U V^T) - y||_1,

which is what :func:`l1_loss` computes; at a point where no residual vanishes its gradient
is ``(G V, G^T U)`` with ``G = (1/√m) Σ_i sign(r_i) A_i``, ``r = A(U V^T) - y``. With
``(1/m) ||A(U V^T) - y||_1`` instead, every step would be about √m times smaller.

Symmetric problems. :func:`symmetric_subgradient_method` works on the model ``U U^T`` with
the loss ``g(U) = (1/√m) ||A(U U^T) - y||_1``, whose sub-gradient is ``(G + G^T) U``
(``= 2 G U`` for symmetric measurement matrices ``A_i = A_i^T``). With a symmetric operator
it coincides, in exact arithmetic, with :func:`subgradient_method` started at
``U_0 = V_0`` with twice the step: ``G`` is then symmetric and the asymmetric update keeps
``U_t = V_t``. In floating point ``U_t - V_t`` is multiplied by ``I + μ_t G_t`` at every
step, so rounding errors can grow; the symmetric functions keep a single factor.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import numpy as np

from .. import _validation as check
from ..operators import check_operator
from .driver import (
    DivergenceError,
    GDResult,
    Method,
    check_factors,
    check_pair,
    check_run_options,
    check_truth,
    iterate,
    test_error_function,
)


def corrupt(y, fraction: float, magnitude: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Grossly corrupt a random fraction of the measurements.

    Exactly ``round(fraction * m)`` measurements, chosen uniformly at random without
    replacement, get an additive outlier ``magnitude * rms(y) * z_i`` with ``z_i`` i.i.d.
    N(0, 1) and ``rms(y) = ||y||_2 / √m`` (so ``magnitude`` is in units of a typical clean
    measurement). Returns ``(y_corrupted, mask)`` with ``mask`` (m,) boolean, True where a
    measurement was corrupted; ``y`` itself is not modified.

    ``y``: (m,) clean measurements, not all zero; ``fraction`` in [0, 1);
    ``magnitude`` > 0; ``seed`` a non-negative integer.
    """
    y = check.array("y", y, ndim=1)
    if y.size == 0:
        raise ValueError("y must contain at least one measurement")
    fraction = check.real("fraction", fraction, minimum=0.0)
    if fraction >= 1.0:
        raise ValueError(f"fraction must be < 1 (some measurements stay clean), got {fraction:g}")
    magnitude = check.real("magnitude", magnitude, positive=True)
    rng = np.random.default_rng(check.seed("seed", seed))
    m = y.size
    rms = float(np.linalg.norm(y)) / np.sqrt(m)
    if rms == 0:
        raise ValueError("y must not be all zero (outliers are scaled by its rms)")
    count = round(fraction * m)
    mask = np.zeros(m, dtype=bool)
    mask[rng.choice(m, size=count, replace=False)] = True
    corrupted = y.copy()
    corrupted[mask] += magnitude * rms * rng.standard_normal(count)
    return corrupted, mask


def l1_loss(op, y, U, V) -> float:
    """``g(U, V) = (1/√m) ||A(U V^T) - y||_1`` (see the module docstring for the scaling).

    ``op``: operator of shape (n1, n2) with m measurements, ``y``: (m,), ``U``: (n1, k),
    ``V``: (n2, k).
    """
    check_operator(op)
    y, U, V = check_pair(op, y, U, V, names=("U", "V"))
    return float(np.abs(op.forward_unchecked(U @ V.T) - y).sum()) / np.sqrt(op.m)


def l1_subgradient(op, y, U, V) -> tuple[np.ndarray, np.ndarray]:
    """A sub-gradient ``(G V, G^T U)`` of :func:`l1_loss` at ``(U, V)``, with
    ``G = (1/√m) A*(sign(A(U V^T) - y))`` (n1, n2) and ``sign(0) = 0``.

    Where no residual vanishes this is the gradient. Shapes as in :func:`l1_loss`; returns
    arrays of shapes (n1, k) and (n2, k).
    """
    check_operator(op)
    y, U, V = check_pair(op, y, U, V, names=("U", "V"))
    G = op.adjoint_unchecked(np.sign(op.forward_unchecked(U @ V.T) - y)) / np.sqrt(op.m)
    return G @ V, G.T @ U


def subgradient_method(
    op,
    y,
    U0,
    V0,
    step0: float,
    decay: float,
    iters: int,
    truth=None,
    record_every: int = 1,
    metrics: Mapping[str, Callable[[np.ndarray, np.ndarray], float]] | None = None,
    divergence_factor: float = 1e6,
    progress: bool = False,
) -> GDResult:
    """The sub-gradient method on the ℓ1 loss :func:`l1_loss` with geometric steps.

    ``U_{t+1} = U_t - μ_t G_t V_t``, ``V_{t+1} = V_t - μ_t G_t^T U_t`` (simultaneous), with
    ``G_t = (1/√m) A*(sign(A(U_t V_t^T) - y))`` and ``μ_t = step0 * decay^t``.

    Parameters
    ----------
    op : measurement operator of shape ``(n1, n2)`` with ``m`` measurements.
    y : (m,) measurements (possibly corrupted, see :func:`corrupt`).
    U0, V0 : (n1, k) and (n2, k) initial factors.
    step0 : the first step μ_0 > 0.
    decay : the ratio ρ of the geometric steps, 0 < ρ <= 1 (ρ = 1: constant steps).
    iters : number of iterations T >= 0.
    truth : optional (n1, n2) ground truth X; adds ``test_error`` ||U V^T - X||_F / ||X||_F.
    record_every : record every this many iterations (the last one is always recorded).
    metrics : extra ``name -> f(U, V)`` evaluated at every recorded iteration.
    divergence_factor : raise :class:`~matrix_sensing.DivergenceError` once the ℓ1 loss
        exceeds this factor times ``max(g(U0, V0), ||y||_1 / √m)`` or is not finite.
    progress : show a tqdm progress bar.

    Returns a :class:`~matrix_sensing.GDResult` (``step`` is μ_0) whose history has
    ``iteration``, ``train_loss`` (the ℓ1 loss g), ``imbalance`` (operator norm of
    ``U^T U - V^T V``), ``step`` (μ_t, the step taken from that iterate) and, with
    ``truth``, ``test_error``.
    """
    options = (truth, record_every, metrics, divergence_factor, progress)
    return _subgradient_loop(op, y, U0, V0, step0, decay, iters, options)


def symmetric_subgradient_method(
    op,
    y,
    U0,
    step0: float,
    decay: float,
    iters: int,
    truth=None,
    record_every: int = 1,
    metrics: Mapping[str, Callable[[np.ndarray, np.ndarray], float]] | None = None,
    divergence_factor: float = 1e6,
    progress: bool = False,
) -> GDResult:
    """The sub-gradient method for the symmetric model ``U U^T`` (Ma & Fattahi's setting).

    Loss ``g(U) = (1/√m) ||A(U U^T) - y||_1`` (module docstring), update
    ``U_{t+1} = U_t - μ_t (G_t + G_t^T) U_t`` with ``G_t = (1/√m) A*(sign(A(U_t U_t^T) - y))``
    and ``μ_t = step0 * decay^t``. ``op`` must be square, ``(n, n)``; ``U0`` is (n, k).
    Other parameters and the history as in :func:`subgradient_method` (metrics are called
    as ``f(U, U)``; the returned ``V`` is ``U``).
    """
    options = (truth, record_every, metrics, divergence_factor, progress)
    return _subgradient_loop(op, y, U0, None, step0, decay, iters, options)


def symmetric_l2_gd(
    op,
    y,
    U0,
    step: float,
    iters: int,
    truth=None,
    record_every: int = 1,
    metrics: Mapping[str, Callable[[np.ndarray, np.ndarray], float]] | None = None,
    divergence_factor: float = 1e6,
    progress: bool = False,
) -> GDResult:
    """Gradient descent on the ℓ2 loss of the symmetric model, the non-robust baseline.

    Loss ``f(U) = 1/4 ||A(U U^T) - y||^2`` (see ``book/setup.md``, "Symmetric variant"), update
    ``U_{t+1} = U_t - μ (E_t + E_t^T)/2 U_t`` with ``E_t = A*(A(U_t U_t^T) - y)``, i.e.
    ``U_t - μ E_t U_t`` for symmetric measurement matrices. ``op`` must be square
    ``(n, n)``; ``U0`` is (n, k); ``step`` μ > 0. The history's ``train_loss`` is ``f``;
    other parameters and the history as in :func:`subgradient_method` (``step`` constant).

    Running the asymmetric :func:`~matrix_sensing.factorized_gd` from ``U_0 = V_0`` is the
    same map in exact arithmetic, but there ``U_t - V_t`` is multiplied by ``I + μ E_t`` at
    every step, so rounding errors grow wherever ``E_t`` has positive eigenvalues (as with
    corrupted measurements); this function keeps a single factor.
    """
    options = (truth, record_every, metrics, divergence_factor, progress)
    return _subgradient_loop(op, y, U0, None, step, 1.0, iters, options, loss="l2")


def _subgradient_loop(op, y, U0, V0, step0, decay, iters, options, loss="l1") -> GDResult:
    """The three methods, which validate their arguments here; ``options`` are their
    ``(truth, record_every, metrics, divergence_factor, progress)``. ``V0 is None``
    selects the symmetric model ``U U^T``. ``loss="l1"``: ``(1/√m) ||r||_1`` with weights
    ``w = sign(r)/√m``; ``loss="l2"``: ``1/2 ||r||^2`` (asymmetric) or ``1/4 ||r||^2``
    (symmetric) with ``w = r`` resp. ``r/2``. The step uses ``G = A*(w)``: ``(G V, G^T U)``
    or ``(G + G^T) U``.
    """
    truth, record_every, metrics, divergence_factor, progress = options
    symmetric = V0 is None
    check_operator(op, square=symmetric)
    y, U, V = check_factors(op, y, U0, V0)
    step_name = "step0" if loss == "l1" else "step"
    step0 = check.real(step_name, step0, positive=True)
    decay = check.real("decay", decay, positive=True, maximum=1.0)
    iters, record_every, divergence_factor, metrics = check_run_options(
        iters, record_every, divergence_factor, metrics
    )
    truth, _ = check_truth(truth, op.shape)
    model = "symmetric " if symmetric else ""
    if loss == "l1":
        scale = 1.0 / np.sqrt(op.m)
        value, weights = (lambda r: scale * float(np.abs(r).sum())), (lambda r: scale * np.sign(r))
        y_value = scale * float(np.abs(y).sum())
        algorithm = f"{model}sub-gradient method (ℓ1 loss)"
        hint = lambda step: (  # noqa: E731
            f"the geometric steps μ_t = step0·decay^t are too large (step0={step0:g}, "
            f"decay={decay:g}, μ_t={step:g} here): try step0={step0 / 2:g}, or a smaller decay "
            "so that the steps shrink sooner."
        )
    else:
        half = 0.5 if symmetric else 1.0
        value, weights = (lambda r: 0.5 * half * float(r @ r)), (lambda r: half * r)
        y_value = 0.5 * half * float(y @ y)
        algorithm = f"{model}gradient descent (ℓ2 loss)"
        hint = lambda step: (  # noqa: E731
            f"step={step:g} is too large for this problem (gradient descent needs step ≲ "
            f"1/||X||, less with outliers in y); try step={step / 2:g} or smaller."
        )
    with np.errstate(over="ignore", invalid="ignore"):
        state = _Subgradient(op, y, U, V, step0, decay, value, weights, algorithm, hint)
    (result,) = iterate(
        state,
        iters,
        step=step0,
        record_every=record_every,
        metrics=metrics,
        test_error=None if truth is None else test_error_function(truth, *op.shape),
        divergence_factor=divergence_factor,
        floor=y_value,
        progress=progress,
    )
    return result


class _Subgradient(Method):
    """One run of ``U <- U - μ_t G V``, ``V <- V - μ_t G^T U`` (``V is None``: the symmetric
    ``U <- U - μ_t (G + G^T) U``) with ``G = A*(weights(r))`` and ``μ_t = step0 decay^t``."""

    entries = ("step",)

    def __init__(self, op, y, U, V, step0, decay, value, weights, algorithm, hint):
        self._op, self._y, self._U, self._V = op, y, U, V
        self._step0, self._decay, self._t = step0, decay, 0
        self._value, self._weights, self.algorithm, self._hint = value, weights, algorithm, hint
        self._evaluate()

    @property
    def _step(self) -> float:
        return self._step0 * self._decay**self._t

    def _evaluate(self) -> None:
        W = self._U if self._V is None else self._V
        self._residual = self._op.forward_unchecked(self._U @ W.T) - self._y
        self.losses = np.array([self._value(self._residual)])

    def factors(self):
        U = self._U[None]
        return (U, U) if self._V is None else (U, self._V[None])

    def values(self):
        return {"step": np.array([self._step])}

    def step(self) -> None:
        step, U, V = self._step, self._U, self._V
        G = self._op.adjoint_unchecked(self._weights(self._residual))
        if V is None:
            self._U = U - step * ((G + G.T) @ U)
        else:
            self._U, self._V = U - step * (G @ V), V - step * (G.T @ U)
        self._t += 1
        self._evaluate()

    def divergence(self, iteration: int, run: int, bound: float) -> DivergenceError:
        step = self._step
        return DivergenceError(
            iteration,
            float(self.losses[0]),
            step,
            bound,
            algorithm=self.algorithm,
            hint=self._hint(step),
        )
