"""Experiments: one full, seeded computation behind one or more claims.

An experiment takes keyword parameters and a ``seed`` and returns a :class:`Run`. A seed
is split (``numpy.random.SeedSequence.spawn``) into independent streams for the target, the
operator and the initialization, so that changing one ingredient's seed never changes the
others, and the same parameters and seed give the same numbers bit for bit.
"""

from ._common import Run, check_seeds, sensing_problem, spawn_seeds
from .initialization_scale import small_vs_large_init
from .runs import checkpoint_progress, run_seeds

__all__ = [
    "Run",
    "check_seeds",
    "checkpoint_progress",
    "run_seeds",
    "sensing_problem",
    "small_vs_large_init",
    "spawn_seeds",
]
