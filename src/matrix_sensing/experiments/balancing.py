"""Claim M8: implicit balancing. The imbalance Δ_t = U_t^T U_t - V_t^T V_t changes only at
order μ² per step (an exact identity), so over a run of fixed length in "effective time" μT
it drifts by O(μ); a deliberately unbalanced start, which has the same product U_0 V_0^T,
generalizes worse."""

from __future__ import annotations

import numpy as np

from .. import _validation as check
from ..initialization import small_random_init
from ..solvers import factorized_gd
from ._common import Run, sensing_problem, spawn_seeds
from .declaration import (
    CONDITION_NUMBER,
    ITERATIONS,
    MEASUREMENTS,
    POSITIVE,
    SIZE,
    Parameter,
    declare,
)


def imbalance_step(U, V, E, step: float) -> np.ndarray:
    """The right-hand side ``μ² (V^T E^T E V - U^T E E^T U)`` (k x k) of the one-step
    identity for ``Δ_{t+1} - Δ_t`` (lemma ``lem-imbalance-step`` of the book's theory page).

    ``U``: (n1, k), ``V``: (n2, k), ``E``: (n1, n2) the back-projected residual
    ``A*(A(U V^T) - y)``, ``step`` the step size μ > 0.
    """
    U = check.array("U", U, ndim=2)
    V = check.array("V", V, ndim=2, shape=(None, U.shape[1]))
    E = check.array("E", E, ndim=2, shape=(U.shape[0], V.shape[0]))
    step = check.real("step", step, positive=True)
    EV, EtU = E @ V, E.T @ U
    return step**2 * (EV.T @ EV - EtU.T @ EtU)


def identity_residual(U, V, U_next, V_next, E, step: float) -> tuple[float, float]:
    """How exactly one step ``(U, V) -> (U_next, V_next)`` obeys the imbalance identity.

    Returns ``(residual, scale)``: ``residual`` is the Frobenius norm of
    ``(Δ_next - Δ) - μ² (V^T E^T E V - U^T E E^T U)`` and ``scale`` the sum of the Frobenius
    norms of the six terms of the identity (``U_next^T U_next``, ``V_next^T V_next``,
    ``U^T U``, ``V^T V``, ``μ² V^T E^T E V``, ``μ² U^T E E^T U``). Floating-point rounding
    makes ``residual / scale`` a small multiple of the machine epsilon; the ratio does not
    blow up when Δ barely changes (late in a run ``Δ_next - Δ`` is below rounding).
    """
    U = check.array("U", U, ndim=2)
    V = check.array("V", V, ndim=2, shape=(None, U.shape[1]))
    U_next = check.array("U_next", U_next, ndim=2, shape=U.shape)
    V_next = check.array("V_next", V_next, ndim=2, shape=V.shape)
    E = check.array("E", E, ndim=2, shape=(U.shape[0], V.shape[0]))
    step = check.real("step", step, positive=True)
    EV, EtU = E @ V, E.T @ U
    terms = (
        U_next.T @ U_next,
        -(V_next.T @ V_next),
        -(U.T @ U),
        V.T @ V,
        -(step**2) * (EV.T @ EV),
        step**2 * (EtU.T @ EtU),
    )
    residual = float(np.linalg.norm(sum(terms)))
    scale = float(sum(np.linalg.norm(term) for term in terms))
    return residual, scale


def unbalanced_init(U0, V0, unbalance: float) -> tuple[np.ndarray, np.ndarray]:
    """``(c U0, V0 / c)`` with ``c = unbalance > 0``: the same product ``U0 V0^T`` (up to
    rounding) but an imbalance ``c² U0^T U0 - V0^T V0 / c²``."""
    U0 = check.array("U0", U0, ndim=2)
    V0 = check.array("V0", V0, ndim=2, shape=(None, U0.shape[1]))
    c = check.real("unbalance", unbalance, positive=True)
    return c * U0, V0 / c


class _IdentityMonitor:
    """A ``factorized_gd`` metric that checks the imbalance identity on the run's own
    iterates. Called with ``(U_t, V_t)`` it returns ``residual / scale`` of
    :func:`identity_residual` for the step ``t-1 -> t`` (NaN at ``t = 0``), and appends
    ``||μ² (V^T E^T E V - U^T E E^T U)||_F / scale`` for that step to ``changes``. Needs
    ``record_every=1``."""

    def __init__(self, op, y, step: float):
        self.op, self.y, self.step = op, y, step
        self.previous = None
        self.changes: list[float] = []

    def __call__(self, U, V) -> float:
        E = self.op.adjoint(self.op(U @ V.T) - self.y)
        value = np.nan
        if self.previous is not None:
            U_prev, V_prev, E_prev = self.previous
            residual, scale = identity_residual(U_prev, V_prev, U, V, E_prev, self.step)
            change = np.linalg.norm(imbalance_step(U_prev, V_prev, E_prev, self.step))
            self.changes.append(float(change) / scale)
            value = residual / scale
        self.previous = (U.copy(), V.copy(), E)
        return value


def _op_norm_symmetric(M: np.ndarray) -> float:
    return float(np.abs(np.linalg.eigvalsh(M)).max())


def implicit_balancing(
    *,
    n1: int,
    n2: int,
    r: int,
    kappa: float,
    m: int,
    k: int,
    alpha: float,
    step: float,
    iters: int,
    step_factors: list[float],
    unbalance: float,
    seed: int,
    progress: bool = False,
) -> Run:
    """Claim M8 on one draw of the data and of the initialization ``(U_0, V_0)``.

    Results:

    - ``"base"``: gradient descent with step ``μ = step`` for ``T = iters`` iterations from
      the small random initialization, recorded at every iteration. Its history has
      ``identity_error`` (the one-step identity checked on the run's own iterates, see
      :func:`identity_residual`; the value at iteration t is for the step t-1 -> t, NaN at
      t = 0) and ``drift`` ``||Δ_t - Δ_0||`` (operator norm).
    - ``"step_x{f:g}"`` for each ``f`` in ``step_factors`` (e.g. ``"step_x0.5"``): the same
      start with step ``f μ`` for ``round(T / f)`` iterations, i.e. the same "effective
      time" ``μT``, recorded every ``max(1, round(1 / f))`` iterations (for ``f <= 1`` the
      same effective times as ``"base"``); history ``drift``.
    - ``"unbalanced"``: step ``μ``, ``T`` iterations from ``(c U_0, V_0 / c)``,
      ``c = unbalance`` (:func:`unbalanced_init`), recorded every 10 iterations and at T.

    ``data``: ``"delta0"`` ``||Δ_0||`` and ``"truth_norm"`` ``||X||`` (operator norms),
    ``"step_factors"``, and ``"identity_change"`` (length T): the size of the step's change
    ``||μ² (V_t^T E_t^T E_t V_t - U_t^T E_t E_t^T U_t)||_F`` relative to the same scale as
    ``identity_error``, for the steps t -> t+1 of ``"base"``.
    """
    params = {
        "n1": n1,
        "n2": n2,
        "r": r,
        "kappa": kappa,
        "m": m,
        "k": k,
        "alpha": alpha,
        "step": step,
        "iters": iters,
        "step_factors": step_factors,
        "unbalance": unbalance,
    }
    # Check every parameter under its own name before any long run starts.
    for name in ("n1", "n2", "r", "m", "k"):
        check.integer(name, params[name], minimum=1)
    check.real("kappa", kappa, minimum=1.0)
    alpha = check.real("alpha", alpha, positive=True)
    step = check.real("step", step, positive=True)
    iters = check.integer("iters", iters, minimum=1)
    factors = _step_factors(step_factors)
    check.real("unbalance", unbalance, positive=True)

    problem_seed, init_seed = spawn_seeds(seed, 2)
    truth, op, y = sensing_problem(n1, n2, r, kappa, m, seed=problem_seed)
    U0, V0 = small_random_init(n1, n2, k, alpha, seed=init_seed)
    delta0 = U0.T @ U0 - V0.T @ V0
    run = Run("implicit_balancing", params, seed, truth)

    def drift(U, V) -> float:
        return _op_norm_symmetric(U.T @ U - V.T @ V - delta0)

    monitor = _IdentityMonitor(op, y, step)
    run.results["base"] = factorized_gd(
        op,
        y,
        U0,
        V0,
        step,
        iters,
        truth=truth,
        record_every=1,
        metrics={"identity_error": monitor, "drift": drift},
        progress=progress,
    )
    for factor in factors:
        run.results[f"step_x{factor:g}"] = factorized_gd(
            op,
            y,
            U0,
            V0,
            factor * step,
            max(1, round(iters / factor)),
            truth=truth,
            record_every=max(1, round(1 / factor)),
            metrics={"drift": drift},
            progress=progress,
        )
    U0_c, V0_c = unbalanced_init(U0, V0, unbalance)
    run.results["unbalanced"] = factorized_gd(
        op, y, U0_c, V0_c, step, iters, truth=truth, record_every=10, progress=progress
    )
    run.data.update(
        delta0=_op_norm_symmetric(delta0),
        truth_norm=float(np.linalg.norm(truth, 2)),
        step_factors=factors,
        identity_change=np.array(monitor.changes),
    )
    return run


def _step_factors(step_factors) -> list[float]:
    if isinstance(step_factors, (str, bytes)) or not hasattr(step_factors, "__iter__"):
        raise TypeError(f"step_factors must be a list of positive numbers, got {step_factors!r}")
    factors = [check.real("step_factors[]", f, positive=True) for f in step_factors]
    if not factors or 1.0 in factors or len(set(factors)) != len(factors):
        raise ValueError(
            f"step_factors must be a non-empty list of distinct factors other than 1, "
            f"got {list(step_factors)}"
        )
    return factors


# Configuration B (n1=40, n2=30, r=2, κ=2, m=560, k=n1, μ=0.25; defined in ``book/setup.md``)
# at α=1e-6; the paper scale is the M1 paper scale (every dimension ~2.5x at m ≈ 4r(n1+n2)).
#: The parameters of :func:`implicit_balancing` (claim M8).
DECLARATION = declare(
    implicit_balancing,
    Parameter("n1", SIZE, 40, 100, "rows of the target X (n1 × n2)"),
    Parameter("n2", SIZE, 30, 80, "columns of X"),
    Parameter("r", SIZE, 2, 3, "rank of X"),
    Parameter("kappa", CONDITION_NUMBER, 2.0, 2.0, "condition number κ = σ_1/σ_r of X"),
    Parameter("m", MEASUREMENTS, 560, 2160, "number of Gaussian measurements"),
    Parameter("k", SIZE, 40, 100, "width of the factors U (n1 × k) and V (n2 × k)"),
    Parameter("alpha", POSITIVE, 1e-6, 1e-6, "scale α of the initialization α G"),
    Parameter("step", POSITIVE, 0.25, 0.25, "step size μ"),
    Parameter("iters", ITERATIONS, 1500, 2000, "iterations T at step μ"),
    Parameter("step_factors", POSITIVE, [2.0, 0.5], [2.0, 0.5], "factors f of the runs at f μ"),
    Parameter("unbalance", POSITIVE, 100.0, 100.0, "c of the unbalanced start (c U_0, V_0 / c)"),
)
