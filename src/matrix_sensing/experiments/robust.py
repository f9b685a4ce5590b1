"""Claim N6 (Ma & Fattahi 2022): with a fraction of the measurements grossly corrupted, the
sub-gradient method on the ℓ1 loss from a small initialization still recovers a symmetric
low-rank matrix, while gradient descent on the ℓ2 loss does not."""

from __future__ import annotations

from .. import _validation as check
from ..initialization import small_random_init
from ..operators import GaussianSensing
from ..solvers import corrupt, symmetric_l2_gd, symmetric_subgradient_method
from ..targets import psd_target
from ._common import Run, spawn_seeds


def symmetric_sensing(n: int, m: int, *, seed: int) -> GaussianSensing:
    """Symmetric Gaussian measurements ``A_i = (G_i + G_i^T)/2``, ``G_i`` with i.i.d.
    N(0, 1/m) entries (see ``book/setup.md``, "Symmetric variant"), as a
    :class:`~matrix_sensing.GaussianSensing` of shape (n, n) built with
    ``GaussianSensing.from_array``."""
    m = check.integer("m", m, minimum=1)
    n = check.integer("n", n, minimum=1)
    check.entries("the measurement matrices", ("m", m), ("n", n), ("n", n))
    G = GaussianSensing(m, (n, n), seed=seed).array
    return GaussianSensing.from_array((G + G.transpose(0, 2, 1)) / 2)


def robust_recovery(
    *,
    n: int,
    r: int,
    kappa: float,
    m: int,
    k: int,
    fraction: float,
    magnitude: float,
    alpha: float,
    step0: float,
    decay: float,
    iters: int,
    step_l2: float,
    iters_l2: int,
    seed: int,
    record_every: int = 10,
    progress: bool = False,
) -> Run:
    """Claim N6 on one draw of a symmetric problem with corrupted measurements.

    A PSD rank-``r`` target ``X`` (:func:`~matrix_sensing.targets.psd_target`), symmetric
    measurements (:func:`symmetric_sensing`), and ``round(fraction * m)`` of them corrupted by
    :func:`~matrix_sensing.solvers.corrupt` (additive N(0, (magnitude · rms y)^2) outliers).
    Both runs start from the same ``U_0 = α G`` (``G`` (n × k), i.i.d. N(0, 1/k)).

    Results:

    - ``"l1"``: :func:`~matrix_sensing.solvers.symmetric_subgradient_method` on
      ``g(U) = (1/√m) ||A(U U^T) - y||_1`` with steps ``step0 · decay^t``, ``iters`` steps;
    - ``"l2"``: gradient descent on the ℓ2 loss ``1/4 ||A(U U^T) - y||^2`` of the
      symmetric model of ``book/setup.md``, "Symmetric variant" (``U_{t+1} = U_t - μ E_t U_t``,
      :func:`~matrix_sensing.solvers.robust.symmetric_l2_gd`), step ``step_l2``, ``iters_l2`` steps.

    Both record every ``record_every`` iterations. ``data["corrupted"]``: the number of
    corrupted measurements.
    """
    params = {
        "n": n,
        "r": r,
        "kappa": kappa,
        "m": m,
        "k": k,
        "fraction": fraction,
        "magnitude": magnitude,
        "alpha": alpha,
        "step0": step0,
        "decay": decay,
        "iters": iters,
        "step_l2": step_l2,
        "iters_l2": iters_l2,
    }
    # Check every parameter under its own name before any long run starts.
    n = check.integer("n", n, minimum=1)
    check.integer("r", r, minimum=1, maximum=n)
    check.real("kappa", kappa, minimum=1.0)
    check.integer("m", m, minimum=1)
    check.integer("k", k, minimum=1)
    fraction = check.real("fraction", fraction, minimum=0.0, maximum=0.5)
    check.real("magnitude", magnitude, positive=True)
    check.real("alpha", alpha, positive=True)
    check.real("step0", step0, positive=True)
    check.real("decay", decay, positive=True, maximum=1.0)
    check.integer("iters", iters, minimum=1)
    check.real("step_l2", step_l2, positive=True)
    check.integer("iters_l2", iters_l2, minimum=1)
    record_every = check.integer("record_every", record_every, minimum=1)

    target_seed, operator_seed, init_seed, noise_seed = spawn_seeds(seed, 4)
    truth = psd_target(n, r, kappa, seed=target_seed)
    op = symmetric_sensing(n, m, seed=operator_seed)
    y, mask = corrupt(op(truth), fraction, magnitude, noise_seed)
    U0, _ = small_random_init(n, n, k, alpha, seed=init_seed)

    run = Run("robust_recovery", params, seed, truth)
    run.results["l1"] = symmetric_subgradient_method(
        op, y, U0, step0, decay, iters, truth=truth, record_every=record_every, progress=progress
    )
    run.results["l2"] = symmetric_l2_gd(
        op, y, U0, step_l2, iters_l2, truth=truth, record_every=record_every, progress=progress
    )
    run.data.update(corrupted=int(mask.sum()))
    return run
