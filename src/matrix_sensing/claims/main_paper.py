"""Claims M1 and M2 of the main paper (Soltanolkotabi, Stöger, Xie 2023; see
``book/claims/m1_m2.md``)."""

from __future__ import annotations

from ..experiments import Run, small_vs_large_init
from ._registry import Claim, Threshold, register

# Base configuration B (defined in ``book/setup.md``): n1=40, n2=30, r=2, κ=2,
# m=560 (≈ 4r(n1+n2)), k=n1.
# The paper scale grows every dimension ~2.5x at the same oversampling m ≈ 4r(n1+n2).
SMALL_VS_LARGE_SCALES = {
    "ci": {
        "n1": 40,
        "n2": 30,
        "r": 2,
        "kappa": 2.0,
        "m": 560,
        "k": 40,
        "alpha_small": 1e-6,
        "alpha_large": 1.0,
        "step_small": 0.25,
        "step_large": 0.1,
        "iters_small": 1500,
        "iters_large": 3000,
    },
    "paper": {
        "n1": 100,
        "n2": 80,
        "r": 3,
        "kappa": 2.0,
        "m": 2160,
        "k": 100,
        "alpha_small": 1e-6,
        "alpha_large": 1.0,
        "step_small": 0.25,
        "step_large": 0.1,
        "iters_small": 2000,
        "iters_large": 4000,
    },
}


def _final(run: Run, name: str, metric: str) -> float:
    return float(run.results[name].history[metric][-1])


M1 = register(
    Claim(
        id="M1",
        title="Generalization from small initialization",
        statement=(
            "Overparameterized factorized gradient descent (k > r) started from a small random "
            "initialization (α = 1e-6) fits the measurements and recovers the low-rank matrix: "
            "after T iterations the relative test error is at most 1e-3 and the training loss "
            "at most 1e-6."
        ),
        experiment=small_vs_large_init,
        scales=SMALL_VS_LARGE_SCALES,
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
            "On the same data, gradient descent from a large initialization (α = 1) drives the "
            "training loss to at most 1e-8 but ends at a relative test error of at least 0.3, "
            "while the small initialization of M1 reaches a test error of at most 1e-3."
        ),
        experiment=small_vs_large_init,
        scales=SMALL_VS_LARGE_SCALES,
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
