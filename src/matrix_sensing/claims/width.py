"""Claim M10 of the main paper (see ``book/claims/m10.md``): the role of the width k."""

from __future__ import annotations

import numpy as np

from ..experiments import Run
from ..experiments.width import width_sweep
from ._registry import Claim, Threshold, register
from .main_paper import M1

M10_THRESHOLDS = (
    # "all generalize": the largest final test error over the widths, with M1's threshold.
    Threshold("max_test_error", "<=", M1.threshold("test_error").value),
    # k = r converges linearly down to (at most) 1e-10 by T.
    Threshold("exact_test_error", "<=", 1e-10),
    # every k > r stalls: the smallest final test error over the widths k > r.
    Threshold("overparam_floor", ">=", 1e-7),
    # escape time (first t with test error < 0.1): largest over smallest across widths.
    Threshold("escape_ratio", "<=", 1.3),
)


def measure_m10(run: Run) -> dict[str, float]:
    """Final test errors over the widths (largest; at k = r; smallest over k > r) and the
    spread max/min of the escape times (``nan`` if some width never escaped)."""
    widths = run.data["widths"]
    errors = run.data["final_test_error"]
    times = run.data["escape_time"]
    r = run.params["r"]
    return {
        "max_test_error": errors.max(),
        "exact_test_error": errors[widths == r][0],
        "overparam_floor": errors[widths > r].min(),
        "escape_ratio": times.max() / times.min() if np.all(times > 0) else np.nan,
    }


M10 = register(
    Claim(
        id="M10",
        title="The role of the width k",
        statement=(
            "From the same small random initialization (α = ${alpha}, nested Gaussian draws), "
            "gradient descent at every width k ∈ {r, 2r, 5r, n1, 2n1} generalizes (test error "
            "at T = ${iters} at most ${max_test_error}, M1's threshold); at k = r it converges "
            "linearly to a test error of at most ${exact_test_error}, while every k > r stalls "
            "at an α-dependent floor above ${overparam_floor}; the escape time (first "
            "iteration with test error < ${escape_level}) is nearly independent of k (largest "
            "over smallest at most ${escape_ratio})."
        ),
        experiment=width_sweep,
        thresholds=M10_THRESHOLDS,
        measure=measure_m10,
        notebook="notebooks/m10_width.ipynb",
    )
)
