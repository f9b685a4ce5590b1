"""Claim M8 of the main paper (see ``book/claims/m8.md``): implicit balancing of the two
factors."""

from __future__ import annotations

import numpy as np

from ..experiments import Run
from ..experiments.balancing import implicit_balancing
from ._registry import Claim, Threshold, register

# Configuration B (n1=40, n2=30, r=2, κ=2, m=560, k=n1, μ=0.25; defined in ``book/setup.md``)
# at α=1e-6; the paper scale is the M1 paper scale (every dimension ~2.5x at m ≈ 4r(n1+n2)).
BALANCING_SCALES = {
    "ci": {
        "n1": 40,
        "n2": 30,
        "r": 2,
        "kappa": 2.0,
        "m": 560,
        "k": 40,
        "alpha": 1e-6,
        "step": 0.25,
        "iters": 1500,
        "step_factors": [2.0, 0.5],
        "unbalance": 100.0,
    },
    "paper": {
        "n1": 100,
        "n2": 80,
        "r": 3,
        "kappa": 2.0,
        "m": 2160,
        "k": 100,
        "alpha": 1e-6,
        "step": 0.25,
        "iters": 2000,
        "step_factors": [2.0, 0.5],
        "unbalance": 100.0,
    },
}


def measure(run: Run) -> dict[str, float]:
    """The four M8 quantities of one run of :func:`implicit_balancing`."""
    if "step_x0.5" not in run.results:
        raise ValueError("claim M8 compares the steps μ and μ/2: step_factors must contain 0.5")
    base, half = run.results["base"].history, run.results["step_x0.5"].history
    unbalanced = run.results["unbalanced"].history
    return {
        # (a) max over the steps of residual / (sum of the norms of the identity's terms)
        "identity_error": float(np.nanmax(base["identity_error"])),
        # (b) max_t ||Δ_t|| / ||X|| (operator norms) at step μ
        "max_imbalance": float(base["imbalance"].max() / run.data["truth_norm"]),
        # (b) max_t ||Δ_t - Δ_0|| at μ over the same at μ/2 (twice the iterations)
        "drift_ratio": float(base["drift"].max() / half["drift"].max()),
        # (c) final test error from (c U_0, V_0 / c) over that from (U_0, V_0)
        "unbalanced_error_ratio": float(unbalanced["test_error"][-1] / base["test_error"][-1]),
    }


M8 = register(
    Claim(
        id="M8",
        title="Implicit balancing",
        statement=(
            "Along gradient descent the imbalance Δ_t = U_t^T U_t - V_t^T V_t obeys "
            "Δ_{t+1} - Δ_t = μ² (V_t^T E_t^T E_t V_t - U_t^T E_t E_t^T U_t) at every step, to "
            "at most 1e-10 relative to the sum of the norms of the identity's terms. From "
            "α = 1e-6 the factors stay balanced, max_t ||Δ_t|| <= 1e-2 ||X||, and the drift "
            "max_t ||Δ_t - Δ_0|| is linear in the step size: halving μ (at the same μT) "
            "divides it by a factor in [1.6, 2.5]. A deliberately unbalanced start "
            "(c U_0, V_0 / c), c = 100, with the same product U_0 V_0^T, ends with at least 5 "
            "times the test error of the balanced start."
        ),
        experiment=implicit_balancing,
        scales=BALANCING_SCALES,
        thresholds=(
            Threshold("identity_error", "<=", 1e-10),
            Threshold("max_imbalance", "<=", 1e-2),
            Threshold("drift_ratio", "in", (1.6, 2.5)),
            Threshold("unbalanced_error_ratio", ">=", 5.0),
        ),
        measure=measure,
        notebook="notebooks/m8_balancing.ipynb",
    )
)
