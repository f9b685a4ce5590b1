"""Experiments: one full, seeded computation behind one or more claims.

An experiment takes keyword parameters and a ``seed`` and returns an :class:`Run`. A seed
is split (``numpy.random.SeedSequence.spawn``) into independent streams for the target, the
operator and the initialization, so that changing one ingredient's seed never changes the
others, and the same parameters and seed give the same numbers bit for bit.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from . import _validation as check
from .gd import GDResult, factorized_gd
from .initialization import small_random_init
from .operators import GaussianSensing
from .targets import low_rank_target


@dataclass
class Run:
    """The outcome of one experiment for one seed: its parameters, the truth ``X``
    (n1, n2), and the gradient-descent results by name."""

    experiment: str
    params: dict
    seed: int
    truth: np.ndarray
    results: dict[str, GDResult] = field(default_factory=dict)


def spawn_seeds(seed: int, count: int) -> list[int]:
    """``count`` independent integer seeds derived from ``seed``."""
    children = np.random.SeedSequence(check.seed("seed", seed)).spawn(count)
    return [int(child.generate_state(1)[0]) for child in children]


def check_seeds(seeds) -> list[int]:
    """Validate a non-empty list of distinct non-negative integer seeds."""
    if isinstance(seeds, (str, bytes)) or not hasattr(seeds, "__iter__"):
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
) -> Run:
    """Claims M1 and M2: the same data fitted from a small and from a large initialization.

    Both runs start from the same Gaussian draw ``G`` scaled by ``alpha_small`` resp.
    ``alpha_large`` (so only the scale α differs). Results ``"small"`` and ``"large"``.
    """
    params = {
        "n1": n1, "n2": n2, "r": r, "kappa": kappa, "m": m, "k": k,
        "alpha_small": alpha_small, "alpha_large": alpha_large,
        "step_small": step_small, "step_large": step_large,
        "iters_small": iters_small, "iters_large": iters_large,
    }  # fmt: skip
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
    run = Run("small_vs_large_init", params, seed, truth)
    for name, (alpha, step, iters) in settings.items():
        U0, V0 = small_random_init(n1, n2, k, alpha, seed=init_seed)
        run.results[name] = factorized_gd(
            op, y, U0, V0, step, iters, truth=truth, record_every=record_every, progress=progress
        )
    return run
