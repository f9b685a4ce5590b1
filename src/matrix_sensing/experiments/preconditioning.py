"""Claim N7 (Tong, Ma & Chi 2021; Xu, Shen, Chi & Ma 2023; Zhang, Fattahi & Zhang 2021):
preconditioning removes the dependence of the iteration count on the condition number κ.

Plain gradient descent from a small initialization needs about ``ln(1/α)/(μ σ_r)``
iterations, i.e. a number growing like κ (``σ_1 = 1``); ScaledGD(λ) and PrecGD rescale the
gradient by ``(V^T V + λI)^{-1}`` and ``(U^T U + λI)^{-1}`` and need nearly the same number
of iterations for every κ.
"""

from __future__ import annotations

import numpy as np

from .. import _validation as check
from ..initialization import small_random_init
from ..solvers import GDResult, factorized_gd, preconditioned_gd
from ._common import Run, continue_while, sensing_problem, spawn_seeds
from .declaration import (
    CONDITION_NUMBER,
    ITERATIONS,
    MEASUREMENTS,
    POSITIVE,
    SIZE,
    Parameter,
    declare,
)

METHODS = ("gd", "scaledgd_lambda", "precgd")


def gd_until(op, y, U0, V0, step: float, max_iters: int, truth, tol: float, chunk: int = 250):
    """Plain gradient descent (:func:`~matrix_sensing.factorized_gd`, unchanged) run in
    chunks of ``chunk`` iterations until the relative test error is <= ``tol`` or
    ``max_iters`` iterations are done; returns one :class:`~matrix_sensing.GDResult` whose
    history (recorded every iteration) stops at the first iterate with error <= ``tol``.
    Stopping early is what keeps the slow, ill-conditioned runs affordable."""
    max_iters = check.integer("max_iters", max_iters, minimum=1)
    if truth is None:  # the stopping rule needs the test error
        raise TypeError("truth must be an (n1, n2) array (gd_until stops on the test error)")
    tol = check.real("tol", tol, positive=True)
    chunk = check.integer("chunk", chunk, minimum=1)

    def more(result: GDResult) -> int:
        if np.any(result.history["test_error"] <= tol) or result.iters >= max_iters:
            return 0
        return min(chunk, max_iters - result.iters)

    first = factorized_gd(op, y, U0, V0, step, min(chunk, max_iters), truth=truth)
    result = continue_while(first, op, y, more, truth=truth)
    history = result.history
    below = np.flatnonzero(history["test_error"] <= tol)
    if below.size:
        history = {name: values[: below[0] + 1] for name, values in history.items()}
    # U, V are the last iterate of the last chunk (not the stopping iterate when that falls
    # inside a chunk); the history is what the claim uses.
    taken = int(history["iteration"][-1])
    return GDResult(U=result.U, V=result.V, step=step, iters=taken, history=history)


def preconditioning(
    *,
    n1: int,
    n2: int,
    r: int,
    m: int,
    k: int,
    kappas: list,
    alpha: float,
    tol: float,
    step_gd: float,
    max_iters_gd: int,
    step_precond: float,
    lam: float,
    max_iters_precond: int,
    floor_kappa: float,
    floor_alphas: list,
    floor_iters: int,
    seed: int,
    progress: bool = False,
) -> Run:
    """Claim N7 on one draw of the factors of ``X``, of the operator and of ``(G_U, G_V)``.

    For every κ in ``kappas`` the target has the same singular vectors and the singular
    values :func:`~matrix_sensing.targets.linear_spectrum` ``(r, κ)`` (``σ_1 = 1``,
    ``σ_r = 1/κ``), and every method starts from the same ``U_0 = α G_U``, ``V_0 = α G_V``:

    - ``"gd_kappa{κ:g}"``: plain gradient descent, step ``step_gd`` (:func:`gd_until`);
    - ``"scaledgd_lambda_kappa{κ:g}"``: ScaledGD(λ) with the fixed damping ``lam``;
    - ``"precgd_kappa{κ:g}"``: PrecGD (damping ``√f``);

    the preconditioned ones with step ``step_precond``
    (:func:`~matrix_sensing.solvers.preconditioned_gd`). Every run stops at the first
    iterate with relative test error <= ``tol`` (or after its maximum number of iterations).

    The α-dependence of the end of the ScaledGD(λ) runs is looked at separately, at
    ``κ = floor_kappa``, with no early stop: ``"floor_scaledgd_lambda_alpha{α:g}"`` for each
    α in ``floor_alphas`` and ``"floor_precgd_alpha{α:g}"`` at ``α = alpha``, each for
    ``floor_iters`` iterations, recorded every iteration. ``run.truth`` is the target at
    ``floor_kappa``.

    ``data["iterations"][method]``: array over ``kappas`` (sorted increasingly) of the
    first iteration with test error <= ``tol`` (NaN if never reached).
    """
    params = {
        "n1": n1,
        "n2": n2,
        "r": r,
        "m": m,
        "k": k,
        "kappas": kappas,
        "alpha": alpha,
        "tol": tol,
        "step_gd": step_gd,
        "max_iters_gd": max_iters_gd,
        "step_precond": step_precond,
        "lam": lam,
        "max_iters_precond": max_iters_precond,
        "floor_kappa": floor_kappa,
        "floor_alphas": floor_alphas,
        "floor_iters": floor_iters,
    }
    # Check every parameter under its own name before any long run starts.
    for name in ("n1", "n2", "m", "k"):
        check.integer(name, params[name], minimum=1)
    check.integer("r", r, minimum=1, maximum=min(n1, n2))
    kappas = _real_list("kappas", kappas, minimum=1.0)
    if len(kappas) < 2:
        raise ValueError(f"kappas must contain at least two condition numbers, got {kappas}")
    check.real("alpha", alpha, positive=True)
    check.real("tol", tol, positive=True)
    check.real("step_gd", step_gd, positive=True)
    check.integer("max_iters_gd", max_iters_gd, minimum=1)
    check.real("step_precond", step_precond, positive=True)
    check.real("lam", lam, positive=True)
    check.integer("max_iters_precond", max_iters_precond, minimum=1)
    floor_kappa = check.real("floor_kappa", floor_kappa, minimum=1.0)
    floor_alphas = _real_list("floor_alphas", floor_alphas, positive=True)
    check.integer("floor_iters", floor_iters, minimum=1)

    problem_seed, init_seed = spawn_seeds(seed, 2)
    U0, V0 = small_random_init(n1, n2, k, alpha, seed=init_seed)
    # The same problem seed gives the same singular vectors and operator for every κ.
    floor_truth, floor_op, floor_y = sensing_problem(n1, n2, r, floor_kappa, m, seed=problem_seed)
    run = Run("preconditioning", params, seed, floor_truth)
    iterations = {method: [] for method in METHODS}
    for kappa in sorted(kappas):
        truth, op, y = sensing_problem(n1, n2, r, kappa, m, seed=problem_seed)
        results = {"gd": gd_until(op, y, U0, V0, step_gd, max_iters_gd, truth, tol)}
        for policy in ("scaledgd_lambda", "precgd"):
            results[policy] = preconditioned_gd(
                op,
                y,
                U0,
                V0,
                step_precond,
                max_iters_precond,
                policy=policy,
                lam=lam if policy == "scaledgd_lambda" else None,
                truth=truth,
                stop_below=tol,
                progress=progress,
            )
        for method, result in results.items():
            run.results[f"{method}_kappa{kappa:g}"] = result
            iterations[method].append(first_below(result, tol))
    for floor_alpha in floor_alphas:
        U0_a, V0_a = small_random_init(n1, n2, k, floor_alpha, seed=init_seed)
        run.results[f"floor_scaledgd_lambda_alpha{floor_alpha:g}"] = preconditioned_gd(
            floor_op,
            floor_y,
            U0_a,
            V0_a,
            step_precond,
            floor_iters,
            policy="scaledgd_lambda",
            lam=lam,
            truth=floor_truth,
            progress=progress,
        )
    run.results[f"floor_precgd_alpha{alpha:g}"] = preconditioned_gd(
        floor_op,
        floor_y,
        U0,
        V0,
        step_precond,
        floor_iters,
        policy="precgd",
        truth=floor_truth,
        progress=progress,
    )
    run.data.update(
        kappas=np.array(sorted(kappas)),
        iterations={method: np.array(values, dtype=float) for method, values in iterations.items()},
    )
    return run


def first_below(result: GDResult, level: float) -> float:
    """The first recorded iteration of ``result`` with relative test error <= ``level``, as
    a float (NaN if never): the stopping rule of :func:`gd_until` and of ``stop_below``."""
    level = check.real("level", level, positive=True)
    below = np.flatnonzero(result.history["test_error"] <= level)
    return float(result.history["iteration"][below[0]]) if below.size else float("nan")


def _real_list(name: str, values, **bounds) -> list[float]:
    if isinstance(values, (str, bytes)) or not hasattr(values, "__iter__"):
        raise TypeError(f"{name} must be a list of real numbers, got {values!r}")
    values = [check.real(f"{name}[]", v, **bounds) for v in values]
    if not values:
        raise ValueError(f"{name} must contain at least one value")
    if len(set(values)) != len(values):
        raise ValueError(f"{name} must be distinct, got {values}")
    return values


# The sizes stated on ``book/neighbours/preconditioning.md``: n1=n2=30, r=3, k=6, m=720,
# κ ∈ {1, 10, 100}, iterations to a relative test error of 1e-3. Chosen here: α = 1e-5,
# steps 0.5 (σ_1 = 1) for GD and for the preconditioned methods, λ = 1e-3 for ScaledGD(λ)
# (below σ_r = 1/κ for every κ), budgets of 4000 (GD) and 500 (preconditioned) iterations,
# and the α grid of the ScaledGD(λ) tail figure. The paper scale doubles n1 = n2 at the same
# m/(r(n1+n2)) = 4.
#: The parameters of :func:`preconditioning` (claim N7).
DECLARATION = declare(
    preconditioning,
    Parameter("n1", SIZE, 30, 60, "rows of the target X (n1 × n2)"),
    Parameter("n2", SIZE, 30, 60, "columns of X"),
    Parameter("r", SIZE, 3, 3, "rank of X"),
    Parameter("m", MEASUREMENTS, 720, 1440, "number of Gaussian measurements"),
    Parameter("k", SIZE, 6, 6, "width of the factors U (n1 × k) and V (n2 × k)"),
    Parameter(
        "kappas",
        CONDITION_NUMBER,
        [1.0, 10.0, 100.0],
        [1.0, 10.0, 100.0],
        "condition numbers κ compared (at least 2, distinct)",
    ),
    Parameter("alpha", POSITIVE, 1e-5, 1e-5, "scale α of the initialization α G"),
    Parameter("tol", POSITIVE, 1e-3, 1e-3, "every run stops at this relative test error"),
    Parameter("step_gd", POSITIVE, 0.5, 0.5, "step size of gradient descent"),
    Parameter("max_iters_gd", ITERATIONS, 4000, 4000, "most iterations of gradient descent"),
    Parameter("step_precond", POSITIVE, 0.5, 0.5, "step size of ScaledGD(λ) and PrecGD"),
    Parameter("lam", POSITIVE, 1e-3, 1e-3, "damping λ of ScaledGD(λ)"),
    Parameter("max_iters_precond", ITERATIONS, 500, 500, "most iterations of ScaledGD(λ), PrecGD"),
    Parameter("floor_kappa", CONDITION_NUMBER, 10.0, 10.0, "κ of the runs without early stop"),
    Parameter(
        "floor_alphas",
        POSITIVE,
        [1e-2, 1e-4, 1e-6],
        [1e-2, 1e-4, 1e-6],
        "scales α of the ScaledGD(λ) runs without early stop (distinct)",
    ),
    Parameter("floor_iters", ITERATIONS, 400, 400, "iterations of the runs without early stop"),
)
