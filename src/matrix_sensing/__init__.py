"""Executable companion to *Implicit Balancing and Regularization* (Soltanolkotabi, Stöger,
Xie, COLT 2023): matrix sensing by factorized gradient descent from small initialization.
"""

from . import claims, experiments, metrics
from ._version import __version__
from .initialization import small_random_init
from .operators import EntrySampling, GaussianSensing, RankOneSensing
from .solvers import DivergenceError, GDResult, factorized_gd
from .targets import linear_spectrum, low_rank_target, psd_target

__all__ = [
    "DivergenceError",
    "EntrySampling",
    "GDResult",
    "GaussianSensing",
    "RankOneSensing",
    "__version__",
    "claims",
    "experiments",
    "factorized_gd",
    "linear_spectrum",
    "low_rank_target",
    "metrics",
    "psd_target",
    "small_random_init",
]
