"""Claim N8 (neighbour: Li, Zhang, Mokhtari & He 2025; see ``book/neighbours/nystrom.md``):
ScaledGD for matrix factorization converges quadratically from the Nyström initialization."""

from __future__ import annotations

from ..experiments.nystrom import nystrom_vs_random
from ._registry import Claim, Threshold, register

N8 = register(
    Claim(
        id="N8",
        title="Nyström initialization: quadratic convergence of ScaledGD",
        statement=(
            "For matrix factorization, ScaledGD started from the Nyström initialization "
            "X_0 = M Ω goes from a relative error of ${level_start} to ${level_end} in at most "
            "${nystrom_steps} steps (quadratic convergence), while from a small random "
            "initialization it needs at least ${random_steps} steps between the same two "
            "levels."
        ),
        experiment=nystrom_vs_random,
        thresholds=(
            Threshold("nystrom_steps", "<=", 5.0),
            Threshold("random_steps", ">=", 20.0),
        ),
        measure=lambda run: {
            "nystrom_steps": run.data["steps"]["nystrom"],
            "random_steps": run.data["steps"]["random"],
        },
        notebook="notebooks/n8_nystrom.ipynb",
        source="Li, Zhang, Mokhtari & He 2025",
    )
)
