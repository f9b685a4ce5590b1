"""The benchmark's workloads: dense problems of a fixed size, and their problem data."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..operators import GaussianSensing

#: Seed of every random draw of the benchmark (operators, truth, initial factors).
SEED = 0


@dataclass(frozen=True)
class Workload:
    """A dense problem: ``batch`` = 0 for a single run, else B stacked runs."""

    name: str
    n1: int
    n2: int
    m: int
    k: int
    batch: int = 0
    dtype: str = "float64"

    @property
    def runs(self) -> int:
        return max(1, self.batch)


CI = Workload("ci", 40, 30, 560, 40)
LARGE = Workload("large", 100, 100, 4000, 10)
TABLE = [
    CI,
    LARGE,
    Workload("ci-batch8", 40, 30, 560, 40, batch=8),
    Workload("large-batch8", 100, 100, 4000, 10, batch=8),
    Workload("large-float32", 100, 100, 4000, 10, dtype="float32"),
]
SMOKE = [
    Workload("tiny", 6, 5, 40, 3),
    Workload("tiny-batch3", 6, 5, 40, 3, batch=3),
    Workload("tiny-float32", 6, 5, 40, 3, dtype="float32"),
]


def problem(w: Workload, op=None):
    """``(op, y, U0, V0, step)`` of a workload: a Gaussian operator (``op``, if given, in its
    place), the measurements ``y`` (m,) of a rank-2 truth of unit spectral scale, initial
    factors of scale α = 1e-3, ``U0`` (n1, k) and ``V0`` (n2, k) for a single run or stacks
    (B, n1, k) and (B, n2, k) for a batch, and the step μ = 0.2; deterministic in
    :data:`SEED`."""
    op = op if op is not None else GaussianSensing(w.m, (w.n1, w.n2), seed=SEED)
    rng = np.random.default_rng(SEED + 1)
    y = op.matrix @ _truth(w, rng).reshape(-1)
    U0 = 1e-3 * rng.standard_normal((w.runs, w.n1, w.k))
    V0 = 1e-3 * rng.standard_normal((w.runs, w.n2, w.k))
    if not w.batch:
        U0, V0 = U0[0], V0[0]
    return op, y, U0, V0, 0.2


def truth(w: Workload) -> np.ndarray:
    """The (n1, n2) truth ``X = L R^T`` whose measurements :func:`problem` returns (the same
    draw), for the history's ``test_error``."""
    return _truth(w, np.random.default_rng(SEED + 1))


def _truth(w: Workload, rng) -> np.ndarray:
    # the first draws of the problem's generator, before the initial factors
    L = rng.standard_normal((w.n1, 2)) / np.sqrt(w.n1)
    R = rng.standard_normal((w.n2, 2)) / np.sqrt(w.n2)
    return L @ R.T


def fmas_per_run(w: Workload) -> int:
    """Multiply-adds of one GD iteration of one run: ``vec(U V^T)``, ``A x``, ``A^T r``,
    ``G V`` and ``G^T U``."""
    n = w.n1 * w.n2
    return 2 * w.m * n + 3 * w.k * n
