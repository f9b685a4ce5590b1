"""Claims of the paper and its neighbours, each with thresholds stated once and a check.

>>> from matrix_sensing import claims
>>> claims.ids()[:2]
['M1', 'M2']
>>> result = claims.check("M1", seed=0, scale="ci")   # doctest: +SKIP
>>> result.passed, result.measured                     # doctest: +SKIP
"""

import importlib
import pkgutil

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
    record,
    run_experiment,
    verdict,
)
from ._registry import check_claim as check

# Every public module of this package registers its claims on import (one module per claim
# group); ids() orders them M1, M2, ..., M10, P1, ..., N1, ... whatever the import order.
for _module in pkgutil.iter_modules(__path__):
    if not _module.name.startswith("_"):
        importlib.import_module(f"{__name__}.{_module.name}")

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
    "record",
    "run_experiment",
    "verdict",
]
