"""Claim N6 (neighbour: Ma & Fattahi 2022; see ``book/neighbours/robust_l1.md``): robust
recovery with the ℓ1 loss and the sub-gradient method when a fraction of the measurements is
corrupted."""

from __future__ import annotations

from ..experiments import Run
from ..experiments.robust import robust_recovery
from ._registry import Claim, Threshold, register


def _final(run: Run, name: str) -> float:
    return float(run.results[name].history["test_error"][-1])


N6 = register(
    Claim(
        id="N6",
        title="Robust recovery with the ℓ1 loss",
        statement=(
            "With 20% of the measurements grossly corrupted, the sub-gradient method on the ℓ1 "
            "loss of the symmetric model U U^T (k = n), started at scale ${alpha} with steps "
            "${step0}·${decay}^t, reaches a relative test error below ${l1_test_error} after "
            "T = ${iters} iterations, while gradient descent on the ℓ2 loss on the same data "
            "ends with a relative test error above ${l2_test_error}."
        ),
        experiment=robust_recovery,
        thresholds=(
            Threshold("l1_test_error", "<=", 1e-4),
            Threshold("l2_test_error", ">=", 0.5),
        ),
        measure=lambda run: {
            "l1_test_error": _final(run, "l1"),
            "l2_test_error": _final(run, "l2"),
        },
        notebook="notebooks/n6_robust_l1.ipynb",
        source="Ma & Fattahi 2022",
    )
)
