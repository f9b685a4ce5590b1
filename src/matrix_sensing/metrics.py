"""The quantities the theory talks about: errors, imbalance, angles, spectra."""

from __future__ import annotations

import numpy as np
import scipy.linalg

from . import _validation as check
from .operators import check_operator

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
    truth = check.array("truth", truth, ndim=2, shape=(U.shape[0], V.shape[0]))
    return relative_error(U @ V.T, truth, norm)


test_error.__test__ = False  # not a pytest test despite its name


def train_loss(op, y, U, V) -> float:
    """Training loss ``f(U, V) = 1/2 ||A(U V^T) - y||^2`` for an operator ``op`` of shape
    (n1, n2) with m measurements; ``y``: (m,), ``U``: (n1, k), ``V``: (n2, k)."""
    check_operator(op)
    U = check.array("U", U, ndim=2, shape=(op.shape[0], None))
    V = check.array("V", V, ndim=2, shape=(op.shape[1], U.shape[1]))
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


def subspace_distance(A, B, *, orthonormal: bool = False) -> float:
    """Sine of the largest principal angle between ``span(A)`` and ``span(B)`` (0 = equal
    subspaces, 1 = some direction orthogonal); ``A`` (n, p), ``B`` (n, q).

    By default from :func:`principal_angles` (:func:`scipy.linalg.subspace_angles`, which
    re-orthonormalizes both inputs). ``orthonormal=True`` promises orthonormal columns and
    ``p >= q`` and computes ``||B - A A^T B||`` instead, a fraction of the cost (for
    recording angles at every iteration); it agrees with the default to rounding error.
    """
    if not orthonormal:
        return float(np.sin(principal_angles(A, B).max()))
    A = check.array("A", A, ndim=2)
    B = check.array("B", B, ndim=2, shape=(A.shape[0], None))
    if B.shape[1] > A.shape[1]:
        raise ValueError(f"orthonormal=True needs p >= q, got A {A.shape} and B {B.shape}")
    residual = B - A @ (A.T @ B)
    # The largest singular value of the (n, q) residual, from its small q x q Gram matrix
    # (no cancellation: the residual itself is formed first).
    return float(np.sqrt(max(np.linalg.eigvalsh(residual.T @ residual)[-1], 0.0)))


def top_subspace_sine(M, basis) -> float:
    """Sine of the largest principal angle between the top-``r`` left singular subspace of
    ``M`` (n, k) (for ``M = U``: the top-``r`` eigenspace of ``U U^T``) and ``span(basis)``
    (n, r)."""
    M = check.array("M", M, ndim=2)
    basis = check.array("basis", basis, ndim=2, shape=(M.shape[0], None))
    left, _ = top_singular_subspaces(M, basis.shape[1])
    return subspace_distance(left, basis)


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


def nuclear_norm(M) -> float:
    """``||M||_*``, the sum of the singular values."""
    return float(singular_values(M).sum())


def singular_value_ratio(M, r: int) -> float:
    """``σ_{r+1}(M) / σ_r(M)``: 0 for an exactly rank-r matrix (the "gap" after rank r)."""
    sigma = singular_values(M)
    r = check.integer("r", r, minimum=1, maximum=len(sigma) - 1)
    if sigma[r - 1] == 0:
        raise ValueError(f"σ_r(M) is zero: M has rank < r={r}")
    return float(sigma[r] / sigma[r - 1])


def local_linear_rate(iterations, values, start: int, stop: int) -> float:
    """Per-iteration contraction factor ``ρ`` of ``values ≈ c ρ^t`` over ``start <= t < stop``,
    from the slope of ``ln(values)`` (least squares, :func:`scipy.stats.linregress`).

    ``ρ < 1`` means linear convergence; ``1 - ρ`` is the rate."""
    iterations = check.array("iterations", iterations, ndim=1)
    values = check.array("values", values, ndim=1, shape=iterations.shape)
    start, stop = check.real("start", start), check.real("stop", stop)
    window = (iterations >= start) & (iterations < stop)
    if window.sum() < 2:
        raise ValueError(f"the window [{start:g}, {stop:g}) holds fewer than 2 recorded iterations")
    if np.any(values[window] <= 0):
        raise ValueError("values must be > 0 in the window to take logarithms")
    from scipy.stats import linregress  # on first use: it takes half a second to import

    fit = linregress(iterations[window], np.log(values[window]))
    return float(np.exp(fit.slope))


def first_crossing(iterations, values, level: float) -> int | None:
    """The first recorded iteration at which ``values`` is below ``level`` (None if never)."""
    iterations = check.array("iterations", iterations, ndim=1)
    values = check.array("values", values, ndim=1, shape=iterations.shape)
    level = check.real("level", level)
    below = np.flatnonzero(values < level)
    return int(iterations[below[0]]) if below.size else None


def first_rise(iterations, values, level: float) -> int | None:
    """The first recorded iteration at which ``values`` is at or above ``level`` (None if
    never); e.g. the time an eigenvalue of ``U_t U_t^T`` is learned."""
    iterations = check.array("iterations", iterations, ndim=1)
    values = check.array("values", values, ndim=1, shape=iterations.shape)
    level = check.real("level", level)
    above = np.flatnonzero(values >= level)
    return int(iterations[above[0]]) if above.size else None
