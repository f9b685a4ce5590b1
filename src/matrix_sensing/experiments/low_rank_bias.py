"""Claim M9 (figures): the spectrum of U_t V_t^T along the runs of
:func:`~matrix_sensing.experiments.initialization_scale.small_vs_large_init`.

The claim itself is measured on the last iterates of ``small_vs_large_init`` (so that one run
serves M1, M2 and M9). This module re-runs the same two gradient descents (by calling
``small_vs_large_init``, so the iterates are the same), recording low-rank diagnostics
along the way.
"""

from __future__ import annotations

from .. import _validation as check
from ..metrics import effective_rank, nuclear_norm, singular_value_ratio, singular_values
from ._common import Run
from .initialization_scale import small_vs_large_init

sigma_ratio = singular_value_ratio  # σ_{r+1}(M) / σ_r(M), the name used by claim M9


def nuclear_norm_gap(M, truth) -> float:
    """``| ||M||_* - ||X||_* | / ||X||_*``, the relative gap between nuclear norms; ``M`` and
    ``truth`` X are (n1, n2), X non-zero."""
    truth = check.array("truth", truth, ndim=2)
    M = check.array("M", M, ndim=2, shape=truth.shape)
    target = nuclear_norm(truth)
    if target == 0:
        raise ValueError("truth must be a non-zero matrix")
    return abs(nuclear_norm(M) - target) / target


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
    iterates) with the history of ``effective_rank``
    (:func:`~matrix_sensing.metrics.effective_rank` of U_t V_t^T), ``sigma_ratio``
    (σ_{r+1}/σ_r of U_t V_t^T) and
    ``nuclear_norm`` (||U_t V_t^T||_*), recorded every ``record_every`` iterations.
    Results ``"small"`` and ``"large"``; ``data["truth_singular_values"]``."""
    n1 = check.integer("n1", n1, minimum=2)
    n2 = check.integer("n2", n2, minimum=2)
    r = check.integer("r", r, minimum=1, maximum=min(n1, n2) - 1)
    check.integer("k", k, minimum=r)
    record_every = check.integer("record_every", record_every, minimum=1)
    metrics = {
        "effective_rank": lambda U, V: effective_rank(U @ V.T),
        "sigma_ratio": lambda U, V: sigma_ratio(U @ V.T, r),
        "nuclear_norm": lambda U, V: nuclear_norm(U @ V.T),
    }
    run = small_vs_large_init(
        n1=n1,
        n2=n2,
        r=r,
        kappa=kappa,
        m=m,
        k=k,
        alpha_small=alpha_small,
        alpha_large=alpha_large,
        step_small=step_small,
        step_large=step_large,
        iters_small=iters_small,
        iters_large=iters_large,
        seed=seed,
        record_every=record_every,
        progress=progress,
        metrics=metrics,
        experiment="low_rank_trajectory",
    )
    run.data["truth_singular_values"] = singular_values(run.truth)
    return run
