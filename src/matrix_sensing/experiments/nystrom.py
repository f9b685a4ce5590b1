"""Claim N8 (Li, Zhang, Mokhtari & He, ICLR 2025): for matrix factorization, ScaledGD from
the Nyström initialization ``X_0 = M Ω`` converges quadratically, from a small random
initialization only linearly.

Not a sensing problem: the target is observed fully and the loss is
``1/2 ||U V^T - M||_F^2`` (:mod:`matrix_sensing.solvers`).
"""

from __future__ import annotations

import numpy as np

from .. import _validation as check
from ..initialization import small_random_init
from ..solvers import heron_prediction, nystrom_init, scaled_gd_factorization
from ..targets import psd_target
from ._common import Run, spawn_seeds
from .declaration import CONDITION_NUMBER, ITERATIONS, POSITIVE, SIZE, Parameter, declare
from .preconditioning import first_below

# ScaledGD from a small start α G first overshoots, by a factor of order 1/α² in the
# product, before it converges (see scaled_gd_factorization); only a non-finite loss is a
# divergence here.
_NO_OVERSHOOT_GUARD = 1e300


def nystrom_vs_random(
    *,
    n: int,
    r: int,
    kappa: float,
    k: int,
    alpha: float,
    alpha_small: float,
    step: float,
    iters: int,
    level_start: float,
    level_end: float,
    seed: int,
) -> Run:
    """Claim N8 on one draw of a symmetric PSD target ``M`` (n × n, rank r, ``||M|| = 1``).

    ScaledGD (λ = 0, step ``step``) on ``1/2 ||U V^T - M||_F^2`` for at most ``iters``
    steps, stopped once the relative error ``||U V^T - M||_F / ||M||_F`` is below
    ``level_end / 100``, from

    - ``"nystrom"``: ``U_0 = V_0 = M Ω`` (``Ω`` n × k, i.i.d. N(0, 1/k));
    - ``"random"``: ``U_0 = V_0 = α G`` (``G`` n × k, i.i.d. N(0, 1/k));
    - ``"random_small"``: the same ``G`` scaled by ``alpha_small`` (shown, not judged).

    Symmetric starts stay symmetric (``U_t = V_t``; ``data["symmetry_gap"]``), so these are
    the symmetric problem ``min ||X X^T - M||_F`` of the paper run through the asymmetric
    solver. ``data["steps"][name]``: the number of steps from the first iterate with error
    <= ``level_start`` to the first with error <= ``level_end`` (NaN if one is never
    reached). ``data["prediction"]``: the relative errors of the Nyström run for
    ``t = 0 .. iters`` predicted by :func:`~matrix_sensing.solvers.heron_prediction`
    (exact when ``k = r``).
    """
    params = {
        "n": n,
        "r": r,
        "kappa": kappa,
        "k": k,
        "alpha": alpha,
        "alpha_small": alpha_small,
        "step": step,
        "iters": iters,
        "level_start": level_start,
        "level_end": level_end,
    }
    # Check every parameter under its own name before any run starts.
    n = check.integer("n", n, minimum=1)
    check.integer("r", r, minimum=1, maximum=n)
    check.real("kappa", kappa, minimum=1.0)
    check.integer("k", k, minimum=1, maximum=n)
    check.real("alpha", alpha, positive=True)
    check.real("alpha_small", alpha_small, positive=True)
    check.real("step", step, positive=True)
    check.integer("iters", iters, minimum=1)
    level_start = check.real("level_start", level_start, positive=True)
    level_end = check.real("level_end", level_end, positive=True)
    if level_end >= level_start:
        raise ValueError(
            f"level_end must be < level_start, got level_end={level_end:g} >= {level_start:g}"
        )

    target_seed, sketch_seed, init_seed = spawn_seeds(seed, 3)
    M = psd_target(n, r, kappa, seed=target_seed)
    G, _ = small_random_init(n, n, k, 1.0, seed=init_seed)
    starts = {
        "nystrom": nystrom_init(M, k, seed=sketch_seed, symmetric=True),
        "random": (alpha * G, alpha * G),
        "random_small": (alpha_small * G, alpha_small * G),
    }
    run = Run("nystrom_vs_random", params, seed, M)
    steps, gaps = {}, []
    for name, (U0, V0) in starts.items():
        result = scaled_gd_factorization(
            M,
            U0,
            V0,
            step,
            iters,
            stop_below=level_end / 100,
            divergence_factor=_NO_OVERSHOOT_GUARD,
        )
        run.results[name] = result
        steps[name] = first_below(result, level_end) - first_below(result, level_start)
        gaps.append(float(np.max(np.abs(result.U - result.V))))
    prediction = heron_prediction(M, *starts["nystrom"], steps=iters)
    run.data.update(steps=steps, symmetry_gap=max(gaps), prediction=prediction)
    return run


# Chosen here: the symmetric problem (PSD M = X X^T target, U_0 = V_0), n=30, r=k=3, κ=10,
# ScaledGD step 1/2 (the step at which the iteration from a Nyström start is exactly
# quadratic, see matrix_sensing.solvers.factorization), random scale α = 1e-2, and a second
# random scale 1e-6 shown in the figure only. Levels 1e-1 and 1e-11 are those stated on
# ``book/neighbours/nystrom.md`` (a calibration at CPU scale, not the paper's numbers). The
# paper scale: n=200, r=k=10, κ=100.
#: The parameters of :func:`nystrom_vs_random` (claim N8).
DECLARATION = declare(
    nystrom_vs_random,
    Parameter("n", SIZE, 30, 200, "size of the PSD target M (n × n)"),
    Parameter("r", SIZE, 3, 10, "rank of M"),
    Parameter("kappa", CONDITION_NUMBER, 10.0, 100.0, "condition number κ = λ_1/λ_r of M"),
    Parameter("k", SIZE, 3, 10, "width of the factors (n × k)"),
    Parameter("alpha", POSITIVE, 1e-2, 1e-2, "scale α of the random start α G"),
    Parameter("alpha_small", POSITIVE, 1e-6, 1e-6, "a smaller random scale, shown only"),
    Parameter("step", POSITIVE, 0.5, 0.5, "ScaledGD step size"),
    Parameter("iters", ITERATIONS, 80, 80, "most ScaledGD steps"),
    Parameter("level_start", POSITIVE, 1e-1, 1e-1, "relative error where the count starts"),
    Parameter("level_end", POSITIVE, 1e-11, 1e-11, "relative error where it ends (< level_start)"),
)
