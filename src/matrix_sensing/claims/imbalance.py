"""Claims N2, N3, N4 of the neighbours (see ``book/neighbours/imbalance.md``): Xiong, Ding
& Du (ICLR 2024) on how the imbalance of the factors sets the speed of the final linear
phase."""

from __future__ import annotations

import numpy as np

from ..experiments import Run
from ..experiments.imbalance import alpha_squared_rates, equal_scale_slowdown, rebalanced_rates
from ._registry import Claim, Threshold, register

SOURCE = "Xiong, Ding & Du 2024"
NOTEBOOK = "notebooks/n2_n4_imbalance.ipynb"


def relative_spread(values) -> float:
    """``max / min - 1`` of positive values: "agree within 20%" is ``<= 0.2`` (NaN if a value
    is missing or not positive, so that a claim built on it fails)."""
    values = np.asarray(values, dtype=float)
    if values.size == 0 or not np.all(np.isfinite(values)) or np.any(values <= 0):
        return float("nan")
    return float(values.max() / values.min() - 1.0)


def measure_n2(run: Run) -> dict[str, float]:
    alphas = np.asarray(run.data["alphas"])
    return {
        # max/min - 1 over α of (1 - ρ)/α², k > r, scaled window
        "rate_over_alpha2_spread": relative_spread(
            np.asarray(run.data["rate_unequal"]) / alphas**2
        ),
        # max/min - 1 over α of the rate with k = r, level window
        "exact_rate_spread": relative_spread(run.data["rate_exact"]),
    }


def measure_n3(run: Run) -> dict[str, float]:
    return {
        # final-window rate from (α G_U, α/3 G_V) over that from (α G_U, α G_V)
        "equal_init_slowdown": float(run.data["rate_unequal"] / run.data["rate_equal"]),
        # ||Δ_T - Δ_0||_F / ||Δ_0||_F of the (α, α/3) run compared
        "imbalance_change": float(run.data["imbalance_change_unequal"]),
    }


def measure_n4(run: Run) -> dict[str, float]:
    after = np.asarray(run.data["rate_rebalanced"], dtype=float)
    before = np.asarray(run.data["rate_unequal"], dtype=float)
    speedup = after / before
    return {
        # min over α of (rate after rebalancing) / (plain gradient descent's N2 rate)
        "rebalance_speedup": float(np.min(speedup)) if np.all(np.isfinite(speedup)) else np.nan,
        # max/min - 1 over α of the rate after rebalancing
        "rebalanced_rate_spread": relative_spread(after),
    }


N2 = register(
    Claim(
        id="N2",
        title="Asymmetric rescue: the local linear rate is proportional to α²",
        statement=(
            "Overparameterized asymmetric gradient descent (n1 = ${n1}, n2 = ${n2}, m = ${m}, "
            "r = ${r}, k = ${k}) from U_0 = α G_U, V_0 = (α/${ratio}) G_V converges linearly in "
            "its final phase, at a local rate 1 - ρ proportional to α²: (1 - ρ)/α² agrees over "
            "α ∈ {${alphas}} within max/min - 1 <= ${rate_over_alpha2_spread}, the rate "
            "measured on the training loss over the iterations t_s + [${window}]/(μ α²), t_s "
            "the first iteration with loss below ${signal_level}. With k = r the rate does not "
            "depend on α (max/min - 1 <= ${exact_rate_spread} over the same α's, measured while "
            "the loss falls through the levels ${levels})."
        ),
        experiment=alpha_squared_rates,
        thresholds=(
            Threshold("rate_over_alpha2_spread", "<=", 0.2),
            Threshold("exact_rate_spread", "<=", 0.2),
        ),
        measure=measure_n2,
        notebook=NOTEBOOK,
        source=SOURCE,
    )
)

N3 = register(
    Claim(
        id="N3",
        title="Balance versus imbalance: equal scales slow down the final phase",
        statement=(
            "With the equal-scale initialization of the main paper (U_0 = α G_U, V_0 = α G_V, "
            "α = ${alpha_equal}) the final linear phase is at least ${equal_init_slowdown} times "
            "slower than from the same Gaussian matrices with V_0 = (α/${ratio}) G_V (rates over "
            "the iterations t_s + [${final_window}]/(μ α²), t_s the first iteration with loss "
            "below ${signal_level}), and along the (α, α/${ratio}) run the imbalance hardly "
            "changes: ||Δ_T - Δ_0||_F <= ${imbalance_change} ||Δ_0||_F."
        ),
        experiment=equal_scale_slowdown,
        thresholds=(
            Threshold("equal_init_slowdown", ">=", 2.0),
            Threshold("imbalance_change", "<=", 0.1),
        ),
        measure=measure_n3,
        notebook=NOTEBOOK,
        source=SOURCE,
    )
)

N4 = register(
    Claim(
        id="N4",
        title="One-step rebalancing removes the α dependence of the rate",
        statement=(
            "Once the training loss is below ${rebalance_below}, replacing (U, V) by "
            "(U P, V P^{-T}) with the same product and a well-conditioned U (a rebalancing step "
            "in the spirit of Xiong, Ding & Du; their exact formula is not known here) makes the "
            "subsequent local linear rate at least ${rebalance_speedup} times that of plain "
            "gradient descent, for each α ∈ {${alphas}}, and about independent of α "
            "(max/min - 1 <= ${rebalanced_rate_spread})."
        ),
        experiment=rebalanced_rates,
        thresholds=(
            Threshold("rebalance_speedup", ">=", 5.0),
            Threshold("rebalanced_rate_spread", "<=", 0.2),
        ),
        measure=measure_n4,
        notebook=NOTEBOOK,
        source=SOURCE,
    )
)
