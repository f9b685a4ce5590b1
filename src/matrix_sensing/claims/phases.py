"""Claims M5, M6, M7 (see ``book/claims/m5_m7.md``): the spectral, saddle and
local-refinement phases of one gradient-descent trajectory from α = 1e-8 on configuration B
(``book/setup.md``) with twice its measurements (m = 8r(n1+n2) instead of 4r(n1+n2); see the
declaration of :func:`~matrix_sensing.experiments.phases.phases`).

The three claims share the experiment :func:`~matrix_sensing.experiments.phases.phases`
(one run per seed) and the phase boundaries of
:func:`~matrix_sensing.experiments.phases.phase_boundaries`.
"""

from __future__ import annotations

import math

from ..experiments import Run
from ..experiments.phases import (
    DROP_FACTOR,
    PLATEAU_TOLERANCE,
    drop_iterations,
    phase_boundaries,
    phases,
    plateau_length,
)
from ._registry import Claim, Threshold, register

NOTEBOOK = "notebooks/m5_m7_phases.ipynb"


def measure_spectral(run: Run) -> dict[str, float]:
    """M5 at the end of phase I (the last iteration before ``||U_t V_t^T|| > 1e-2 ||X||``)."""
    data, t = run.data, phase_boundaries(run)["spectral_end"]
    if t is None:
        return dict.fromkeys(
            ("sin_U_spectral", "sin_V_spectral", "test_error_spectral", "truth_angle_gap"),
            math.nan,
        )
    return {
        "sin_U_spectral": data["sin_U_spectral"][t],
        "sin_V_spectral": data["sin_V_spectral"][t],
        "test_error_spectral": data["test_error"][: t + 1].min(),
        "truth_angle_gap": max(
            abs(data["sin_U_truth"][t] - data["spectral_sin_left_truth"]),
            abs(data["sin_V_truth"][t] - data["spectral_sin_right_truth"]),
        ),
    }


def measure_plateau(run: Run) -> dict[str, float]:
    """M6: the longest stretch before the escape with the test error within
    ``PLATEAU_TOLERANCE`` of ``sqrt(Σ_{i≥2} σ_i²)/||X||_F`` (nan if the error never drops)."""
    escape = phase_boundaries(run)["escape"]
    if escape is None:
        return {"plateau_length": math.nan}
    _, length = plateau_length(
        run.data["test_error"], run.data["plateau_level"], PLATEAU_TOLERANCE, escape
    )
    return {"plateau_length": length}


def refinement_window() -> int:
    """The M7 window (iterations after the escape), the threshold on ``drop_iterations``."""
    return int(M7.threshold("drop_iterations").value)


def measure_refinement(run: Run) -> dict[str, float]:
    """M7: iterations from the escape until the test error has fallen 100x, and the sine of
    the largest principal angle between the top-r singular subspaces (left and right) of
    ``U_t V_t^T`` and of ``X`` at the end of the window (escape + 120 iterations)."""
    data, escape = run.data, phase_boundaries(run)["escape"]
    if escape is None:
        return {"drop_iterations": math.nan, "sin_truth_refined": math.nan}
    drop = drop_iterations(data["test_error"], escape, DROP_FACTOR)
    end = escape + refinement_window()
    in_run = end < len(data["test_error"])
    return {
        "drop_iterations": math.nan if drop is None else drop,
        "sin_truth_refined": max(
            data["sin_product_left_truth"][end], data["sin_product_right_truth"][end]
        )
        if in_run
        else math.nan,
    }


M5 = register(
    Claim(
        id="M5",
        title="Spectral phase: the factors align with the spectral estimate",
        statement=(
            "From α = ${alpha}, while ||U_t V_t^T|| <= 1e-2 ||X||, the top-r left singular "
            "subspaces of U_t and of V_t align with the top-r left and right singular subspaces "
            "of A*(y) (sine of the largest principal angle at most ${sin_U_spectral} for U_t "
            "and ${sin_V_spectral} for V_t at the last such iteration, from about 1 at t = 0), "
            "the test error is still at least ${test_error_spectral}, and the sines of the "
            "angles to the truth equal those of the spectral estimate within "
            "${truth_angle_gap}."
        ),
        experiment=phases,
        thresholds=(
            Threshold("sin_U_spectral", "<=", 0.05),
            Threshold("sin_V_spectral", "<=", 0.05),
            Threshold("test_error_spectral", ">=", 0.95),
            Threshold("truth_angle_gap", "<=", 0.1),
        ),
        measure=measure_spectral,
        notebook=NOTEBOOK,
    )
)

M6 = register(
    Claim(
        id="M6",
        title="Saddle / incremental phase: a plateau with one direction learned",
        statement=(
            "With κ = ${kappa}, before the test error drops below 0.1 it sits for at least "
            "${plateau_length} consecutive iterations near σ_2/||X||_F ≈ 0.45, the error with "
            "only the leading direction learned (near: within ±0.1, a tolerance chosen here)."
        ),
        experiment=phases,
        thresholds=(Threshold("plateau_length", ">=", 30),),
        measure=measure_plateau,
        notebook=NOTEBOOK,
    )
)

M7 = register(
    Claim(
        id="M7",
        title="Local refinement: fast convergence after the escape",
        statement=(
            "After the test error first drops below 0.1 it falls by a factor of at least 100 "
            "within ${drop_iterations} iterations, and the sines of the largest principal "
            "angles between the top-r singular subspaces of U_t V_t^T and those of X are then "
            "below ${sin_truth_refined}."
        ),
        experiment=phases,
        thresholds=(
            Threshold("drop_iterations", "<=", 120),
            Threshold("sin_truth_refined", "<=", 1e-2),
        ),
        measure=measure_refinement,
        notebook=NOTEBOOK,
    )
)
