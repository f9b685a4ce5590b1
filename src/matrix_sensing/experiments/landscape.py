"""Claim N9: the landscape of the exactly parameterized problem (Bhojanapalli, Neyshabur &
Srebro 2016; Ge, Jin & Zheng 2017). With width ``k = r`` and measurements that satisfy a
restricted isometry property, the loss has no spurious local minima, so gradient descent
from a generic *large* (order one) random start reaches a global minimum, ``U V^T = X``.

The experiment runs many independent starts on the same data. To keep 50 starts per seed
cheap, it runs them side by side: :func:`batched_gd` is plain factorized gradient descent
(the update of :func:`matrix_sensing.gd.factorized_gd`) applied to a stack of independent
factor pairs, so that one matrix product with the operator serves every start.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .. import _validation as check
from ..gd import DivergenceError
from ..initialization import small_random_init
from ._common import Run, sensing_problem, spawn_seeds


@dataclass
class BatchedGDResult:
    """Outcome of :func:`batched_gd` for ``B`` independent starts. ``U``: (B, n1, k) and
    ``V``: (B, n2, k) are the last iterates; ``history`` has ``iteration`` (R,) and
    ``train_loss`` (R, B), plus ``test_error`` (R, B) when a truth was given: row ``j`` is
    the recorded iteration ``history["iteration"][j]``, column ``b`` the start ``b``."""

    U: np.ndarray
    V: np.ndarray
    step: float
    iters: int
    history: dict[str, np.ndarray] = field(default_factory=dict)


def _check_operator(op) -> None:
    # The batched products use the dense (m, n1 n2) matrix of a GaussianSensing operator.
    for attribute in ("m", "shape", "matrix"):
        if not hasattr(op, attribute):
            raise TypeError(f"op must be a GaussianSensing operator, got {op!r}")


def _stacked_factors(U, V, op, names=("U0", "V0")) -> tuple[np.ndarray, np.ndarray]:
    n1, n2 = op.shape
    U = check.array(names[0], U, ndim=3, shape=(None, n1, None))
    batch, _, k = U.shape
    if batch < 1 or k < 1:
        raise ValueError(
            f"{names[0]} must have shape (B, n1, k) with B >= 1 and k >= 1, got {U.shape}"
        )
    V = check.array(names[1], V, ndim=3, shape=(batch, n2, k))
    return U, V


def batched_loss_and_gradient(op, y, U, V) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Loss and gradient of ``f(U, V) = 1/2 ||A(U V^T) - y||^2`` for a stack of starts.

    ``U``: (B, n1, k), ``V``: (B, n2, k), ``y``: (m,). Returns ``(loss, grad_U, grad_V)``
    with ``loss`` (B,), ``grad_U = E V`` (B, n1, k) and ``grad_V = E^T U`` (B, n2, k), where
    ``E = A*(A(U V^T) - y)`` is computed start by start.
    """
    _check_operator(op)
    y = check.array("y", y, ndim=1, shape=(op.m,))
    U, V = _stacked_factors(U, V, op, names=("U", "V"))
    return _loss_and_gradient(op.matrix, y, U, V, op.shape)


def _loss_and_gradient(matrix, y, U, V, shape):
    batch = U.shape[0]
    residual = (U @ V.transpose(0, 2, 1)).reshape(batch, -1) @ matrix.T - y  # (B, m)
    loss = 0.5 * np.einsum("bi,bi->b", residual, residual)
    E = (residual @ matrix).reshape(batch, *shape)  # (B, n1, n2)
    return loss, E @ V, E.transpose(0, 2, 1) @ U


def batched_gd(
    op,
    y,
    U0,
    V0,
    step: float,
    iters: int,
    truth=None,
    record_every: int = 1,
    divergence_factor: float = 1e6,
) -> BatchedGDResult:
    """Factorized gradient descent from ``B`` independent starts at once.

    For every start ``b`` this is the update of :func:`matrix_sensing.gd.factorized_gd`
    (``U_{t+1} = U_t - μ E_t V_t``, ``V_{t+1} = V_t - μ E_t^T U_t``, simultaneous), with the
    same arguments except that ``U0`` is (B, n1, k) and ``V0`` is (B, n2, k). The starts do
    not interact; only the products with the operator are shared. Raises
    :class:`~matrix_sensing.gd.DivergenceError` as soon as one start's loss is not finite or
    exceeds ``divergence_factor * max(f_b(U0, V0), ||y||^2 / 2)`` (attribute ``start``
    names it).
    """
    _check_operator(op)
    y = check.array("y", y, ndim=1, shape=(op.m,))
    U, V = (a.copy() for a in _stacked_factors(U0, V0, op))
    step = check.real("step", step, positive=True)
    iters = check.integer("iters", iters, minimum=0)
    record_every = check.integer("record_every", record_every, minimum=1)
    divergence_factor = check.real("divergence_factor", divergence_factor, minimum=1.0)
    if truth is not None:
        truth = check.array("truth", truth, ndim=2, shape=op.shape)
        truth_norm = np.linalg.norm(truth)
        if truth_norm == 0:
            raise ValueError("truth must be a non-zero matrix")

    records: dict[str, list] = {"iteration": [], "train_loss": []}
    if truth is not None:
        records["test_error"] = []
    bound = None
    with np.errstate(over="ignore", invalid="ignore"):
        for t in range(iters + 1):
            loss, grad_U, grad_V = _loss_and_gradient(op.matrix, y, U, V, op.shape)
            if bound is None:
                bound = divergence_factor * np.maximum(loss, 0.5 * float(y @ y))
            bad = np.flatnonzero(~np.isfinite(loss) | (loss > bound))
            if bad.size:
                b = int(bad[0])
                error = DivergenceError(
                    t,
                    float(loss[b]),
                    step,
                    float(bound[b]),
                    algorithm=f"batched gradient descent (start {b})",
                    hint=f"step={step:g} is too large for this start (gradient descent needs "
                    f"step ≲ 1/(||U_0||² + ||V_0||²) from a large start); try step={step / 2:g} "
                    "or a smaller start scale alpha.",
                )
                error.start = b
                raise error
            if t % record_every == 0 or t == iters:
                records["iteration"].append(t)
                records["train_loss"].append(loss)
                if truth is not None:
                    diff = (U @ V.transpose(0, 2, 1) - truth).reshape(U.shape[0], -1)
                    records["test_error"].append(np.linalg.norm(diff, axis=1) / truth_norm)
            if t == iters:
                break
            U, V = U - step * grad_U, V - step * grad_V
    history = {name: np.asarray(values) for name, values in records.items()}
    return BatchedGDResult(U=U, V=V, step=step, iters=iters, history=history)


def first_hits(iterations, values, level: float) -> np.ndarray:
    """Per column of ``values`` (R, B), the first recorded iteration (from ``iterations``,
    (R,)) at which the value is strictly below ``level``; NaN for a column that never is.
    Returns a float array (B,)."""
    iterations = check.array("iterations", iterations, ndim=1)
    values = check.array("values", values, ndim=2, shape=(iterations.shape[0], None))
    level = check.real("level", level)
    below = values < level
    hits = iterations[np.argmax(below, axis=0)].astype(float)
    hits[~below.any(axis=0)] = np.nan
    return hits


def random_starts(
    *,
    n1: int,
    n2: int,
    r: int,
    kappa: float,
    m: int,
    starts: int,
    alpha: float,
    step: float,
    iters: int,
    record_every: int,
    seed: int,
) -> Run:
    """Claim N9: ``starts`` independent order-one random starts of exactly parameterized
    gradient descent (width ``k = r``) on one sensing problem.

    Start ``j`` is :func:`~matrix_sensing.initialization.small_random_init` with width
    ``k = r`` and scale ``alpha`` (entries of ``U_0``, ``V_0`` i.i.d. N(0, α²/r)) and its own
    seed. All starts run ``iters`` steps of size ``step`` on the same target and operator
    (:func:`batched_gd`), recorded every ``record_every`` iterations.

    ``data``: ``iteration`` (R,), ``test_error`` and ``train_loss`` (R, starts), the final
    ``final_error`` and ``final_loss`` (starts,), and ``initial_ratio`` (starts,)
    ``||U_0 V_0^T||_F / ||X||_F`` (how far from small the starts are).
    """
    params = {
        "n1": n1,
        "n2": n2,
        "r": r,
        "kappa": kappa,
        "m": m,
        "starts": starts,
        "alpha": alpha,
        "step": step,
        "iters": iters,
        "record_every": record_every,
    }
    # Check every parameter under its own name before the run starts.
    n1 = check.integer("n1", n1, minimum=1)
    n2 = check.integer("n2", n2, minimum=1)
    check.integer("r", r, minimum=1, maximum=min(n1, n2))
    check.real("kappa", kappa, minimum=1.0)
    m = check.integer("m", m, minimum=1)
    starts = check.integer("starts", starts, minimum=1)
    # The starts run side by side: (starts, n1, n2) products and (starts, m) residuals.
    check.entries("the batched products U V^T", ("starts", starts), ("n1", n1), ("n2", n2))
    check.entries("the batched residuals", ("starts", starts), ("m", m))
    alpha = check.real("alpha", alpha, positive=True)
    step = check.real("step", step, positive=True)
    iters = check.integer("iters", iters, minimum=1)
    record_every = check.integer("record_every", record_every, minimum=1)

    problem_seed, init_seed = spawn_seeds(seed, 2)
    truth, op, y = sensing_problem(n1, n2, r, kappa, m, seed=problem_seed)
    pairs = [small_random_init(n1, n2, r, alpha, seed=s) for s in spawn_seeds(init_seed, starts)]
    U0 = np.stack([U for U, _ in pairs])
    V0 = np.stack([V for _, V in pairs])
    result = batched_gd(op, y, U0, V0, step, iters, truth=truth, record_every=record_every)
    history = result.history
    truth_norm = np.linalg.norm(truth)
    run = Run("random_starts", params, seed, truth)
    run.data.update(
        iteration=history["iteration"],
        test_error=history["test_error"],
        train_loss=history["train_loss"],
        final_error=history["test_error"][-1],
        final_loss=history["train_loss"][-1],
        initial_ratio=np.linalg.norm(U0 @ V0.transpose(0, 2, 1), axis=(1, 2)) / truth_norm,
    )
    return run
