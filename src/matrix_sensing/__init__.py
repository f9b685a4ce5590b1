"""Executable companion to *Implicit Balancing and Regularization* (Soltanolkotabi, Stöger,
Xie, COLT 2023): matrix sensing by factorized gradient descent from small initialization.
"""

from importlib.metadata import PackageNotFoundError, version

from . import claims, experiments, metrics
from .initialization import small_random_init
from .operators import EntrySampling, GaussianSensing, RankOneSensing
from .solvers import DivergenceError, GDResult, factorized_gd
from .targets import linear_spectrum, low_rank_target, psd_target

try:
    __version__ = version("matrix-sensing")
except PackageNotFoundError:  # running from a source tree without installing
    __version__ = "0+unknown"

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
