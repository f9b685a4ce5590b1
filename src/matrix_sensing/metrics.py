"""The quantities the theory talks about: errors, imbalance, angles, spectra."""

from __future__ import annotations

import numpy as np
import scipy.linalg

from . import _validation as check

_NORMS = {"fro": "fro", "op": 2}


def relative_error(estimate, truth, norm: str = "fro") -> float:
    """``||estimate - truth|| / ||truth||`` in the Frobenius (``"fro"``) or operator
    (``"op"``) norm. Both arrays ``(n1, n2)``; ``truth`` must be non-zero."""
    check.choice("norm", norm, _NORMS)
    truth = check.array("truth", truth, ndim=2)
    estimate = check.array("estimate", estimate, ndim=2, shape=truth.shape)
    scale = np.linalg.norm(truth, _NORMS[norm])
    if scale == 0:
        raise ValueError("truth must be a non-zero matrix for a relative error")
    return float(np.linalg.norm(estimate - truth, _NORMS[norm]) / scale)


def test_error(U, V, truth, norm: str = "fro") -> float:
    """Relative test (generalization) error ``||U V^T - X|| / ||X||``.

    ``U``: (n1, k), ``V``: (n2, k), ``truth`` X: (n1, n2).
    """
    U, V = _factors(U, V)
    return relative_error(U @ V.T, truth, norm)


test_error.__test__ = False  # not a pytest test despite its name


def train_loss(op, y, U, V) -> float:
    """Training loss ``f(U, V) = 1/2 ||A(U V^T) - y||^2``; ``y``: (m,)."""
    U, V = _factors(U, V)
    y = check.array("y", y, ndim=1, shape=(op.m,))
    residual = op(U @ V.T) - y
    return 0.5 * float(residual @ residual)


def imbalance(U, V) -> np.ndarray:
    """The imbalance matrix ``Δ = U^T U - V^T V`` (k x k)."""
    U, V = _factors(U, V)
    return U.T @ U - V.T @ V


def imbalance_norm(U, V, norm: str = "op") -> float:
    """``||U^T U - V^T V||`` in the operator (default) or Frobenius norm."""
    check.choice("norm", norm, _NORMS)
    return float(np.linalg.norm(imbalance(U, V), _NORMS[norm]))


def singular_values(M) -> np.ndarray:
    """Singular values of ``M`` in decreasing order."""
    return np.linalg.svd(check.array("M", M, ndim=2), compute_uv=False)


def top_singular_subspaces(M, r: int) -> tuple[np.ndarray, np.ndarray]:
    """Orthonormal bases ``(L, R)`` of the top-``r`` left and right singular subspaces of
    ``M`` (n1 x n2): ``L`` is (n1, r), ``R`` is (n2, r)."""
    M = check.array("M", M, ndim=2)
    r = check.integer("r", r, minimum=1, maximum=min(M.shape))
    left, _, right_t = np.linalg.svd(M, full_matrices=False)
    return left[:, :r], right_t[:r].T


def principal_angles(A, B) -> np.ndarray:
    """Principal angles (radians, decreasing) between the column spans of ``A`` (n, p) and
    ``B`` (n, q); a thin wrapper over :func:`scipy.linalg.subspace_angles`."""
    A = check.array("A", A, ndim=2)
    B = check.array("B", B, ndim=2, shape=(A.shape[0], None))
    return scipy.linalg.subspace_angles(A, B)


def subspace_distance(A, B) -> float:
    """Sine of the largest principal angle between ``span(A)`` and ``span(B)`` (0 = equal
    subspaces, 1 = some direction orthogonal)."""
    return float(np.sin(principal_angles(A, B).max()))


def effective_rank(M) -> float:
    """Entropy effective rank ``exp(H(p))`` with ``p = σ / Σσ`` (Roy & Vetterli, 2007).

    Equals the rank for a matrix with equal non-zero singular values; 1 <= value <=
    min(n1, n2). ``M`` must be non-zero.
    """
    sigma = singular_values(M)
    total = sigma.sum()
    if total == 0:
        raise ValueError("M must be non-zero for an effective rank")
    p = sigma[sigma > 0] / total
    return float(np.exp(-(p * np.log(p)).sum()))


def _factors(U, V) -> tuple[np.ndarray, np.ndarray]:
    U = check.array("U", U, ndim=2)
    V = check.array("V", V, ndim=2, shape=(None, U.shape[1]))
    return U, V
