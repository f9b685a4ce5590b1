"""Claim N5 (neighbour, see ``book/neighbours/balancing_free.md``): balancing-free gradient
descent, Ma, Li & Chi (IEEE TSP 2021)."""

from __future__ import annotations

import math

import numpy as np

from .. import _validation as check
from ..experiments import Run
from ..experiments.balancing_free import balancing_free
from ..metrics import first_crossing
from ._registry import Claim, Threshold, register

N5_THRESHOLDS = (
    Threshold("plain_error", "<=", 1e-6),
    Threshold("iteration_ratio", "<=", 2.0),
    Threshold("max_balance", "<=", 0.05),
)
# The level whose first crossing is timed: the error N5 requires of the plain run.
LEVEL = N5_THRESHOLDS[0].value


def time_to_level(history: dict, level: float = LEVEL) -> float:
    """First recorded iteration with relative test error strictly below ``level`` (inf if
    never)."""
    level = check.real("level", level, positive=True)
    hit = first_crossing(history["iteration"], history["test_error"], level)
    return math.inf if hit is None else float(hit)


def measure(run: Run) -> dict[str, float]:
    """The three N5 quantities of one run of :func:`balancing_free`."""
    plain, regularized = run.results["plain"].history, run.results["regularized"].history
    t_plain, t_regularized = time_to_level(plain), time_to_level(regularized)
    with np.errstate(invalid="ignore"):  # inf / inf (neither reaches the level) is NaN: FAIL
        ratio = float(np.float64(t_plain) / np.float64(t_regularized))
    return {
        "plain_error": float(plain["test_error"][-1]),
        "iteration_ratio": ratio,
        "max_balance": float(plain["balance"].max()),
    }


N5 = register(
    Claim(
        id="N5",
        title="Balancing-free gradient descent",
        statement=(
            "With the exact width k = r and a spectral initialization, plain factorized "
            "gradient descent (no balancing regularizer) reaches a relative test error below "
            "${plain_error}; it needs at most ${iteration_ratio} times as many iterations to "
            "get below ${plain_error} as the same descent with the balancing regularizer "
            "(λ/4)||U^T U - V^T V||_F^2, λ = ${balance_weight}; and the imbalance "
            "||U_t^T U_t - V_t^T V_t||_F / σ1(X) stays at most ${max_balance} along the whole "
            "plain run."
        ),
        experiment=balancing_free,
        thresholds=N5_THRESHOLDS,
        measure=measure,
        notebook="notebooks/n5_balancing_free.ipynb",
        source="Ma, Li & Chi 2021",
    )
)
