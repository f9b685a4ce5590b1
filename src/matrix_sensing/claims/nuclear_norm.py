"""Claim N10 (neighbours, see ``book/neighbours/nuclear_norm.md``): from the identity
initialization √α·I the limit's nuclear norm tends to ||X||_* as α → 0 (Gunasekar et al.
2017; Li, Ma & Zhang 2018)."""

from __future__ import annotations

import numpy as np

from ..experiments import Run
from ..experiments.nuclear_norm import identity_init_limit
from ._registry import Claim, Threshold, register


def measure(run: Run) -> dict[str, float]:
    """The two N10 quantities of one run of :func:`identity_init_limit`. ``data["alphas"]``
    is decreasing, so consecutive ratios compare a smaller α with the previous one."""
    gaps = np.abs(run.data["final_gap"])
    with np.errstate(divide="ignore", invalid="ignore"):
        ratios = gaps[1:] / gaps[:-1]
    return {
        "smallest_alpha_gap": float(gaps[-1]),
        "gap_ratio": float(ratios.max()) if np.all(np.isfinite(ratios)) else float("nan"),
    }


N10 = register(
    Claim(
        id="N10",
        title="Identity initialization tends to the minimum nuclear norm",
        statement=(
            "Symmetric gradient descent U U^T of full width from U_0 = √α I, in an "
            "underdetermined regime where many PSD interpolants exist and X is the one of "
            "minimum nuclear norm: the relative nuclear-norm gap "
            "| ||U_T V_T^T||_* - ||X||_* | / ||X||_* decreases monotonically as α decreases "
            "(every ratio of consecutive gaps at most ${gap_ratio}) and is at most "
            "${smallest_alpha_gap} at the smallest α."
        ),
        experiment=identity_init_limit,
        thresholds=(
            Threshold("smallest_alpha_gap", "<=", 1e-2),
            Threshold("gap_ratio", "<=", 1.0),
        ),
        measure=measure,
        notebook="notebooks/n10_nuclear_norm.ipynb",
        source="Gunasekar et al. 2017; Li, Ma & Zhang 2018",
    )
)
