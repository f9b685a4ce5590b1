"""Claim M9 (figures): the spectrum of U_t V_t^T along the runs of
:func:`~matrix_sensing.experiments.initialization_scale.small_vs_large_init`.

The claim itself is measured on the last iterates of ``small_vs_large_init`` (so that one run
serves M1, M2 and M9). This module re-runs the same two gradient descents, from the same
seeds, and records low-rank diagnostics along the way.
"""

from __future__ import annotations

import numpy as np

from .. import _validation as check
from ..gd import factorized_gd
from ..initialization import small_random_init
from ..metrics import effective_rank
from ._common import Run, sensing_problem, spawn_seeds


def sigma_ratio(M, r: int) -> float:
    """``σ_{r+1}(M) / σ_r(M)``: how far ``M`` is from rank ``r`` at the scale of its r-th
    singular value (0 for rank <= r). ``M`` (n1, n2) with ``1 <= r < min(n1, n2)`` and
    ``σ_r(M) > 0``."""
    M = check.array("M", M, ndim=2)
    r = check.integer("r", r, minimum=1, maximum=min(M.shape) - 1)
    sigma = np.linalg.svd(M, compute_uv=False)
    if sigma[r - 1] == 0:
        raise ValueError(f"M must have rank >= r={r} for sigma_{r + 1}/sigma_{r}")
    return float(sigma[r] / sigma[r - 1])


def nuclear_norm_gap(M, truth) -> float:
    """``| ||M||_* - ||X||_* | / ||X||_*``, the relative gap between nuclear norms; ``M`` and
    ``truth`` X are (n1, n2), X non-zero."""
    truth = check.array("truth", truth, ndim=2)
    M = check.array("M", M, ndim=2, shape=truth.shape)
    target = np.linalg.svd(truth, compute_uv=False).sum()
    if target == 0:
        raise ValueError("truth must be a non-zero matrix")
    return float(abs(np.linalg.svd(M, compute_uv=False).sum() - target) / target)


def low_rank_trajectory(
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
    record_every: int = 10,
    progress: bool = False,
) -> Run:
    """The two runs of ``small_vs_large_init`` (same parameters, same seed, hence the same
    iterates) with the history of ``effective_rank`` (:func:`~matrix_sensing.metrics.
    effective_rank` of U_t V_t^T), ``sigma_ratio`` (σ_{r+1}/σ_r of U_t V_t^T) and
    ``nuclear_norm`` (||U_t V_t^T||_*), recorded every ``record_every`` iterations.
    Results ``"small"`` and ``"large"``; ``data["truth_singular_values"]``."""
    params = {
        "n1": n1, "n2": n2, "r": r, "kappa": kappa, "m": m, "k": k,
        "alpha_small": alpha_small, "alpha_large": alpha_large,
        "step_small": step_small, "step_large": step_large,
        "iters_small": iters_small, "iters_large": iters_large,
    }  # fmt: skip
    r = check.integer("r", r, minimum=1, maximum=min(n1, n2) - 1)
    check.integer("k", k, minimum=r)
    record_every = check.integer("record_every", record_every, minimum=1)
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
    # The seeding of small_vs_large_init, so that both give the same iterates.
    problem_seed, init_seed = spawn_seeds(seed, 2)
    truth, op, y = sensing_problem(n1, n2, r, kappa, m, seed=problem_seed)
    run = Run("low_rank_trajectory", params, seed, truth)

    metrics = {
        "effective_rank": lambda U, V: effective_rank(U @ V.T),
        "sigma_ratio": lambda U, V: sigma_ratio(U @ V.T, r),
        "nuclear_norm": lambda U, V: float(np.linalg.svd(U @ V.T, compute_uv=False).sum()),
    }
    for name, (alpha, step, iters) in settings.items():
        U0, V0 = small_random_init(n1, n2, k, alpha, seed=init_seed)
        run.results[name] = factorized_gd(
            op, y, U0, V0, step, iters, truth=truth, record_every=record_every,
            metrics=metrics, progress=progress,
        )  # fmt: skip
    run.data["truth_singular_values"] = np.linalg.svd(truth, compute_uv=False)
    return run
