"""Preconditioned factorized gradient descent: ScaledGD, ScaledGD(λ) and PrecGD.

One update, three damping policies. For the loss ``f(U, V) = 1/2 ||A(U V^T) - y||^2`` with
gradients ``∇_U f = E V`` and ``∇_V f = E^T U`` (``E = A*(A(U V^T) - y)``), one step is
(simultaneous: the V step uses the old U)::

    U_{t+1} = U_t - μ ∇_U f(U_t, V_t) (V_t^T V_t + λ_t I)^{-1},
    V_{t+1} = V_t - μ ∇_V f(U_t, V_t) (U_t^T U_t + λ_t I)^{-1}.

The damping ``λ_t`` is chosen by a policy:

- ``"scaledgd"``: ``λ_t = 0``, the scaled gradient descent of Tong, Ma & Chi (JMLR 2021);
  it needs invertible ``V^T V`` and ``U^T U``, i.e. width ``k = r`` and full-rank factors.
- ``"scaledgd_lambda"``: a fixed ``λ_t = λ > 0`` (argument ``lam``), the ScaledGD(λ) of Xu,
  Shen, Chi & Ma (ICML 2023) for overparameterized widths ``k > r`` from a small random
  initialization.
- ``"precgd"``: ``λ_t = √f(U_t, V_t)``, the damping of the PrecGD of Zhang, Fattahi & Zhang
  (NeurIPS 2021), which shrinks with the residual.
- a callable ``policy(U, V, loss) -> λ`` (``loss`` is ``f(U, V)``) for any other rule.

The constants in front of the damping and the step sizes used in the experiments are this
companion's choices, not the papers'.
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
    check_pair,
    check_run_options,
    check_truth,
    iterate,
    test_error_function,
)

POLICIES = ("scaledgd", "scaledgd_lambda", "precgd")


def damping(policy, U, V, loss: float, lam: float | None = None) -> float:
    """The damping ``λ`` that ``policy`` chooses at ``(U, V)`` with loss ``f(U, V) = loss``.

    ``policy`` is one of :data:`POLICIES` or a callable ``(U, V, loss) -> λ``; ``U``: (n1, k),
    ``V``: (n2, k); ``loss >= 0``; ``lam`` is the fixed damping λ > 0 of
    ``"scaledgd_lambda"`` (must be None otherwise). Returns a float ``λ >= 0``.
    """
    lam = _check_policy(policy, lam)
    U = check.array("U", U, ndim=2)
    V = check.array("V", V, ndim=2, shape=(None, U.shape[1]))
    loss = check.real("loss", loss, minimum=0.0)
    return _damping(policy, U, V, loss, lam)


def _damping(policy, U, V, loss: float, lam: float | None) -> float:
    # Unchecked: preconditioned_gd validated the policy and lam once, up front.
    if callable(policy):
        value = policy(U, V, loss)
        try:
            return check.real("damping policy value", value, minimum=0.0)
        except (TypeError, ValueError) as exc:
            raise ValueError(
                f"the damping policy {policy!r} must return a finite real λ >= 0, got {value!r}"
            ) from exc
    if policy == "scaledgd_lambda":
        return float(lam)
    if policy == "precgd":
        return float(np.sqrt(loss))
    return 0.0  # "scaledgd"


def algorithm_name(policy) -> str:
    """The name of the method that a valid ``policy`` selects, as used in messages."""
    if callable(policy):
        return "preconditioned gradient descent (custom damping)"
    check.choice("policy", policy, POLICIES)
    return {"scaledgd": "ScaledGD", "scaledgd_lambda": "ScaledGD(λ)", "precgd": "PrecGD"}[policy]


def _step_hint(policy, step: float) -> str:
    # The preconditioned step is invariant to the scale of X (the preconditioners undo it),
    # so a stable step does not shrink with ||X|| or κ; 0.5 is the step of this companion's
    # experiments (N7, N8), not a constant of the papers.
    hint = (
        f"step={step:g} is too large for {algorithm_name(policy)}: its step does not scale "
        "with ||X|| (the preconditioner undoes the scale) and this companion's experiments "
        f"use step=0.5; try step={min(step / 2, 0.5):g}"
    )
    if policy == "scaledgd_lambda":
        hint += ", or a larger damping lam"
    return hint + "."


def _check_policy(policy, lam) -> float | None:
    if callable(policy):
        if lam is not None:
            raise ValueError("lam must be None when policy is a callable (it chooses λ itself)")
        return None
    if not isinstance(policy, str) or policy not in POLICIES:
        raise ValueError(f"policy must be one of {list(POLICIES)} or a callable, got {policy!r}")
    if policy == "scaledgd_lambda":
        if lam is None:
            raise ValueError("lam must be given (a real number > 0) for policy 'scaledgd_lambda'")
        return check.real("lam", lam, positive=True)
    if lam is not None:
        raise ValueError(f"lam must be None for policy {policy!r} (only 'scaledgd_lambda' uses it)")
    return None


def preconditioned_step(U, V, grad_U, grad_V, step: float, lam: float):
    """One preconditioned step with damping ``λ = lam``; returns ``(U_next, V_next)``.

    ``U``: (n1, k), ``V``: (n2, k), ``grad_U``: (n1, k), ``grad_V``: (n2, k), ``step``: μ > 0,
    ``lam``: λ >= 0. Computes ``U - μ grad_U (V^T V + λI)^{-1}`` and
    ``V - μ grad_V (U^T U + λI)^{-1}`` with linear solves (no explicit inverse). Raises
    ``numpy.linalg.LinAlgError`` if a preconditioner is exactly singular.
    """
    U = check.array("U", U, ndim=2)
    V = check.array("V", V, ndim=2, shape=(None, U.shape[1]))
    grad_U = check.array("grad_U", grad_U, ndim=2, shape=U.shape)
    grad_V = check.array("grad_V", grad_V, ndim=2, shape=V.shape)
    step = check.real("step", step, positive=True)
    lam = check.real("lam", lam, minimum=0.0)
    return _preconditioned_step(U, V, grad_U, grad_V, step, lam)


def _preconditioned_step(U, V, grad_U, grad_V, step: float, lam: float):
    # Unchecked: preconditioned_gd validated its inputs once, up front.
    eye = np.eye(U.shape[1])
    # (V^T V + λI) is symmetric, so grad_U P^{-1} = (P^{-1} grad_U^T)^T.
    U_next = U - step * np.linalg.solve(V.T @ V + lam * eye, grad_U.T).T
    V_next = V - step * np.linalg.solve(U.T @ U + lam * eye, grad_V.T).T
    return U_next, V_next


def preconditioned_gd(
    op,
    y,
    U0,
    V0,
    step: float,
    iters: int,
    policy="scaledgd",
    lam: float | None = None,
    truth=None,
    record_every: int = 1,
    metrics: Mapping[str, Callable[[np.ndarray, np.ndarray], float]] | None = None,
    stop_below: float | None = None,
    divergence_factor: float = 1e6,
    progress: bool = False,
) -> GDResult:
    """Run up to ``iters`` preconditioned steps from ``(U0, V0)`` (see the module docstring).

    Parameters
    ----------
    op : measurement operator of shape ``(n1, n2)`` with ``m`` measurements (e.g.
        :class:`~matrix_sensing.GaussianSensing`).
    y : (m,) measurements.
    U0, V0 : (n1, k) and (n2, k) initial factors.
    step : the step size μ > 0.
    iters : maximum number of iterations T >= 0.
    policy : ``"scaledgd"`` (λ = 0), ``"scaledgd_lambda"`` (λ = ``lam``), ``"precgd"``
        (λ = √f) or a callable ``(U, V, loss) -> λ``.
    lam : the fixed damping λ > 0 of ``"scaledgd_lambda"``; must be None otherwise.
    truth : optional (n1, n2) ground truth X; adds ``test_error`` ||U V^T - X||_F / ||X||_F.
    record_every : record every this many iterations (the last iteration is always recorded).
    metrics : extra ``name -> f(U, V)`` evaluated at every recorded iteration.
    stop_below : stop as soon as the test error is <= this level (needs ``truth``); that
        iteration is recorded and ``result.iters`` is the number of steps taken.
    divergence_factor : raise :class:`~matrix_sensing.DivergenceError` once the loss
        exceeds this factor times ``max(f(U0, V0), ||y||^2 / 2)`` or is not finite.
    progress : show a tqdm progress bar.

    The history has ``iteration``, ``train_loss`` (f), ``imbalance`` (operator norm of
    ``U^T U - V^T V``), ``damping`` (the λ used for the step *from* that iterate; for the
    last iterate the λ the policy would use next) and, with ``truth``, ``test_error``.
    A preconditioner that is exactly singular (e.g. ``"scaledgd"`` from a zero factor)
    raises ``ValueError`` naming the iteration.
    """
    check_operator(op)
    y, U, V = check_pair(op, y, U0, V0)
    step = check.real("step", step, positive=True)
    iters, record_every, divergence_factor, metrics = check_run_options(
        iters, record_every, divergence_factor, metrics
    )
    lam = _check_policy(policy, lam)
    truth, truth_norm = check_truth(truth, op.shape)
    if stop_below is not None:
        stop_below = check.real("stop_below", stop_below, positive=True)
        if truth is None:
            raise ValueError("stop_below needs truth (it stops on the test error)")

    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        state = _Preconditioned(op, y, U, V, step, policy, lam, truth, truth_norm, stop_below)
    (result,) = iterate(
        state,
        iters,
        step=step,
        record_every=record_every,
        metrics=metrics,
        test_error=None if truth is None else test_error_function(truth, *op.shape),
        divergence_factor=divergence_factor,
        floor=0.5 * float(y @ y),
        progress=progress,
    )
    return result


class _Preconditioned(Method):
    """One run of the preconditioned update with the damping chosen by ``policy``."""

    entries = ("damping",)

    def __init__(self, op, y, U, V, step, policy, lam, truth, truth_norm, stop_below):
        self.algorithm = algorithm_name(policy)
        self._op, self._y, self._U, self._V, self._step = op, y, U, V, step
        self._policy, self._lam = policy, lam
        self._truth, self._truth_norm, self._stop_below = truth, truth_norm, stop_below
        self._t, self._bound = 0, np.inf
        self._evaluate()

    def _evaluate(self) -> None:
        product = self._U @ self._V.T
        self._residual = self._op.forward_unchecked(product) - self._y
        loss = 0.5 * float(self._residual @ self._residual)
        self.losses, self._damping = np.array([loss]), None
        if self._stop_below is not None and np.isfinite(loss):
            error = np.linalg.norm(product - self._truth) / self._truth_norm
            self.stopped = bool(error <= self._stop_below)

    @property
    def damping(self) -> float:
        """λ_t at the current iterate (the policy is asked once per iterate)."""
        if self._damping is None:
            loss = float(self.losses[0])
            self._damping = _damping(self._policy, self._U, self._V, loss, self._lam)
        return self._damping

    def factors(self):
        return self._U[None], self._V[None]

    def values(self):
        return {"damping": np.array([self.damping])}

    def advance(self, count: int, bounds: np.ndarray) -> int:
        self._bound = float(bounds[0])
        return super().advance(count, bounds)

    def step(self) -> None:
        U, V, lam = self._U, self._V, self.damping
        gradient = self._op.adjoint_unchecked(self._residual)
        try:
            self._U, self._V = _preconditioned_step(
                U, V, gradient @ V, gradient.T @ U, self._step, lam
            )
        except np.linalg.LinAlgError:
            if not (np.all(np.isfinite(U.T @ U)) and np.all(np.isfinite(V.T @ V))):
                # The factors overflowed: a divergence, not a rank problem.
                raise DivergenceError(
                    self._t,
                    np.inf,
                    self._step,
                    self._bound,
                    algorithm=self.algorithm,
                    hint=_step_hint(self._policy, self._step),
                ) from None
            raise ValueError(
                f"the preconditioner V^T V + λI or U^T U + λI is singular at iteration "
                f"{self._t} (λ = {lam:g}). Hint: ScaledGD (λ = 0) needs full-rank factors of "
                "width k = r; for k > r or a zero factor use policy 'scaledgd_lambda' with "
                "lam > 0"
            ) from None
        self._t += 1
        self._evaluate()

    def divergence(self, iteration: int, run: int, bound: float) -> DivergenceError:
        return DivergenceError(
            iteration,
            float(self.losses[0]),
            self._step,
            bound,
            algorithm=self.algorithm,
            hint=_step_hint(self._policy, self._step),
        )
