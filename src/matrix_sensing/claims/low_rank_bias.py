"""Claim M9 of the main paper (see ``book/claims/m9.md``): implicit low-rank bias at full
width k = n1.

M9 is measured on the runs of the experiment ``small_vs_large_init`` at the scales of M1/M2,
so that one run of that experiment serves M1, M2 and M9.
"""

from __future__ import annotations

from ..experiments import Run, small_vs_large_init
from ..experiments.low_rank_bias import nuclear_norm_gap, sigma_ratio
from ._registry import Claim, Threshold, register


def measure(run: Run) -> dict[str, float]:
    """The M9 quantities on the last iterates of both runs."""
    r = run.params["r"]
    small, large = run.results["small"].product, run.results["large"].product
    return {
        "small_sigma_ratio": sigma_ratio(small, r),
        "nuclear_norm_gap": nuclear_norm_gap(small, run.truth),
        "large_sigma_ratio": sigma_ratio(large, r),
    }


M9 = register(
    Claim(
        id="M9",
        title="Implicit low-rank bias at full width",
        statement=(
            "At full width k = n1 nothing in the model limits the rank of U V^T, yet from a "
            "small initialization (α = ${alpha_small}) gradient descent ends at an "
            "approximately rank-r matrix: σ_{r+1}/σ_r of U_T V_T^T is at most "
            "${small_sigma_ratio}, and its nuclear norm is within ${nuclear_norm_gap} of "
            "||X||_* relative to ||X||_* (|‖U_T V_T^T‖_* - ‖X‖_*| <= ${nuclear_norm_gap} "
            "‖X‖_*). From a large initialization (α = ${alpha_large}) on the same data it is "
            "far from rank r: σ_{r+1}/σ_r >= ${large_sigma_ratio}."
        ),
        experiment=small_vs_large_init,
        thresholds=(
            Threshold("small_sigma_ratio", "<=", 1e-3),
            Threshold("nuclear_norm_gap", "<=", 1e-3),
            Threshold("large_sigma_ratio", ">=", 0.5),
        ),
        measure=measure,
        notebook="notebooks/m9_low_rank_bias.ipynb",
    )
)
