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
    check.entries("the spectrum", ("r", r))
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
    kappa = check.real("kappa", kappa, minimum=1.0)  # checked even when singular_values rule
    check.entries("X", ("n1", n1), ("n2", n2))
    sigma = _spectrum("singular_values", singular_values, r, kappa)
    rng = np.random.default_rng(check.seed("seed", seed))
    left = _orthonormal(rng, n1, r)
    right = _orthonormal(rng, n2, r)
    return (left * sigma) @ right.T


def _orthonormal(rng: np.random.Generator, n: int, r: int) -> np.ndarray:
    # QR of a Gaussian matrix with the sign fix makes the factor Haar distributed.
    q, rr = np.linalg.qr(rng.standard_normal((n, r)))
    return q * np.sign(np.diag(rr))


def psd_target(
    n: int,
    r: int,
    kappa: float = 2.0,
    *,
    seed: int,
    eigenvalues=None,
    return_basis: bool = False,
):
    """Random positive semidefinite rank-``r`` matrix ``X = Q diag(λ) Q^T`` of shape ``(n, n)``.

    ``Q`` (n x r) has Haar-random orthonormal columns. The eigenvalues ``λ`` are
    :func:`linear_spectrum` ``(r, kappa)`` (so ``||X|| = 1``) unless ``eigenvalues`` (length
    r, positive; sorted decreasingly here) is given, in which case ``kappa`` is ignored. The
    result is exactly symmetric. With ``return_basis=True`` returns ``(X, Q)``.
    """
    n = check.integer("n", n, minimum=1)
    r = check.integer("r", r, minimum=1, maximum=n)
    kappa = check.real("kappa", kappa, minimum=1.0)  # checked even when eigenvalues rule
    check.entries("X", ("n", n), ("n", n))
    lam = _spectrum("eigenvalues", eigenvalues, r, kappa)
    basis = _orthonormal(np.random.default_rng(check.seed("seed", seed)), n, r)
    X = (basis * lam) @ basis.T
    X = 0.5 * (X + X.T)  # exactly symmetric
    return (X, basis) if return_basis else X


def _spectrum(name: str, values, r: int, kappa: float) -> np.ndarray:
    """The r positive values given as ``name`` (sorted decreasingly), or
    :func:`linear_spectrum` ``(r, kappa)`` when they are None."""
    if values is None:
        return linear_spectrum(r, kappa)
    values = check.array(name, values, ndim=1, shape=(r,))
    if np.any(values <= 0):
        raise ValueError(f"{name} must all be > 0")
    return np.sort(values)[::-1]
