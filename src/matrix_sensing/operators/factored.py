"""Measurement operators applied to the factors, for sizes where a dense (m, n1·n2) array
cannot exist.

Both operators satisfy E[A* A] = Id, the normalisation of :class:`~matrix_sensing.GaussianSensing`
(see ``book/setup.md``), so that step sizes and initialization scales carry over. Neither is the
Gaussian ensemble the paper analyses (rank-one measurements do not have the ℓ2 restricted
isometry property uniformly, and entry sampling needs incoherence), so their results are
engineering demonstrations, not checks of the paper's theorems.

* :class:`RankOneSensing`: ``A_i = m^{-1/2} a_i b_i^T`` with ``a_i ~ N(0, I_{n1})``,
  ``b_i ~ N(0, I_{n2})``; stores ``a`` (m, n1) and ``b`` (m, n2).
* :class:`EntrySampling` (matrix completion): ``A(Z)_i = sqrt(n1 n2 / m) Z[row_i, col_i]``;
  stores the index arrays only.

The solver (:func:`~matrix_sensing.factorized_gd`) uses only ``m``, ``shape`` and
``residual_and_gradients(U, V, y)``, which works on the factors: O(m k (n1 + n2)) time and
never an n1 x n2 array. ``__call__`` and ``adjoint`` work on dense matrices and are meant for
small sizes and tests.
"""

from __future__ import annotations

import numpy as np

from .. import _validation as check

# Rows of (a, b) handled per block in the fused pass: the block is read by the forward
# products and again by the adjoint products, and should still be in cache the second time.
# 256 kB also keeps each product (rows x n1 x k) below OpenBLAS's multithreading threshold for
# typical widths: on a loaded machine with few cores, threaded small GEMMs can be much slower
# than single-threaded ones (timings of the factored operators: ``benchmarks/README.md`` and
# ``book/performance.md``).
_BLOCK_BYTES = 1 << 18
# Measurements per chunk when gathering rows of U and V for entry sampling.
_CHUNK = 1 << 14


def _standard_normal(rng: np.random.Generator, shape: tuple[int, int], dtype) -> np.ndarray:
    out = np.empty(shape, dtype=dtype)
    rows = max(1, _BLOCK_BYTES // (8 * shape[1]))
    for start in range(0, shape[0], rows):
        out[start : start + rows] = rng.standard_normal((min(rows, shape[0] - start), shape[1]))
    return out


class RankOneSensing:
    """Rank-one Gaussian measurements ``A(Z)_i = m^{-1/2} a_i^T Z b_i``.

    Parameters
    ----------
    m : number of measurements (>= 1).
    shape : ``(n1, n2)``.
    seed : non-negative integer; the same seed gives the same operator, bit for bit.
    dtype : storage of ``a`` and ``b``, ``numpy.float64`` (default) or ``numpy.float32`` (the
        same draws rounded; half the memory, for float32 solves).

    ``a`` (m, n1) and ``b`` (m, n2) hold standard normal vectors and ``scale`` = m^{-1/2}, so
    that the entries of ``A_i = scale · a_i b_i^T`` have variance 1/m and E[A* A] = Id.
    Memory is m (n1 + n2) numbers; a solve in the other dtype makes a copy on first use and
    keeps it.
    """

    def __init__(self, m: int, shape: tuple[int, int], seed: int, *, dtype=np.float64):
        self.m = check.integer("m", m, minimum=1)
        self.shape = check.shape_pair(shape)
        check.entries("a", ("m", self.m), ("n1", self.shape[0]))
        check.entries("b", ("m", self.m), ("n2", self.shape[1]))
        dtype = check.float_dtype(dtype)
        rng = np.random.default_rng(check.seed("seed", seed))
        # Drawn in float64 row chunks (the same numbers as one draw) and stored as dtype, so
        # a float32 operator is the float64 one rounded, without a float64 copy in memory.
        self.a, self.b = (_standard_normal(rng, (self.m, n), dtype) for n in self.shape)
        for factor in (self.a, self.b):
            factor.setflags(write=False)
        self.scale = 1.0 / np.sqrt(self.m)
        self._copies: dict[np.dtype, tuple[np.ndarray, np.ndarray]] = {}

    @property
    def dtype(self) -> np.dtype:
        """The dtype ``a`` and ``b`` are stored in (``dtype=`` of the constructor)."""
        return self.a.dtype

    @property
    def nbytes(self) -> int:
        """Bytes held by the operator's arrays (including a cached copy in another dtype)."""
        arrays = [self.a, self.b, *(x for pair in self._copies.values() for x in pair)]
        return sum(x.nbytes for x in arrays)

    def _factors(self, dtype) -> tuple[np.ndarray, np.ndarray]:
        """``(a, b)`` in ``dtype``; a copy in the other dtype is made on first use and kept."""
        if dtype == self.a.dtype:
            return self.a, self.b
        if dtype not in self._copies:
            self._copies[dtype] = (self.a.astype(dtype), self.b.astype(dtype))
        return self._copies[dtype]

    def _blocks(self, dtype):
        a, b = self._factors(dtype)
        rows = max(1, _BLOCK_BYTES // (a.itemsize * (a.shape[1] + b.shape[1])))
        for start in range(0, self.m, rows):
            yield slice(start, start + rows), a[start : start + rows], b[start : start + rows]

    def __call__(self, Z) -> np.ndarray:
        """Forward map on a dense ``Z`` (n1, n2) -> (m,), or (B, n1, n2) -> (B, m)."""
        Z = check.array("Z", Z, ndim=(2, 3), shape=(None, *self.shape))
        # a_i^T Z b_i for all i at once: (a Z) has shape (m, n2) [or (B, m, n2)].
        return self.scale * np.einsum("...ij,ij->...i", self.a @ Z, self.b)

    def measure(self, L, R) -> np.ndarray:
        """``A(L R^T)`` (m,) from factors ``L`` (n1, r) and ``R`` (n2, r), in O(m r (n1+n2))."""
        L = check.array("L", L, ndim=2, shape=(self.shape[0], None))
        R = check.array("R", R, ndim=2, shape=(self.shape[1], L.shape[1]))
        out = np.empty(self.m)
        for rows, a, b in self._blocks(self.dtype):
            out[rows] = np.einsum("ij,ij->i", a @ L, b @ R)
        return self.scale * out

    def adjoint(self, z) -> np.ndarray:
        """Adjoint ``sum_i z_i A_i``: (m,) -> (n1, n2), or (B, m) -> (B, n1, n2).

        Forms a dense n1 x n2 matrix per run: for small sizes and tests only.
        """
        z = check.array("z", z, ndim=(1, 2), shape=(None, self.m))
        check.entries("A*(z)", ("n1", self.shape[0]), ("n2", self.shape[1]))
        return self.scale * ((self.a.T * z[..., None, :]) @ self.b)

    def forward_unchecked(self, Z: np.ndarray) -> np.ndarray:
        """``A(Z)`` (m,) for a dense ``Z`` (n1, n2), without input checks."""
        return self.scale * np.einsum("ij,ij->i", self.a @ Z, self.b)

    def adjoint_unchecked(self, z: np.ndarray) -> np.ndarray:
        """``A*(z)`` (n1, n2) for ``z`` (m,) as a dense matrix, without input checks."""
        return self.scale * ((self.a.T * z) @ self.b)

    def residual_and_gradients(self, U, V, y):
        """``(A(U V^T) - y, A*(r) V, A*(r)^T U)`` for U (n1, k) or (B, n1, k); unchecked.

        One pass over row blocks of (a, b): ``P = a U``, ``Q = b V`` give
        ``r_i = scale <P_i, Q_i> - y_i``, then ``A*(r) V = a^T (scale r ∘ Q)`` and
        ``A*(r)^T U = b^T (scale r ∘ P)`` while the block is still in cache. Every run of a
        batch goes through the same products on the cached block as a single run would, so
        batched results equal separate runs.
        """
        dtype = U.dtype
        batched = U.ndim == 3
        if not batched:
            U, V = U[None], V[None]
        y = np.asarray(y, dtype=dtype)
        residual = np.empty((U.shape[0], self.m), dtype=dtype)
        grad_U = np.zeros(U.shape, dtype=dtype)
        grad_V = np.zeros(V.shape, dtype=dtype)
        scale = dtype.type(self.scale)
        for rows, a, b in self._blocks(dtype):
            P, Q = a @ U, b @ V  # (B, rows, k)
            r = scale * np.einsum("bik,bik->bi", P, Q) - y[rows]
            residual[:, rows] = r
            weight = (scale * r)[:, :, None]
            grad_U += a.T @ (weight * Q)
            grad_V += b.T @ (weight * P)
        if not batched:
            return residual[0], grad_U[0], grad_V[0]
        return residual, grad_U, grad_V

    def __repr__(self) -> str:
        return f"{type(self).__name__}(m={self.m}, shape={self.shape})"


class EntrySampling:
    """Matrix completion: ``A(Z)_i = sqrt(n1 n2 / m) Z[row_i, col_i]``.

    Parameters
    ----------
    shape : ``(n1, n2)``.
    m : number of observed entries; give exactly one of ``m`` and ``fraction``.
    fraction : observed fraction p in (0, 1]; ``m = max(1, round(p n1 n2))``.
    seed : non-negative integer; the same seed gives the same operator, bit for bit.
    replace : False (default) samples m distinct entries uniformly (m <= n1 n2); True samples
        m entries independently and uniformly, so an entry may be observed more than once.

    Either way each observed entry is uniform on the n1 n2 positions, so
    ``scale = sqrt(n1 n2 / m)`` gives E[A* A] = Id. The measurements are ordered by
    (row, col); ``rows`` and ``cols`` (m,) are the only data stored (plus a row pointer).
    """

    def __init__(
        self,
        shape: tuple[int, int],
        m: int | None = None,
        *,
        fraction: float | None = None,
        seed: int,
        replace: bool = False,
    ):
        self.shape = check.shape_pair(shape)
        n1, n2 = self.shape
        # Only m indices and a row pointer are stored, but every use of the operator holds
        # factors (n1, k) and (n2, k).
        check.entries("a factor U (n1, k)", ("n1", n1))
        check.entries("a factor V (n2, k)", ("n2", n2))
        size = n1 * n2
        if (m is None) == (fraction is None):
            raise ValueError(
                f"give exactly one of m and fraction, got m={m!r}, fraction={fraction!r}"
            )
        if not isinstance(replace, bool):
            raise TypeError(f"replace must be True or False, got {replace!r}")
        if fraction is not None:
            fraction = check.real("fraction", fraction)
            if not 0 < fraction <= 1:
                raise ValueError(f"fraction must be > 0 and <= 1, got {fraction:g}")
            m = max(1, round(fraction * size))
        self.m = check.integer("m", m, minimum=1)
        check.entries("the sampled indices", ("m", self.m))
        if not replace and self.m > size:
            raise ValueError(
                f"m must be an integer >= 1 and <= n1*n2 = {size} without replacement "
                f"(replace=True allows more), got {self.m}"
            )
        self.replace = replace
        rng = np.random.default_rng(check.seed("seed", seed))
        if replace:
            flat = rng.integers(0, size, size=self.m)
        else:
            flat = rng.choice(size, size=self.m, replace=False)
        flat.sort()  # row-major order: gathers stream through U, and the CSR order is ours
        self.rows, self.cols = np.divmod(flat, n2)
        index = np.int32 if max(n1, n2, self.m) < 2**31 else np.int64
        self._indices = self.cols.astype(index)
        self._indptr = np.zeros(n1 + 1, dtype=index)
        np.cumsum(np.bincount(self.rows, minlength=n1), out=self._indptr[1:])
        for x in (self.rows, self.cols, self._indices, self._indptr):
            x.setflags(write=False)
        self.scale = float(np.sqrt(size / self.m))

    @property
    def nbytes(self) -> int:
        """Bytes held by the operator's index arrays."""
        return sum(x.nbytes for x in (self.rows, self.cols, self._indices, self._indptr))

    def _sampled(self, weights):
        """The n1 x n2 ``scipy.sparse.csr_array`` with ``weights[i]`` at (row_i, col_i)
        (repeats add up)."""
        import scipy.sparse as sparse  # on first use: it takes a tenth of a second to import

        return sparse.csr_array((weights, self._indices, self._indptr), shape=self.shape)

    def __call__(self, Z) -> np.ndarray:
        """Forward map on a dense ``Z`` (n1, n2) -> (m,), or (B, n1, n2) -> (B, m)."""
        Z = check.array("Z", Z, ndim=(2, 3), shape=(None, *self.shape))
        return self.scale * Z[..., self.rows, self.cols]

    def measure(self, L, R) -> np.ndarray:
        """``A(L R^T)`` (m,) from factors ``L`` (n1, r) and ``R`` (n2, r), in O(m r)."""
        L = check.array("L", L, ndim=2, shape=(self.shape[0], None))
        R = check.array("R", R, ndim=2, shape=(self.shape[1], L.shape[1]))
        return self.scale * self._rowdot(L, R)

    def _rowdot(self, U, V) -> np.ndarray:
        """``<U[row_i], V[col_i]>`` for every i, in chunks: the gathered rows stay in cache
        and the temporaries stay small (fresh multi-megabyte arrays on every iteration cost
        page faults). It gathers with np.take, which is faster than ``U[rows]`` fancy
        indexing."""
        out = np.empty(self.m, dtype=np.result_type(U, V))
        for start in range(0, self.m, _CHUNK):
            part = slice(start, start + _CHUNK)
            gathered_U = np.take(U, self.rows[part], axis=0)
            gathered_V = np.take(V, self.cols[part], axis=0)
            out[part] = np.einsum("ij,ij->i", gathered_U, gathered_V)
        return out

    def adjoint(self, z) -> np.ndarray:
        """Adjoint ``sum_i z_i A_i``: (m,) -> (n1, n2), or (B, m) -> (B, n1, n2).

        Forms a dense n1 x n2 matrix per run: for small sizes and tests only.
        """
        z = check.array("z", z, ndim=(1, 2), shape=(None, self.m))
        check.entries("A*(z)", ("n1", self.shape[0]), ("n2", self.shape[1]))
        if z.ndim == 2:
            return np.stack([self.adjoint(row) for row in z])
        return self._sampled(self.scale * z).toarray()

    def forward_unchecked(self, Z: np.ndarray) -> np.ndarray:
        """``A(Z)`` (m,) for a dense ``Z`` (n1, n2), without input checks."""
        return self.scale * Z[self.rows, self.cols]

    def adjoint_unchecked(self, z: np.ndarray) -> np.ndarray:
        """``A*(z)`` (n1, n2) as a dense matrix for ``z`` (m,), without input checks."""
        return self._sampled(self.scale * z).toarray()

    def residual_and_gradients(self, U, V, y):
        """``(A(U V^T) - y, A*(r) V, A*(r)^T U)`` for U (n1, k) or (B, n1, k); unchecked.

        O(m k) time and memory: the residual from gathered rows of U and V, the gradients
        as sparse (scipy CSR, deterministic) times dense products. Runs of a batch are
        handled one after the other (the operator is only index arrays, so there is no
        large array to share a pass over).
        """
        if U.ndim == 3:
            parts = [self.residual_and_gradients(u, v, y) for u, v in zip(U, V, strict=True)]
            return tuple(np.stack(x) for x in zip(*parts, strict=True))
        dtype = U.dtype
        scale = dtype.type(self.scale)
        residual = scale * self._rowdot(U, V) - np.asarray(y, dtype=dtype)
        S = self._sampled(scale * residual)  # A*(residual), sparse
        return residual, S @ V, S.T @ U

    def __repr__(self) -> str:
        return f"{type(self).__name__}(m={self.m}, shape={self.shape}, replace={self.replace})"
