"""Claims M1 and M2 of the main paper (Soltanolkotabi, Stöger, Xie 2023; see
``book/claims/m1_m2.md``)."""

from __future__ import annotations

from ..experiments import Run, small_vs_large_init
from ._registry import Claim, Threshold, register


def _final(run: Run, name: str, metric: str) -> float:
    return float(run.results[name].history[metric][-1])


M1 = register(
    Claim(
        id="M1",
        title="Generalization from small initialization",
        statement=(
            "Overparameterized factorized gradient descent (k > r) started from a small random "
            "initialization (α = ${alpha_small}) fits the measurements and recovers the "
            "low-rank matrix: after T iterations the relative test error is at most "
            "${test_error} and the training loss at most ${train_loss}."
        ),
        experiment=small_vs_large_init,
        thresholds=(
            Threshold("test_error", "<=", 1e-3),
            Threshold("train_loss", "<=", 1e-6),
        ),
        measure=lambda run: {
            "test_error": _final(run, "small", "test_error"),
            "train_loss": _final(run, "small", "train_loss"),
        },
        notebook="notebooks/m1_m2_small_vs_large_init.ipynb",
    )
)

M2 = register(
    Claim(
        id="M2",
        title="Large initialization interpolates but does not generalize",
        statement=(
            "On the same data, gradient descent from a large initialization (α = ${alpha_large}) "
            "drives the training loss to at most ${large_train_loss} but ends at a relative "
            "test error of at least ${large_test_error}, while the small initialization of M1 "
            "reaches a test error of at most ${small_test_error}."
        ),
        experiment=small_vs_large_init,
        thresholds=(
            Threshold("large_train_loss", "<=", 1e-8),
            Threshold("large_test_error", ">=", 0.3),
            Threshold("small_test_error", "<=", 1e-3),
        ),
        measure=lambda run: {
            "large_train_loss": _final(run, "large", "train_loss"),
            "large_test_error": _final(run, "large", "test_error"),
            "small_test_error": _final(run, "small", "test_error"),
        },
        notebook="notebooks/m1_m2_small_vs_large_init.ipynb",
    )
)
