"""Claims of the paper and its neighbours, each with thresholds stated once and a check.

>>> from matrix_sensing import claims
>>> claims.ids()[:2]
['M1', 'M2']
>>> result = claims.check("M1", seed=0, scale="ci")   # doctest: +SKIP
>>> result.passed, result.measured                     # doctest: +SKIP
"""

from . import main_paper  # noqa: F401  (registers the claims)
from ._registry import (
    SCALES,
    Claim,
    ClaimFailed,
    ClaimResult,
    Threshold,
    Verdict,
    evaluate,
    get,
    ids,
    run_experiment,
    verdict,
)
from ._registry import check_claim as check

__all__ = [
    "SCALES",
    "Claim",
    "ClaimFailed",
    "ClaimResult",
    "Threshold",
    "Verdict",
    "check",
    "evaluate",
    "get",
    "ids",
    "run_experiment",
    "verdict",
]
