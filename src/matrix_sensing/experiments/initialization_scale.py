"""Claims M1, M2: the scale α of the initialization decides which interpolant GD finds."""

from __future__ import annotations

from collections.abc import Callable, Mapping

from .. import _validation as check
from ..initialization import small_random_init
from ..solvers import factorized_gd
from ._common import Run, sensing_problem, spawn_seeds
from .declaration import (
    CONDITION_NUMBER,
    MAX_ITERS,
    MEASUREMENTS,
    POSITIVE,
    SIZE,
    Interval,
    Parameter,
    declare,
)


def small_vs_large_init(
    *,
    n1: int,
    n2: int,
    r: int,
    kappa: float,
    m: int,
    k: int,
    alpha_small: float,
    alpha_large: float,
    step_small: float,
    step_large: float,
    iters_small: int,
    iters_large: int,
    seed: int,
    record_every: int = 1,
    progress: bool = False,
    metrics: Mapping[str, Callable] | None = None,
    experiment: str = "small_vs_large_init",
) -> Run:
    """Claims M1 and M2: the same data fitted from a small and from a large initialization.

    Both runs start from the same Gaussian draw ``G`` scaled by ``alpha_small`` resp.
    ``alpha_large`` (so only the scale α differs). Results ``"small"`` and ``"large"``.
    ``metrics`` (``name -> f(U, V)``) are recorded every ``record_every`` iterations, as in
    :func:`~matrix_sensing.factorized_gd`; ``experiment`` names the returned run (other
    experiments reuse these runs, e.g.
    :func:`~matrix_sensing.experiments.low_rank_bias.low_rank_trajectory`).
    """
    params = {
        "n1": n1,
        "n2": n2,
        "r": r,
        "kappa": kappa,
        "m": m,
        "k": k,
        "alpha_small": alpha_small,
        "alpha_large": alpha_large,
        "step_small": step_small,
        "step_large": step_large,
        "iters_small": iters_small,
        "iters_large": iters_large,
    }
    check.integer("k", k, minimum=1)
    # Check every parameter under its own name before any long run starts.
    settings = {
        name: (
            check.real(f"alpha_{name}", alpha, positive=True),
            check.real(f"step_{name}", step, positive=True),
            check.integer(f"iters_{name}", iters, minimum=0),
        )
        for name, alpha, step, iters in (
            ("small", alpha_small, step_small, iters_small),
            ("large", alpha_large, step_large, iters_large),
        )
    }
    problem_seed, init_seed = spawn_seeds(seed, 2)
    truth, op, y = sensing_problem(n1, n2, r, kappa, m, seed=problem_seed)
    run = Run(experiment, params, seed, truth)
    for name, (alpha, step, iters) in settings.items():
        U0, V0 = small_random_init(n1, n2, k, alpha, seed=init_seed)
        run.results[name] = factorized_gd(
            op,
            y,
            U0,
            V0,
            step,
            iters,
            truth=truth,
            record_every=record_every,
            metrics=metrics,
            progress=progress,
        )
    return run


# Base configuration B (defined in ``book/setup.md``): n1=40, n2=30, r=2, κ=2,
# m=560 (≈ 4r(n1+n2)), k=n1. The paper scale grows every dimension ~2.5x at the same
# oversampling m ≈ 4r(n1+n2).
#: The parameters of :func:`small_vs_large_init` (claims M1, M2 and M9).
DECLARATION = declare(
    small_vs_large_init,
    Parameter("n1", SIZE, 40, 100, "rows of the target X (n1 × n2)"),
    Parameter("n2", SIZE, 30, 80, "columns of X"),
    Parameter("r", SIZE, 2, 3, "rank of X"),
    Parameter("kappa", CONDITION_NUMBER, 2.0, 2.0, "condition number κ = σ_1/σ_r of X"),
    Parameter("m", MEASUREMENTS, 560, 2160, "number of Gaussian measurements"),
    Parameter("k", SIZE, 40, 100, "width of the factors U (n1 × k) and V (n2 × k)"),
    Parameter("alpha_small", POSITIVE, 1e-6, 1e-6, "scale α of the small initialization α G"),
    Parameter("alpha_large", POSITIVE, 1.0, 1.0, "scale α of the large initialization α G"),
    Parameter("step_small", POSITIVE, 0.25, 0.25, "step size μ from the small initialization"),
    Parameter("step_large", POSITIVE, 0.1, 0.1, "step size μ from the large initialization"),
    Parameter("iters_small", Interval(int, 0, MAX_ITERS), 1500, 2000, "iterations T, small start"),
    Parameter("iters_large", Interval(int, 0, MAX_ITERS), 3000, 4000, "iterations T, large start"),
)
