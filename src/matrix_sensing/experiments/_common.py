"""What every experiment shares: the run record, seeding, the sensing problem, and runs
continued in pieces: until a stopping rule of the caller's (:func:`continue_while`), or
recorded densely until their escape (:func:`run_in_chunks`, batched when several advance
together). Both join the pieces with :func:`~matrix_sensing.solvers.continue_run`."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .. import _validation as check
from ..operators import GaussianSensing, check_operator
from ..solvers import (
    GDResult,
    continue_run,
    divergence_context,
    factorized_gd,
    test_error_function,
)
from ..targets import low_rank_target

# The most seeds spawn_seeds derives at once (experiments use a handful).
MAX_SEEDS = 10**6


@dataclass
class Run:
    """The outcome of one experiment for one seed: its parameters, the truth ``X``
    (n1, n2), the gradient-descent results by name, and any other measured data (arrays or
    numbers, e.g. escape times over a sweep) by name."""

    experiment: str
    params: dict
    seed: int
    truth: np.ndarray
    results: dict[str, GDResult] = field(default_factory=dict)
    data: dict[str, Any] = field(default_factory=dict)


def run_params(arguments: Mapping[str, Any], *options: str) -> dict:
    """The parameters an experiment records in its :class:`Run`: its keyword arguments
    (``locals()`` as the function starts) but the seed and the ``options`` named (those that
    only change how a run is recorded or shown, such as ``progress``)."""
    return {name: value for name, value in arguments.items() if name not in ("seed", *options)}


def spawn_seeds(seed: int, count: int) -> list[int]:
    """``count`` independent integer seeds derived from ``seed``."""
    seed = check.seed("seed", seed)
    # A bound, so that a mistyped count (1e10) is refused rather than spawned for hours.
    count = check.integer("count", count, minimum=0, maximum=MAX_SEEDS)
    children = np.random.SeedSequence(seed).spawn(count)
    return [int(child.generate_state(1)[0]) for child in children]


def check_seeds(seeds) -> list[int]:
    """Validate a non-empty list of distinct non-negative integer seeds."""
    if isinstance(seeds, (str, bytes)):
        # What papermill's `-p seeds "[5, 6]"` passes: its -p reads numbers, not lists.
        raise TypeError(
            f"seeds must be a list of non-negative integers, got the string {seeds!r} "
            '(with papermill, give a list as YAML: -y "seeds: [5, 6]")'
        )
    if not hasattr(seeds, "__iter__"):
        raise TypeError(f"seeds must be a list of non-negative integers, got {seeds!r}")
    seeds = [check.seed("seeds[]", s) for s in seeds]
    if not seeds:
        raise ValueError("seeds must contain at least one seed")
    if len(set(seeds)) != len(seeds):
        raise ValueError(f"seeds must be distinct, got {seeds}")
    return seeds


def sensing_problem(n1: int, n2: int, r: int, kappa: float, m: int, *, seed: int):
    """A rank-``r`` target and its Gaussian measurements: returns ``(X, op, y)``."""
    target_seed, operator_seed = spawn_seeds(seed, 2)
    truth = low_rank_target(n1, n2, r, kappa, seed=target_seed)
    op = GaussianSensing(m, (n1, n2), seed=operator_seed)
    return truth, op, op(truth)


def escape_time(history: dict, level: float) -> float:
    """First recorded iteration ``t`` with ``history["test_error"]`` strictly below ``level``.

    ``history`` is a :class:`~matrix_sensing.GDResult` history (``"iteration"`` and
    ``"test_error"`` arrays of equal length); ``nan`` if the error never drops below
    ``level``. Exact when every iteration up to the escape is recorded.
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


def run_in_chunks(
    op,
    y,
    U0,
    V0,
    steps: Sequence[float],
    iters: Sequence[int],
    truth,
    *,
    level: float,
    chunk: int,
    then_every: int | None = None,
) -> list[GDResult]:
    """Runs of gradient descent recorded at every iteration until shortly after the escape.

    Run ``b`` starts from ``(U0[b], V0[b])`` (stacks (B, n1, k), (B, n2, k)) with step
    ``steps[b]`` for at most ``iters[b]`` iterations, in pieces of ``chunk`` iterations
    recorded at every iteration. At the end of the piece in which its test error first drops
    below ``level`` (the escape) it stops if ``then_every`` is None, and otherwise does its
    remaining iterations in one piece recorded every ``then_every`` iterations.

    Each piece continues from the previous one's last iterate, so a run's iterates are
    those of one long run and its history is the concatenation of its pieces. Runs at the
    same point (same iteration, same next piece) advance together as one batch of
    :func:`~matrix_sensing.factorized_gd`, reading the operator once per iteration for all
    of them; a run alone is made as a single run, so that one run here is exactly
    ``factorized_gd`` run alone.
    """
    check_operator(op)
    n1, n2 = op.shape
    U0 = check.array("U0", U0, ndim=3, shape=(None, n1, None))
    V0 = check.array("V0", V0, ndim=3, shape=(U0.shape[0], n2, U0.shape[2]))
    count = len(U0)
    steps = [check.real("steps[]", s, positive=True) for s in _per_run("steps", steps, count)]
    iters = [check.integer("iters[]", n, minimum=1) for n in _per_run("iters", iters, count)]
    _require_truth(truth, n1, n2)
    level = check.real("level", level, positive=True)
    chunk = check.integer("chunk", chunk, minimum=1)
    if then_every is not None:
        then_every = check.integer("record_every", then_every, minimum=1)
    U, V = list(U0), list(V0)
    done, escaped = [0] * count, [False] * count
    joined: list[GDResult | None] = [None] * count

    def next_piece(b: int) -> tuple[int, int, int] | None:
        """(start, length, record_every) of run b's next piece, or None if it is over."""
        if done[b] >= iters[b] or (escaped[b] and then_every is None):
            return None
        if escaped[b]:
            return done[b], iters[b] - done[b], then_every
        return done[b], min(chunk, iters[b] - done[b]), 1

    while True:
        groups: dict[tuple[int, int, int], list[int]] = {}
        for b in range(count):
            piece = next_piece(b)
            if piece is not None:
                groups.setdefault(piece, []).append(b)
        if not groups:
            break
        for (start, length, every), runs in groups.items():
            if len(runs) == 1:
                b = runs[0]
                results = [
                    factorized_gd(
                        op, y, U[b], V[b], steps[b], length, truth=truth, record_every=every
                    )
                ]
            else:
                results = factorized_gd(
                    op,
                    y,
                    np.stack([U[b] for b in runs]),
                    np.stack([V[b] for b in runs]),
                    [steps[b] for b in runs],
                    length,
                    truth=truth,
                    record_every=every,
                )
            for b, result in zip(runs, results, strict=True):
                joined[b] = result if joined[b] is None else continue_run(joined[b], result)
                U[b], V[b], done[b] = result.U, result.V, start + length
                escaped[b] = escaped[b] or bool(np.any(result.history["test_error"] < level))
    return joined


def continue_while(
    result: GDResult,
    op,
    y,
    more: Callable[[GDResult], int],
    *,
    truth=None,
    record_every: int = 1,
    starts: list | None = None,
) -> GDResult:
    """Continue the gradient-descent run ``result`` on ``op`` and ``y`` in pieces while
    ``more(result)``, the length of the next piece, is positive.

    Each piece is :func:`~matrix_sensing.factorized_gd` from the last iterate, at
    ``result.step``, recorded every ``record_every`` iterations (counted from the piece's
    start) and joined by :func:`~matrix_sensing.solvers.continue_run`, so the iterates are
    those of one uninterrupted run. A divergence names the iteration of the whole run.
    ``truth`` (an (n1, n2) array or factors ``(L, R)``) adds the test error. If ``starts``
    is a list, ``(iteration, U, V)`` at the start of every piece is appended to it, from
    which :func:`iterate_at` recovers any earlier iterate.
    """
    while (length := more(result)) > 0:
        if starts is not None:
            starts.append((result.iters, result.U, result.V))
        with divergence_context(offset=result.iters):
            piece = factorized_gd(
                op,
                y,
                result.U,
                result.V,
                result.step,
                length,
                truth=truth,
                record_every=record_every,
            )
        result = continue_run(result, piece)
    return result


def iterate_at(op, y, step: float, starts: list, t: int) -> tuple[np.ndarray, np.ndarray]:
    """The iterate ``(U_t, V_t)`` of a gradient-descent run with step μ = ``step`` on
    ``op`` and ``y``, re-run from the latest of its ``starts`` (``(iteration, U, V)``
    triples, as :func:`continue_while` collects them) at or before iteration ``t``."""
    earlier = [start for start in starts if start[0] <= t]
    if not earlier:
        raise ValueError(f"t must be >= the first start {starts[0][0]}, got {t}")
    start, U, V = max(earlier, key=lambda s: s[0])
    if t == start:
        return U, V
    # Recording only the two ends: the iterates do not depend on where the records fall.
    rerun = factorized_gd(op, y, U, V, step, t - start, record_every=t - start)
    return rerun.U, rerun.V


def _per_run(name: str, values, count: int):
    """``values`` if it is a list of ``count`` entries (one per run), else raise naming it."""
    if isinstance(values, (str, bytes, Mapping)) or not hasattr(values, "__len__"):
        raise TypeError(f"{name} must be a list of {count} numbers (one per run), got {values!r}")
    if len(values) != count:
        raise ValueError(
            f"{name} must have one entry per run ({count}), got {len(values)}: {list(values)!r}"
        )
    return values


def _require_truth(truth, n1: int, n2: int) -> None:
    """Check the ground truth of a run recorded until its escape: the escape is read off the
    test error, so ``truth`` (an (n1, n2) array or factors ``(L, R)``) is required."""
    if truth is None:
        raise TypeError(
            f"truth is required (an ({n1}, {n2}) array or factors (L, R)): the escape is read "
            "off the test error"
        )
    test_error_function(truth, n1, n2)  # raises naming truth


def _single_run_factors(op, U0, V0) -> tuple[np.ndarray, np.ndarray]:
    """``(U0, V0)`` of one run, checked as (n1, k) and (n2, k) for ``op`` of shape (n1, n2),
    as stacks of one run (1, n1, k), (1, n2, k)."""
    check_operator(op)
    n1, n2 = op.shape
    U0 = check.array("U0", U0, ndim=2, shape=(n1, None))
    V0 = check.array("V0", V0, ndim=2, shape=(n2, U0.shape[1]))
    return U0[None], V0[None]
