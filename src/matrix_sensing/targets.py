"""Low-rank ground-truth matrices X (the signal to recover)."""

from __future__ import annotations

import numpy as np

from . import _validation as check


def linear_spectrum(r: int, kappa: float) -> np.ndarray:
    """Singular values ``sigma_1 >= ... >= sigma_r`` linearly spaced from 1 down to 1/kappa.

    So that ``||X|| = 1`` and the condition number ``sigma_1 / sigma_r`` equals ``kappa``.
    """
    r = check.integer("r", r, minimum=1)
    kappa = check.real("kappa", kappa, minimum=1.0)
    return np.linspace(1.0, 1.0 / kappa, r)


def low_rank_target(
    n1: int,
    n2: int,
    r: int,
    kappa: float = 2.0,
    *,
    seed: int,
    singular_values=None,
) -> np.ndarray:
    """Random rank-``r`` matrix ``X = L diag(sigma) R^T`` of shape ``(n1, n2)``.

    ``L`` (n1 x r) and ``R`` (n2 x r) have Haar-random orthonormal columns. The singular
    values are :func:`linear_spectrum` ``(r, kappa)`` unless ``singular_values`` (length r,
    positive; sorted decreasingly here) is given, in which case ``kappa`` is ignored.
    """
    n1 = check.integer("n1", n1, minimum=1)
    n2 = check.integer("n2", n2, minimum=1)
    r = check.integer("r", r, minimum=1, maximum=min(n1, n2))
    if singular_values is None:
        sigma = linear_spectrum(r, kappa)
    else:
        sigma = check.array("singular_values", singular_values, ndim=1, shape=(r,))
        if np.any(sigma <= 0):
            raise ValueError("singular_values must all be > 0")
        sigma = np.sort(sigma)[::-1]
    rng = np.random.default_rng(check.seed("seed", seed))
    left = _orthonormal(rng, n1, r)
    right = _orthonormal(rng, n2, r)
    return (left * sigma) @ right.T


def _orthonormal(rng: np.random.Generator, n: int, r: int) -> np.ndarray:
    # QR of a Gaussian matrix with the sign fix makes the factor Haar distributed.
    q, rr = np.linalg.qr(rng.standard_normal((n, r)))
    return q * np.sign(np.diag(rr))
