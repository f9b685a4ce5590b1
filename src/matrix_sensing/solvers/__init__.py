"""How the iterates move: factorized gradient descent and its neighbours, all driven by one
loop (:func:`~matrix_sensing.solvers.iterate`) and returning one result type (:class:`GDResult`)."""

from .driver import (
    DivergenceError,
    GDResult,
    Method,
    continue_run,
    divergence_context,
    iterate,
    test_error_function,
)
from .factorization import heron_prediction, nystrom_init, scaled_gd_factorization
from .gd import factorized_gd
from .preconditioned import POLICIES, damping, preconditioned_gd, preconditioned_step
from .rebalancing import rebalance
from .robust import (
    corrupt,
    l1_loss,
    l1_subgradient,
    subgradient_method,
    symmetric_l2_gd,
    symmetric_subgradient_method,
)
from .symmetric import symmetric_gd, symmetric_loss

__all__ = [
    "POLICIES",
    "DivergenceError",
    "GDResult",
    "Method",
    "continue_run",
    "corrupt",
    "damping",
    "divergence_context",
    "factorized_gd",
    "heron_prediction",
    "iterate",
    "l1_loss",
    "l1_subgradient",
    "nystrom_init",
    "preconditioned_gd",
    "preconditioned_step",
    "rebalance",
    "scaled_gd_factorization",
    "subgradient_method",
    "symmetric_gd",
    "symmetric_l2_gd",
    "symmetric_loss",
    "symmetric_subgradient_method",
    "test_error_function",
]
