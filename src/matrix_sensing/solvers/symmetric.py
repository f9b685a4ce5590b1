"""Symmetric factorized gradient descent, the method of the precursor.

Stöger & Soltanolkotabi (NeurIPS 2021) study a PSD target ``X = X^T ⪰ 0`` (n x n), symmetric
measurement matrices (:class:`~matrix_sensing.operators.SymmetricGaussianSensing`), the loss
``f(U) = 1/4 ||A(U U^T) - y||^2`` and gradient descent

    U_{t+1} = U_t - μ E_t U_t,      E_t = A*(A(U_t U_t^T) - y)   (symmetric, n x n).

See ``book/setup.md``, "Symmetric variant"; the loop is :func:`~matrix_sensing.solvers.iterate`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import numpy as np

from .. import _validation as check
from ..operators import SymmetricGaussianSensing, check_operator
from .driver import (
    DivergenceError,
    GDResult,
    Method,
    check_factors,
    check_run_options,
    check_truth,
    iterate,
    test_error_function,
)

__all__ = ["symmetric_gd", "symmetric_loss"]


def symmetric_loss(op, y, U) -> float:
    """``f(U) = 1/4 ||A(U U^T) - y||^2`` for ``U`` (n, k) and ``y`` (m,)."""
    check_operator(op, "SymmetricGaussianSensing", square=True)
    U = check.array("U", U, ndim=2, shape=(op.shape[0], None))
    y = check.array("y", y, ndim=1, shape=(op.m,))
    residual = op(U @ U.T) - y
    return 0.25 * float(residual @ residual)


def symmetric_gd(
    op,
    y,
    U0,
    step: float,
    iters: int,
    truth=None,
    record_every: int = 1,
    metrics: Mapping[str, Callable[[np.ndarray], float]] | None = None,
    divergence_factor: float = 1e6,
    progress: bool = False,
    method: str = "auto",
) -> GDResult:
    """Run ``iters`` steps of symmetric factorized gradient descent from ``U0``.

    Parameters
    ----------
    op : symmetric measurement operator (e.g.
        :class:`~matrix_sensing.operators.SymmetricGaussianSensing`) of shape ``(n, n)`` with
        ``m`` measurements.
    y : (m,) measurements.
    U0 : (n, k) initial factor.
    step : the step size μ > 0.
    iters : number of iterations T >= 0.
    truth : optional (n, n) ground truth X; adds ``test_error`` ||U U^T - X||_F / ||X||_F to
        the history.
    record_every : record the history every this many iterations (the last iteration is
        always recorded).
    metrics : extra ``name -> f(U)`` evaluated at every recorded iteration.
    divergence_factor : raise :class:`~matrix_sensing.DivergenceError` once the loss exceeds
        this factor times ``max(f(U0), ||y||^2 / 4)``.
    progress : show a tqdm progress bar.
    method : how ``E_t`` is computed; the iterates agree to rounding error.
        ``"direct"``: ``E = A*(A(U U^T) - y)`` with two passes over the measurements (any
        square :class:`~matrix_sensing.operators.SensingOperator`). ``"gram"`` (only
        :class:`~matrix_sensing.operators.SymmetricGaussianSensing`):
        ``pack(E) = H pack(U U^T) - pack(A*(y))`` with the precomputed ``p x p`` matrix ``H``
        of ``A*A`` on symmetric matrices, ``p = n(n+1)/2``; one pass over ``H`` instead of two
        over the ``m x p`` measurements, so it is cheaper when ``p < 2m``; the recorded
        ``train_loss`` is still computed from the residual.
        ``"auto"`` (default) picks ``"gram"`` when it is available and cheaper.

    The update is ``U <- U - μ E U`` with ``E = A*(A(U U^T) - y)``, the gradient step of
    ``f(U) = 1/4 ||A(U U^T) - y||^2`` (``∇f(U) = E U`` because ``E`` is symmetric). The
    history always has ``iteration`` and ``train_loss`` (f(U_t)). Returns a
    :class:`~matrix_sensing.GDResult` whose ``V`` is ``U``.
    """
    check_operator(op, "SymmetricGaussianSensing", square=True)
    n = op.shape[0]
    y, U, _ = check_factors(op, y, U0)
    step = check.real("step", step, positive=True)
    iters, record_every, divergence_factor, metrics = check_run_options(
        iters, record_every, divergence_factor, metrics, signature="f(U)"
    )
    check.choice("method", method, {"auto", "direct", "gram"})
    has_gram = isinstance(op, SymmetricGaussianSensing)
    if method == "gram" and not has_gram:
        raise ValueError(f"method='gram' needs a SymmetricGaussianSensing operator, got {op!r}")
    if method == "auto":
        method = "gram" if has_gram and n * (n + 1) // 2 < 2 * op.m else "direct"
    truth, _ = check_truth(truth, (n, n))
    with np.errstate(over="ignore", invalid="ignore"):
        state = _Symmetric(op, y, U, step, (record_every, iters), gram=method == "gram")
    (result,) = iterate(
        state,
        iters,
        step=step,
        record_every=record_every,
        metrics={name: _of_U(fn) for name, fn in metrics.items()},
        test_error=None if truth is None else test_error_function(truth, n, n),
        divergence_factor=divergence_factor,
        floor=0.25 * float(y @ y),
        progress=progress,
        imbalance=False,
    )
    return result


def _of_U(fn: Callable[[np.ndarray], float]) -> Callable[[np.ndarray, np.ndarray], float]:
    return lambda U, V: fn(U)


class _Symmetric(Method):
    """One run of ``U <- U - μ E U``; with ``gram``, ``pack(E) = H pack(U U^T) - pack(A*(y))``.

    With the Gram matrix the loss between two records comes from
    ``||r||^2 = <W q, pack(E)> - <W pack(A*(y)), q> + ||y||^2`` (no extra pass); at the
    iterations that are recorded it is computed from the residual, exactly.
    """

    algorithm = "symmetric gradient descent"

    def __init__(self, op, y, U, step: float, recorded: tuple[int, int], *, gram: bool):
        self._op, self._y, self._U, self._step = op, y, U, step
        # (record_every, iters): the iterations whose loss the driver records are computed
        # exactly.
        self._recorded, self._gram, self._t = recorded, gram, 0
        if gram:
            self._H, self._projected = op.gram, y @ op.packed  # H and pack(A*(y))
            self._weighted_projected = op.weights * self._projected
            self._y_squared = float(y @ y)
        self._evaluate(exact=True)

    def _evaluate(self, exact: bool) -> None:
        op, y = self._op, self._y
        product = self._U @ self._U.T
        if not self._gram:
            self._residual = op.forward_unchecked(product) - y
            loss = 0.25 * float(self._residual @ self._residual)
        else:
            packed = op.pack(product)
            self._gradient = self._H @ packed - self._projected  # pack(E)
            if exact:
                residual = op.weighted @ packed - y
                loss = 0.25 * float(residual @ residual)
            else:
                loss = 0.25 * (
                    float((op.weights * packed) @ self._gradient)
                    - float(self._weighted_projected @ packed)
                    + self._y_squared
                )
        self.losses = np.array([loss])

    def factors(self):
        U = self._U[None]
        return U, U

    def step(self) -> None:
        op = self._op
        E = op.adjoint_unchecked(self._residual) if not self._gram else op.unpack(self._gradient)
        self._U = self._U - self._step * (E @ self._U)
        self._t += 1
        record_every, iters = self._recorded
        self._evaluate(exact=self._t % record_every == 0 or self._t == iters)

    def divergence(self, iteration: int, run: int, bound: float) -> DivergenceError:
        return DivergenceError(
            iteration,
            float(self.losses[0]),
            self._step,
            bound,
            algorithm=self.algorithm,
            hint=_step_hint(self._step),
        )


def _step_hint(step: float) -> str:
    return (
        f"step={step:g} is too large for this problem (gradient descent on U U^T needs "
        f"step ≲ 1/||X||, smaller for a large initialization); try step={step / 2:g} or smaller."
    )
