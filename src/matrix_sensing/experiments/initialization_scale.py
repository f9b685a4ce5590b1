"""Claims M1, M2: the scale α of the initialization decides which interpolant GD finds."""

from __future__ import annotations

from collections.abc import Callable, Mapping

from .. import _validation as check
from ..initialization import small_random_init
from ..solvers import factorized_gd
from ._common import Run, sensing_problem, spawn_seeds


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
