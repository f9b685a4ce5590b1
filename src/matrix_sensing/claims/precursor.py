"""Claims P1, P2, P3 (the symmetric precursor, see ``book/neighbours/precursor.md``):
symmetric PSD matrix sensing from a small random initialization, after Stöger &
Soltanolkotabi (2021); P3's incremental learning after Jin, Li, Lyu, Du & Lee (2023)."""

from __future__ import annotations

import math

import numpy as np

from ..experiments import Run
from ..experiments.symmetric import (
    incremental_learning,
    precursor_recovery,
    precursor_underdetermined,
    spectral_phase_end,
)
from ..fits import loglog_fit, semilog_fit
from ._registry import Claim, Threshold, register

NOTEBOOK = "notebooks/p1_p3_precursor.ipynb"
SOURCE = "Stöger & Soltanolkotabi 2021"

# P1's "spectral alignment as in M5" (see ``book/neighbours/precursor.md``): measured at the
# end of the spectral phase, the last iteration with ||U_t U_t^T|| <= SPECTRAL_LEVEL ||X||.
SPECTRAL_LEVEL = 1e-2

P1_THRESHOLDS = (
    Threshold("test_error", "<=", 1e-3),
    Threshold("error_slope", ">=", 0.5),
    Threshold("spectral_sine", "<=", 0.05),
)
P2_THRESHOLDS = (
    Threshold("error_slope", ">=", 0.8),
    # fitted slope of the time to fit against ln(1/α), over the prediction 1/ln(1 + μσ_r):
    # "within 20%"
    Threshold("fit_time_ratio", "in", (0.8, 1.2)),
)
P3_THRESHOLDS = (
    # "crossing times increasing": the smallest gap t_{i+1} - t_i (iterations, both runs)
    Threshold("crossing_gap", ">=", 1),
    # "squaring α doubles each time within 15%": t_i(α²)/t_i(α), the worst over i
    Threshold("doubling_ratio", "in", (1.7, 2.3)),
)


def spectral_measurements(run: Run) -> dict[str, float]:
    """P1's spectral phase: at its last iteration ``t`` (``||U_t U_t^T|| <= 1e-2 ||X||``),
    the sine between the top-r eigenspaces of ``U_t U_t^T`` and of ``A*(y)``
    (``spectral_sine``), the same for the power iteration (``power_sine``), the test error
    and the sine to the truth minus that of the spectral estimate (``truth_sine_gap``), and
    ``t`` itself (``nan`` throughout if the initialization is already above the level)."""
    history = run.results["spectral"].history
    end = spectral_phase_end(history["norm"], SPECTRAL_LEVEL * run.data["norm_x"])
    if end is None:
        return dict.fromkeys(
            ("iteration", "spectral_sine", "power_sine", "test_error", "truth_sine_gap"),
            math.nan,
        )
    return {
        "iteration": float(history["iteration"][end]),
        "spectral_sine": float(history["spectral_sine"][end]),
        "power_sine": float(run.data["power_sine"][end]),
        "test_error": float(history["test_error"][end]),
        "truth_sine_gap": float(history["truth_sine"][end] - run.data["spectral_vs_truth_sine"]),
    }


def measure_p1(run: Run) -> dict[str, float]:
    """Final test error at α = ``alpha``, log-log slope of the final test error against
    α, and the spectral alignment at the end of the spectral phase."""
    final = run.results[f"alpha={run.params['alpha']:g}"].history["test_error"][-1]
    return {
        "test_error": final,
        "error_slope": loglog_fit(run.data["alphas"], run.data["test_error"]).slope,
        "spectral_sine": spectral_measurements(run)["spectral_sine"],
    }


def measure_p2(run: Run) -> dict[str, float]:
    """Log-log slope of the final test error against α, and the slope of the time to fit
    against ln(1/α) in units of the prediction 1/ln(1 + μσ_r) (``nan`` if some run never
    fits)."""
    data = run.data
    times = data["fit_time"]
    ratio = (
        math.nan
        if np.isnan(times).any()
        else semilog_fit(data["alphas"], times).slope / data["predicted_slope"]
    )
    return {
        "error_slope": loglog_fit(data["alphas"], data["test_error"]).slope,
        "fit_time_ratio": ratio,
    }


def doubling_ratios(run: Run) -> np.ndarray:
    """``t_i(α²) / t_i(α)`` for each eigenvalue ``i`` (P3)."""
    times = run.data["crossing_times"]
    return times[1] / times[0]


def measure_p3(run: Run) -> dict[str, float]:
    """The smallest gap between successive crossing times (over the runs from α and α²)
    and the worst doubling ratio."""
    times = run.data["crossing_times"]
    gaps = np.diff(times, axis=1)
    return {
        "crossing_gap": math.nan if np.isnan(gaps).any() else gaps.min(),
        "doubling_ratio": P3_THRESHOLDS[1].worst(list(doubling_ratios(run))),
    }


P1 = register(
    Claim(
        id="P1",
        title="Symmetric precursor: small initialization recovers a PSD matrix",
        statement=(
            "Symmetric gradient descent on U U^T (n = ${n}, r = ${r}, κ = ${kappa}, m = ${m}, "
            "k = n, μ = ${step}) from U_0 = α G recovers the PSD target: relative test error at "
            "most ${test_error} at α = ${alpha}; the final test error decays polynomially in α "
            "with a log-log slope of at least ${error_slope} over α ∈ {${alphas}}; and, as in "
            "M5, from α = ${alpha_spectral} the top-r eigenspace of U_t U_t^T aligns with that "
            "of A*(y) (sine of the largest principal angle at most ${spectral_sine}) while "
            "||U_t U_t^T|| <= 1e-2 ||X||."
        ),
        experiment=precursor_recovery,
        thresholds=P1_THRESHOLDS,
        measure=measure_p1,
        notebook=NOTEBOOK,
        source=SOURCE,
    )
)

P2 = register(
    Claim(
        id="P2",
        title="Symmetric precursor, underdetermined: error ∝ α^γ, time ∝ ln(1/α)",
        statement=(
            "With fewer measurements than unknowns (n = ${n}, r = ${r}, κ = ${kappa}, "
            "m = ${m} < n(n+1)/2, k = n, μ = ${step}), the final test error decays in α with a "
            "log-log slope of at least ${error_slope} over α ∈ {${alphas}}, and the time to "
            "fit (first iteration with test error < ${fit_level}) grows like "
            "ln(1/α)/ln(1 + μσ_r): the fitted slope against ln(1/α), in units of "
            "1/ln(1 + μσ_r), is in ${fit_time_ratio}."
        ),
        experiment=precursor_underdetermined,
        thresholds=P2_THRESHOLDS,
        measure=measure_p2,
        notebook=NOTEBOOK,
        source=SOURCE,
    )
)

P3 = register(
    Claim(
        id="P3",
        title="Incremental learning: eigenvalues are learned one at a time",
        statement=(
            "With target eigenvalues σ = (${eigenvalues}) (n = ${n}, m = ${m}, k = n, "
            "μ = ${step}), the eigenvalues of U_t U_t^T are learned one at a time: the crossing "
            "times (first t at which the i-th eigenvalue reaches σ_i / 2) increase with i, by at "
            "least ${crossing_gap} iteration from one to the next, from α = ${alpha} and from "
            "α²; and squaring α about doubles each crossing time (ratio in ${doubling_ratio})."
        ),
        experiment=incremental_learning,
        thresholds=P3_THRESHOLDS,
        measure=measure_p3,
        notebook=NOTEBOOK,
        source="Jin, Li, Lyu, Du & Lee 2023",
    )
)
