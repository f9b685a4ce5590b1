"""Claim N9 (neighbour, see ``book/neighbours/landscape.md``): no spurious local minima at
the exact width k = r (Bhojanapalli, Neyshabur & Srebro 2016; Ge, Jin & Zheng 2017)."""

from __future__ import annotations

from ..experiments import Run
from ..experiments.landscape import random_starts
from ._registry import Claim, Threshold, register


def measure(run: Run) -> dict[str, float]:
    """The worst (largest) final relative test error over the starts of one run."""
    return {"worst_final_error": float(run.data["final_error"].max())}


N9 = register(
    Claim(
        id="N9",
        title="Exact parameterization: every random start reaches the global minimum",
        statement=(
            "With the exact width k = r, gradient descent from each of ${starts} independent "
            "order-one random starts (U_0, V_0 with i.i.d. N(0, α²/k) entries, α = ${alpha} at "
            "the CI scale, so that ||U_0 V_0^T||_F is one to four times ||X||_F) reaches the "
            "global minimum U V^T = X: after T iterations the relative test error of every "
            "start is at most ${worst_final_error}."
        ),
        experiment=random_starts,
        thresholds=(Threshold("worst_final_error", "<=", 1e-6),),
        measure=measure,
        notebook="notebooks/n9_landscape.ipynb",
        source="Bhojanapalli et al. 2016; Ge, Jin & Zheng 2017",
    )
)
