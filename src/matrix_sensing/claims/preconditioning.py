"""Claim N7 (neighbours: Tong, Ma & Chi 2021; Xu, Shen, Chi & Ma 2023; Zhang, Fattahi &
Zhang 2021; see ``book/neighbours/preconditioning.md``): preconditioning makes the
iteration count nearly independent of the condition number κ."""

from __future__ import annotations

import numpy as np

from ..experiments import Run
from ..experiments.preconditioning import preconditioning
from ._registry import Claim, Threshold, register


def measure_n7(run: Run) -> dict[str, float]:
    """GD's growth of the iteration count from the smallest to the largest κ, and the
    spread (max / min over κ) of the counts of ScaledGD(λ) and of PrecGD."""
    counts = run.data["iterations"]
    gd = counts["gd"]

    def spread(values: np.ndarray) -> float:
        return float(np.max(values) / np.min(values))

    return {
        "gd_growth": float(gd[-1] / gd[0]),
        "scaledgd_lambda_spread": spread(counts["scaledgd_lambda"]),
        "precgd_spread": spread(counts["precgd"]),
    }


N7 = register(
    Claim(
        id="N7",
        title="Preconditioning removes the dependence on κ",
        statement=(
            "From the same small random initialization (k = ${k} > r = ${r}), the number of "
            "iterations plain gradient descent needs to reach a relative test error of ${tol} "
            "grows more than ${gd_growth}-fold from κ = 1 to κ = 100, while over "
            "κ ∈ {1, 10, 100} that of ScaledGD(λ) changes by at most a factor of "
            "${scaledgd_lambda_spread} and that of PrecGD by at most a factor of "
            "${precgd_spread}."
        ),
        experiment=preconditioning,
        thresholds=(
            Threshold("gd_growth", ">=", 10.0),
            Threshold("scaledgd_lambda_spread", "<=", 3.0),
            Threshold("precgd_spread", "<=", 3.0),
        ),
        measure=measure_n7,
        notebook="notebooks/n7_preconditioning.ipynb",
        source="Tong, Ma & Chi 2021; Xu et al. 2023; Zhang, Fattahi & Zhang 2021",
    )
)
