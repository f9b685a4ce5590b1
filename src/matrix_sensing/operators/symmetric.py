"""The symmetric Gaussian measurement operator of the precursor (Stöger & Soltanolkotabi,
NeurIPS 2021): symmetric measurement matrices ``A_i = (G_i + G_i^T)/2`` on n x n matrices
(see ``book/setup.md``, "Symmetric variant")."""

from __future__ import annotations

import numpy as np

from .. import _validation as check
from .protocol import TwoPassGradients

__all__ = ["SymmetricGaussianSensing"]


class SymmetricGaussianSensing(TwoPassGradients):
    """Symmetric Gaussian measurement operator ``A(Z)_i = <A_i, Z>`` on n x n matrices.

    Parameters
    ----------
    m : number of measurements (>= 1).
    n : the matrices measured are ``(n, n)``.
    seed : non-negative integer; the same seed gives the same operator, bit for bit.

    ``A_i = (G_i + G_i^T)/2`` with ``G_i`` i.i.d. N(0, 1/m) entries (see ``book/setup.md``,
    "Symmetric variant"), so that ``A*(y) = sum_i y_i A_i`` is symmetric. Since every
    ``A_i`` is symmetric only its upper triangle is stored, as the ``(m, n(n+1)/2)`` array
    ``packed`` (entries ``(j, l)`` with ``j <= l`` in :func:`numpy.triu_indices` order): the
    forward and adjoint maps then cost about half of a dense ``(m, n^2)`` product. ``weights``
    (p,) is 1 on the diagonal and 2 above it and ``weighted = packed * weights``, so that
    ``A(Z) = weighted @ pack(Z)`` for a symmetric ``Z`` (``p = n(n+1)/2``). For any
    (not necessarily symmetric) ``Z``, ``A(Z)_i = <A_i, (Z + Z^T)/2>``.
    """

    def __init__(self, m: int, n: int, seed: int):
        m = check.integer("m", m, minimum=1)
        n = check.integer("n", n, minimum=1)
        check.entries("the measurement matrices", ("m", m), ("n", n), ("n", n))
        rng = np.random.default_rng(check.seed("seed", seed))
        G = rng.standard_normal((m, n, n))
        G *= 1.0 / np.sqrt(m)
        self._init(0.5 * (G + G.transpose(0, 2, 1)))

    @classmethod
    def from_array(cls, A) -> SymmetricGaussianSensing:
        """Wrap a given ``(m, n, n)`` array of symmetric matrices: ``op(Z)[i] == sum(A[i] * Z)``.

        Each ``A[i]`` must be symmetric (to 1e-12 relative); it is stored symmetrized.
        """
        A = check.array("A", A, ndim=3)
        if min(A.shape) < 1 or A.shape[1] != A.shape[2]:
            raise ValueError(f"A must have shape (m, n, n) with every size >= 1, got {A.shape}")
        transposed = A.transpose(0, 2, 1)
        if np.max(np.abs(A - transposed)) > 1e-12 * max(np.max(np.abs(A)), 1e-300):
            raise ValueError("A must hold symmetric matrices: A[i] == A[i].T for every i")
        op = cls.__new__(cls)
        op._init(0.5 * (A + transposed))
        return op

    def _init(self, A: np.ndarray) -> None:
        m, n = A.shape[0], A.shape[1]
        rows, cols = np.triu_indices(n)
        self.packed = np.ascontiguousarray(A[:, rows, cols])
        self.packed.setflags(write=False)
        self.shape = (int(n), int(n))
        self.n = int(n)
        self.m = int(m)
        # Flat positions of the upper triangle in an (n, n) array, and for every flat
        # position (j, l) the packed index of (min(j, l), max(j, l)).
        self._upper = rows * n + cols
        position = np.empty((n, n), dtype=np.intp)
        position[rows, cols] = np.arange(rows.size)
        position[cols, rows] = np.arange(rows.size)
        self._from_packed = position.reshape(-1)
        # <A_i, Z> for symmetric Z is sum over j <= l of A_i[j, l] Z[j, l] times 1 (j == l)
        # or 2 (j < l): the weighted rows below, so that A(Z) = weighted @ Z[triu].
        self.weights = np.where(rows == cols, 1.0, 2.0)
        self.weighted = self.packed * self.weights
        self.weights.setflags(write=False)
        self.weighted.setflags(write=False)
        self._gram_cache = None

    @property
    def array(self) -> np.ndarray:
        """The measurement matrices ``A_i`` as a new ``(m, n, n)`` array."""
        return self.unpack(self.packed)

    @property
    def matrix(self) -> np.ndarray:
        """The measurement matrices flattened, a new ``(m, n*n)`` array (as
        ``GaussianSensing.matrix``): ``op(Z) == matrix @ Z.reshape(-1)``."""
        return self.array.reshape(self.m, -1)

    def __call__(self, Z) -> np.ndarray:
        """Forward map: ``Z`` (n, n) -> (m,), or a stack (B, n, n) -> (B, m)."""
        Z = check.array("Z", Z, ndim=(2, 3), shape=(None, *self.shape))
        if Z.ndim == 2:
            return self.forward_unchecked(Z)
        symmetric = 0.5 * (Z + Z.transpose(0, 2, 1))
        return symmetric.reshape(Z.shape[0], -1)[:, self._upper] @ self.weighted.T

    def adjoint(self, z) -> np.ndarray:
        """Adjoint map ``A*(z) = sum_i z_i A_i`` (symmetric). ``z``: ``(m,)`` -> ``(n, n)``, or
        ``(B, m)`` -> ``(B, n, n)``."""
        z = check.array("z", z, ndim=(1, 2), shape=(None, self.m))
        if z.ndim == 1:
            return self.adjoint_unchecked(z)
        return self.unpack(z @ self.packed)

    def forward_unchecked(self, Z: np.ndarray) -> np.ndarray:
        """``A(Z)`` (m,) for ``Z`` (n, n), without input checks (for solvers)."""
        return self.weighted @ self.pack(0.5 * (Z + Z.T))

    def adjoint_unchecked(self, z: np.ndarray) -> np.ndarray:
        """``A*(z)`` (n, n) for ``z`` (m,), without input checks (for solvers)."""
        return self.unpack(z @ self.packed)

    def pack(self, Z: np.ndarray) -> np.ndarray:
        """The upper triangle (p,) of a symmetric (n, n) matrix, p = n(n+1)/2."""
        return Z.reshape(-1).take(self._upper)

    def unpack(self, packed: np.ndarray) -> np.ndarray:
        """The symmetric (..., n, n) matrices whose upper triangles are ``packed`` (..., p)."""
        return packed.take(self._from_packed, axis=-1).reshape(*packed.shape[:-1], *self.shape)

    @property
    def gram(self) -> np.ndarray:
        """``H = P^T P W`` (p, p) with ``P`` = ``packed``, ``W`` = diag(weights): for a
        symmetric ``Z``, ``pack(A*(A(Z))) = H @ pack(Z)``. Computed once, on first use."""
        if self._gram_cache is None:
            self._gram_cache = self.packed.T @ self.weighted
            self._gram_cache.setflags(write=False)
        return self._gram_cache

    def __repr__(self) -> str:
        return f"{type(self).__name__}(m={self.m}, n={self.n})"
