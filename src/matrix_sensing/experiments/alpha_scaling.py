"""Claims M3, M4: how the final error and the number of iterations depend on the scale α.

One experiment, :func:`alpha_scaling`, serves both claims on the same data (one target,
one operator and one Gaussian draw ``(G_U, G_V)`` per seed; only α and the step size vary):

* M3 runs gradient descent for a fixed ``iters_error`` iterations from each α of
  ``alphas_error`` and records the final test and training errors;
* M4 runs it from each α of ``alphas_escape`` with the step sizes ``step`` and ``step / 2``
  and records the *escape time*: the first iteration at which the test error is below
  ``escape_level``. These runs stop soon after the escape (see :func:`run_until_escape`).

The claims fit their lines with :mod:`matrix_sensing.fits` (``loglog_fit`` for M3,
``semilog_fit`` for M4), which the notebook uses too, so that it draws the same lines.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from .. import _validation as check
from ..initialization import small_random_init
from ..operators import check_operator
from ..solvers import GDResult, factorized_gd
from ._common import (
    Run,
    _require_truth,
    _single_run_factors,
    escape_time,
    run_in_chunks,
    sensing_problem,
    spawn_seeds,
)

# The escape runs advance in chunks of this many iterations and stop at the end of the
# chunk in which the test error first drops below the level.
ESCAPE_CHUNK = 20


def check_alphas(name: str, alphas, *, minimum_count: int = 3) -> list[float]:
    """Validate a list of at least ``minimum_count`` distinct scales α with 0 < α < 1."""
    if isinstance(alphas, (str, bytes)) or not hasattr(alphas, "__iter__"):
        raise TypeError(f"{name} must be a list of numbers in (0, 1), got {alphas!r}")
    values = [check.real(f"{name}[]", a) for a in alphas]
    if (
        any(not 0 < a < 1 for a in values)
        or len(set(values)) != len(values)
        or len(values) < minimum_count
    ):
        raise ValueError(
            f"{name} must contain at least {minimum_count} distinct numbers in (0, 1), "
            f"got {list(alphas)}"
        )
    return values


def run_until_escape(
    op,
    y,
    U0,
    V0,
    step: float,
    truth,
    *,
    level: float,
    max_iters: int,
    chunk: int = ESCAPE_CHUNK,
) -> GDResult:
    """Gradient descent recorded at every iteration that stops soon after the escape.

    Runs :func:`~matrix_sensing.factorized_gd` in chunks of ``chunk`` iterations, each
    continuing from the last iterate of the previous one (so the iterates are exactly
    those of one long run), and stops at the end of the first chunk in which the test
    error drops below ``level``, or after ``max_iters`` iterations. The returned history
    is that of the concatenated run.
    """
    U0, V0 = _single_run_factors(op, U0, V0)
    step = check.real("step", step, positive=True)
    level = check.real("level", level, positive=True)
    max_iters = check.integer("max_iters", max_iters, minimum=1)
    chunk = check.integer("chunk", chunk, minimum=1)
    (result,) = run_in_chunks(op, y, U0, V0, [step], [max_iters], truth, level=level, chunk=chunk)
    return result


def final_errors(
    op,
    y,
    truth,
    init,
    alphas: Sequence[float],
    step: float,
    iters: int,
    record_every: int = 10,
    dtype=np.float64,
) -> tuple[dict[float, GDResult], np.ndarray, np.ndarray]:
    """Run ``iters`` iterations from ``init(alpha)`` = ``(U_0, V_0)`` for each α.

    Returns the results by α and the final relative test errors
    ``||U V^T - X||_F / ||X||_F`` and training errors ``||A(U V^T) - y|| / ||y||``. The runs
    share the operator and y, so they advance as one batch (equal to separate runs up to
    rounding). ``init``: a callable α -> ``(U_0, V_0)``; ``alphas``: scales in (0, 1);
    ``dtype``: the precision of the runs (see :func:`~matrix_sensing.factorized_gd`; the
    Performance page of the book compares float32 with float64 through this function).
    """
    if not callable(init):
        raise TypeError(f"init must be a callable alpha -> (U0, V0), got {init!r}")
    alphas = check_alphas("alphas", alphas, minimum_count=1)
    check_operator(op)
    _require_truth(truth, *op.shape)
    U0, V0 = (np.stack(factors) for factors in zip(*(init(alpha) for alpha in alphas), strict=True))
    batch = factorized_gd(
        op, y, U0, V0, step, iters, truth=truth, record_every=record_every, dtype=dtype
    )
    results = dict(zip(alphas, batch, strict=True))
    y_norm = float(np.linalg.norm(y))
    test = [result.history["test_error"][-1] for result in batch]
    train = [math.sqrt(2.0 * result.history["train_loss"][-1]) / y_norm for result in batch]
    return results, np.array(test), np.array(train)


def alpha_scaling(
    *,
    n1: int,
    n2: int,
    r: int,
    kappa: float,
    m: int,
    k: int,
    step: float,
    alphas_error: Sequence[float],
    iters_error: int,
    alphas_escape: Sequence[float],
    escape_level: float,
    max_iters_escape: int,
    seed: int,
    record_every: int = 10,
) -> Run:
    """Claims M3 and M4 on one problem: final error versus α, and escape time versus α.

    Results: ``"error/alpha=<α:g>"`` (``iters_error`` iterations at ``step``, recorded every
    ``record_every``) and ``"escape/step=<μ:g>/alpha=<α:g>"`` for μ in (``step``,
    ``step / 2``) (recorded every iteration, stopped soon after the escape, at most
    ``max_iters_escape`` iterations at ``step`` and twice that at ``step / 2``).

    Data: ``alphas_error``, ``test_error`` and ``train_error`` (final values, one per α of
    ``alphas_error``); ``alphas_escape``, ``escape_steps`` = (μ, μ/2) and ``escape_times``
    (2 x len(alphas_escape); ``nan`` where the error never went below ``escape_level``);
    ``sigma_r``, the smallest non-zero singular value of the target.
    """
    params = {
        "n1": n1,
        "n2": n2,
        "r": r,
        "kappa": kappa,
        "m": m,
        "k": k,
        "step": step,
        "alphas_error": alphas_error,
        "iters_error": iters_error,
        "alphas_escape": alphas_escape,
        "escape_level": escape_level,
        "max_iters_escape": max_iters_escape,
    }
    # Check every parameter under its own name before any long run starts.
    k = check.integer("k", k, minimum=1)
    step = check.real("step", step, positive=True)
    alphas_error = check_alphas("alphas_error", alphas_error)
    iters_error = check.integer("iters_error", iters_error, minimum=1)
    alphas_escape = check_alphas("alphas_escape", alphas_escape)
    escape_level = check.real("escape_level", escape_level, positive=True)
    max_iters_escape = check.integer("max_iters_escape", max_iters_escape, minimum=1)
    record_every = check.integer("record_every", record_every, minimum=1)
    params["alphas_error"], params["alphas_escape"] = list(alphas_error), list(alphas_escape)

    problem_seed, init_seed = spawn_seeds(seed, 2)
    truth, op, y = sensing_problem(n1, n2, r, kappa, m, seed=problem_seed)

    # The same Gaussian draw (G_U, G_V) for every α: U_0 = α G_U, V_0 = α G_V.
    def init(alpha: float) -> tuple[np.ndarray, np.ndarray]:
        return small_random_init(n1, n2, k, alpha, seed=init_seed)

    run = Run("alpha_scaling", params, seed, truth)

    results, test, train = final_errors(
        op, y, truth, init, alphas_error, step, iters_error, record_every
    )
    for alpha, result in results.items():
        run.results[f"error/alpha={alpha:g}"] = result
    run.data.update(alphas_error=np.array(alphas_error), test_error=test, train_error=train)

    # All escape runs (both steps, every α) advance together as one batch of runs.
    steps, budgets = (step, step / 2), (max_iters_escape, 2 * max_iters_escape)
    cases = [
        (i, j, steps[i], budgets[i], alpha)
        for i in range(len(steps))
        for j, alpha in enumerate(alphas_escape)
    ]
    inits = [init(alpha) for *_, alpha in cases]
    escapes = run_in_chunks(
        op,
        y,
        [U for U, _ in inits],
        [V for _, V in inits],
        [c[2] for c in cases],
        [c[3] for c in cases],
        truth,
        level=escape_level,
        chunk=ESCAPE_CHUNK,
    )
    times = np.full((len(steps), len(alphas_escape)), np.nan)
    for (i, j, mu, _, alpha), result in zip(cases, escapes, strict=True):
        run.results[f"escape/step={mu:g}/alpha={alpha:g}"] = result
        times[i, j] = escape_time(result.history, escape_level)
    run.data.update(
        alphas_escape=np.array(alphas_escape),
        escape_steps=np.array(steps),
        escape_times=times,
        sigma_r=float(np.linalg.svd(truth, compute_uv=False)[r - 1]),
    )
    return run


# Here rather than at the top only while the top of this module is being reworked (issue 16).
from .declaration import (  # noqa: E402
    CONDITION_NUMBER,
    ITERATIONS,
    MEASUREMENTS,
    POSITIVE,
    SIZE,
    SMALL_SCALE,
    Parameter,
    declare,
)

# Base configuration B (n1=40, n2=30, r=2, κ=2, m=560, k=n1, μ=0.25; defined in
# ``book/setup.md``) with the α grids stated on ``book/claims/m3_m4.md``. The paper scale is
# that of M1/M2: every dimension ~2.5x at the same oversampling m = 4r(n1+n2), with the same
# α grids, T and step.
#: The parameters of :func:`alpha_scaling` (claims M3 and M4).
DECLARATION = declare(
    alpha_scaling,
    Parameter("n1", SIZE, 40, 100, "rows of the target X (n1 × n2)"),
    Parameter("n2", SIZE, 30, 80, "columns of X"),
    Parameter("r", SIZE, 2, 3, "rank of X"),
    Parameter("kappa", CONDITION_NUMBER, 2.0, 2.0, "condition number κ = σ_1/σ_r of X"),
    Parameter("m", MEASUREMENTS, 560, 2160, "number of Gaussian measurements"),
    Parameter("k", SIZE, 40, 100, "width of the factors U (n1 × k) and V (n2 × k)"),
    Parameter("step", POSITIVE, 0.25, 0.25, "step size μ (the escape runs also use μ/2)"),
    Parameter(
        "alphas_error",
        SMALL_SCALE,
        [1e-3, 1e-4, 1e-5, 1e-6, 1e-7],
        [1e-3, 1e-4, 1e-5, 1e-6, 1e-7],
        "scales α of M3's runs (at least 3, distinct)",
    ),
    Parameter("iters_error", ITERATIONS, 2500, 2500, "iterations T of M3's runs"),
    Parameter(
        "alphas_escape",
        SMALL_SCALE,
        [1e-2, 1e-4, 1e-6, 1e-8],
        [1e-2, 1e-4, 1e-6, 1e-8],
        "scales α of M4's runs (at least 3, distinct)",
    ),
    Parameter("escape_level", POSITIVE, 0.1, 0.1, "the escape: first test error below this"),
    Parameter("max_iters_escape", ITERATIONS, 1000, 1000, "most iterations of an escape run at μ"),
)
