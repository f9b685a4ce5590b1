"""Claim M8 of the main paper (see ``book/claims/m8.md``): implicit balancing of the two
factors."""

from __future__ import annotations

import numpy as np

from ..experiments import Run
from ..experiments.balancing import implicit_balancing
from ._registry import Claim, Threshold, register


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
            "at most ${identity_error} relative to the sum of the norms of the identity's "
            "terms. From α = ${alpha} the factors stay balanced, "
            "max_t ||Δ_t|| <= ${max_imbalance} ||X||, and the drift max_t ||Δ_t - Δ_0|| is "
            "linear in the step size: halving μ (at the same μT) divides it by a factor in "
            "${drift_ratio}. A deliberately unbalanced start (c U_0, V_0 / c), "
            "c = ${unbalance}, with the same product U_0 V_0^T, ends with at least "
            "${unbalanced_error_ratio} times the test error of the balanced start."
        ),
        experiment=implicit_balancing,
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
