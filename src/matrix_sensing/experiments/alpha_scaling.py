"""Claims M3, M4: how the final error and the number of iterations depend on the scale α.

One experiment, :func:`alpha_scaling`, serves both claims on the same data (one target,
one operator and one Gaussian draw ``(G_U, G_V)`` per seed; only α and the step size vary):

* M3 runs gradient descent for a fixed ``iters_error`` iterations from each α of
  ``alphas_error`` and records the final test and training errors;
* M4 runs it from each α of ``alphas_escape`` with the step sizes ``step`` and ``step / 2``
  and records the *escape time*: the first iteration at which the test error is below
  ``escape_level``. These runs stop soon after the escape (see :func:`run_until_escape`).

The fits the claims use (:func:`loglog_fit`, :func:`escape_fit`) are plain least-squares
lines (``scipy.stats.linregress``), exported so that the notebook draws the same lines.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from scipy import stats

from .. import _validation as check
from ..gd import GDResult, factorized_gd
from ..initialization import small_random_init
from ._common import Run, sensing_problem, spawn_seeds

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


def escape_time(history: dict, level: float) -> float:
    """First recorded iteration ``t`` with ``history["test_error"][t] < level``.

    ``history`` is a :class:`~matrix_sensing.GDResult` history (``"iteration"`` and
    ``"test_error"`` arrays of equal length); ``nan`` if the error never drops below
    ``level``. Record every iteration (``record_every=1``) for an exact first time.
    """
    level = check.real("level", level, positive=True)
    iterations = np.asarray(history["iteration"])
    errors = np.asarray(history["test_error"])
    if iterations.shape != errors.shape:
        raise ValueError(
            f"history['iteration'] and history['test_error'] must have the same length, got "
            f"{iterations.shape} and {errors.shape}"
        )
    below = np.flatnonzero(errors < level)
    return float(iterations[below[0]]) if below.size else math.nan


def run_until_escape(
    op, y, U0, V0, step: float, truth, *, level: float, max_iters: int,
    chunk: int = ESCAPE_CHUNK,
) -> GDResult:  # fmt: skip
    """Gradient descent recorded at every iteration that stops soon after the escape.

    Runs :func:`~matrix_sensing.factorized_gd` in chunks of ``chunk`` iterations, each
    continuing from the last iterate of the previous one (so the iterates are exactly
    those of one long run), and stops at the end of the first chunk in which the test
    error drops below ``level``, or after ``max_iters`` iterations. The returned history
    is that of the concatenated run.
    """
    level = check.real("level", level, positive=True)
    max_iters = check.integer("max_iters", max_iters, minimum=1)
    chunk = check.integer("chunk", chunk, minimum=1)
    U, V = U0, V0
    pieces: list[dict] = []
    done = 0
    while done < max_iters:
        n = min(chunk, max_iters - done)
        result = factorized_gd(op, y, U, V, step, n, truth=truth, record_every=1)
        history = dict(result.history)
        history["iteration"] = history["iteration"] + done
        # Every chunk after the first repeats the previous chunk's last iterate.
        pieces.append(history if not pieces else {k: v[1:] for k, v in history.items()})
        U, V, done = result.U, result.V, done + n
        if np.any(result.history["test_error"] < level):
            break
    history = {key: np.concatenate([p[key] for p in pieces]) for key in pieces[0]}
    return GDResult(U=U, V=V, step=step, iters=done, history=history)


def loglog_fit(alphas, errors):
    """Least-squares line ``log(error) = slope * log(alpha) + intercept``.

    Returns the ``scipy.stats.linregress`` result; ``slope`` is the exponent of α.
    """
    return stats.linregress(np.log(np.asarray(alphas)), np.log(np.asarray(errors)))


def escape_fit(alphas, times):
    """Least-squares line ``escape time = slope * ln(1/alpha) + intercept``
    (``scipy.stats.linregress`` result; ``rvalue**2`` is R²)."""
    return stats.linregress(np.log(1.0 / np.asarray(alphas)), np.asarray(times, dtype=float))


def final_errors(
    op, y, truth, init, alphas: Sequence[float], step: float, iters: int,
    record_every: int = 10,
) -> tuple[dict[float, GDResult], np.ndarray, np.ndarray]:  # fmt: skip
    """Run ``iters`` iterations from ``init(alpha)`` = ``(U_0, V_0)`` for each α.

    Returns the results by α and the final relative test errors
    ``||U V^T - X||_F / ||X||_F`` and training errors ``||A(U V^T) - y|| / ||y||``.
    """
    results, test, train = {}, [], []
    y_norm = float(np.linalg.norm(y))
    for alpha in alphas:
        result = factorized_gd(
            op, y, *init(alpha), step, iters, truth=truth, record_every=record_every
        )
        results[alpha] = result
        test.append(result.history["test_error"][-1])
        train.append(math.sqrt(2.0 * result.history["train_loss"][-1]) / y_norm)
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
        "n1": n1, "n2": n2, "r": r, "kappa": kappa, "m": m, "k": k, "step": step,
        "alphas_error": alphas_error, "iters_error": iters_error,
        "alphas_escape": alphas_escape, "escape_level": escape_level,
        "max_iters_escape": max_iters_escape,
    }  # fmt: skip
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

    steps = (step, step / 2)
    times = np.full((len(steps), len(alphas_escape)), np.nan)
    for i, (mu, budget) in enumerate(
        zip(steps, (max_iters_escape, 2 * max_iters_escape), strict=True)
    ):
        for j, alpha in enumerate(alphas_escape):
            result = run_until_escape(
                op, y, *init(alpha), mu, truth, level=escape_level, max_iters=budget
            )
            run.results[f"escape/step={mu:g}/alpha={alpha:g}"] = result
            times[i, j] = escape_time(result.history, escape_level)
    run.data.update(
        alphas_escape=np.array(alphas_escape),
        escape_steps=np.array(steps),
        escape_times=times,
        sigma_r=float(np.linalg.svd(truth, compute_uv=False)[r - 1]),
    )
    return run
