"""What ``A`` is: measurement operators ``A: R^{n1 x n2} -> R^m`` and the protocol every
solver relies on (:class:`SensingOperator`)."""

from .dense import GaussianSensing, IdentitySensing
from .factored import EntrySampling, RankOneSensing
from .protocol import SensingOperator, TwoPassGradients, check_operator
from .symmetric import SymmetricGaussianSensing

__all__ = [
    "EntrySampling",
    "GaussianSensing",
    "IdentitySensing",
    "RankOneSensing",
    "SensingOperator",
    "SymmetricGaussianSensing",
    "TwoPassGradients",
    "check_operator",
]
