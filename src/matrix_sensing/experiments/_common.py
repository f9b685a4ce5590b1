"""What every experiment shares: the run record, seeding and the sensing problem."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .. import _validation as check
from ..gd import GDResult
from ..operators import GaussianSensing
from ..targets import low_rank_target


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
