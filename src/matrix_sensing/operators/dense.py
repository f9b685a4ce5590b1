"""Dense linear measurement operators A: R^{n1 x n2} -> R^m.

``A(Z)_i = <A_i, Z>`` and its adjoint ``A*(z) = sum_i z_i A_i``. The Gaussian ensemble has
i.i.d. N(0, 1/m) entries, so that E[A* A] = Id (see ``book/setup.md``, "Measurements").

Gradient descent needs, per iteration, the residual ``r = A(U V^T) - y`` and
``A*(r)``. Done one after the other these read the (m, n1*n2) array twice, and an iteration
on a large operator is bound by memory traffic.
:meth:`GaussianSensing.residual_and_gradients` fuses them: for one run a compiled kernel
(``matrix_sensing.operators.kernels``) reads each row of A once from memory and uses it
twice while it is in cache; for a stack of runs, another reads each row once for the whole
stack.
"""

from __future__ import annotations

import numpy as np

from .. import _validation as check
from .compiled import CompiledRuns
from .protocol import TwoPassGradients

__all__ = ["GaussianSensing", "IdentitySensing"]


class GaussianSensing:
    """Dense Gaussian measurement operator, the ``A`` of the paper.

    Parameters
    ----------
    m : number of measurements (>= 1).
    shape : ``(n1, n2)``, the shape of the matrices measured.
    seed : non-negative integer; the same seed gives the same operator, bit for bit.

    The measurement matrices are stored flattened as an ``(m, n1*n2)`` C-contiguous array
    (``matrix``), so that the forward map is one matrix-vector product. Nothing here
    copies it (gradient descent in float64 allocates nothing of its size); gradient descent
    in float32 keeps a float32 copy, or use :meth:`astype` to hold only that.
    """

    def __init__(self, m: int, shape: tuple[int, int], seed: int):
        m = check.integer("m", m, minimum=1)
        n1, n2 = check.shape_pair(shape)
        check.entries("the measurement matrices", ("m", m), ("n1", n1), ("n2", n2))
        rng = np.random.default_rng(check.seed("seed", seed))
        matrix = rng.standard_normal((m, n1 * n2))
        matrix *= 1.0 / np.sqrt(m)
        self._init(matrix, (n1, n2))

    @classmethod
    def from_array(cls, A) -> GaussianSensing:
        """Wrap (a copy of) a given ``(m, n1, n2)`` array as is: ``op(Z)[i] == sum(A[i] * Z)``."""
        A = np.array(check.array("A", A, ndim=3), copy=True)  # the caller keeps their array
        if min(A.shape) < 1:
            raise ValueError(f"A must have shape (m, n1, n2) with every size >= 1, got {A.shape}")
        op = cls.__new__(cls)
        op._init(np.ascontiguousarray(A.reshape(A.shape[0], -1)), A.shape[1:])
        return op

    def _init(self, matrix: np.ndarray, shape: tuple[int, int]) -> None:
        self.matrix = matrix
        self.matrix.setflags(write=False)
        self.shape = (int(shape[0]), int(shape[1]))
        self.m = int(matrix.shape[0])
        self._copies: dict[np.dtype, np.ndarray] = {}

    def astype(self, dtype) -> GaussianSensing:
        """The same operator with its measurement array stored as ``dtype`` (float64 or
        float32); ``self`` if it already is. A float32 operator holds half the memory; its
        forward and adjoint maps round ``A`` to float32 (about 6e-8 relative)."""
        dtype = check.float_dtype(dtype)
        if dtype == self.matrix.dtype:
            return self
        op = type(self).__new__(type(self))
        op._init(self.matrix.astype(dtype), self.shape)
        return op

    def matrix_as(self, dtype) -> np.ndarray:
        """``matrix`` (m, n1*n2) in ``dtype`` (float64 or float32): the array itself when
        the dtypes agree (no copy), else a copy made on first use and kept (a float64
        operator asked for float32 keeps a float32 copy, half the size of A, for as long as
        the operator lives)."""
        dtype = check.float_dtype(dtype)
        if dtype == self.matrix.dtype:
            return self.matrix
        if dtype not in self._copies:
            copy = self.matrix.astype(dtype)
            copy.setflags(write=False)
            self._copies[dtype] = copy
        return self._copies[dtype]

    @property
    def array(self) -> np.ndarray:
        """The measurement matrices as an ``(m, n1, n2)`` read-only view."""
        return self.matrix.reshape(self.m, *self.shape)

    def __call__(self, Z) -> np.ndarray:
        """Forward map: ``Z`` (n1, n2) -> (m,), or a stack (B, n1, n2) -> (B, m)."""
        Z = check.array("Z", Z, ndim=(2, 3), shape=(None, *self.shape))
        if Z.ndim == 2:
            return self.matrix @ Z.reshape(-1)
        return Z.reshape(Z.shape[0], -1) @ self.matrix.T

    def adjoint(self, z) -> np.ndarray:
        """Adjoint map. ``z``: ``(m,)`` -> ``(n1, n2)``, or ``(B, m)`` -> ``(B, n1, n2)``."""
        z = check.array("z", z, ndim=(1, 2), shape=(None, self.m))
        if z.ndim == 1:
            return (z @ self.matrix).reshape(self.shape)
        return (z @ self.matrix).reshape(z.shape[0], *self.shape)

    def forward_unchecked(self, Z: np.ndarray) -> np.ndarray:
        """``A(Z)`` (m,) for ``Z`` (n1, n2), without input checks (for solvers)."""
        return self.matrix @ Z.reshape(-1)

    def adjoint_unchecked(self, z: np.ndarray) -> np.ndarray:
        """``A*(z)`` (n1, n2) for ``z`` (m,), without input checks (for solvers)."""
        return (z @ self.matrix).reshape(self.shape)

    def residual_and_gradients(self, U: np.ndarray, V: np.ndarray, y: np.ndarray):
        """Residual and loss gradients in one pass over A.

        ``U`` (n1, k) and ``V`` (n2, k), or stacks (B, n1, k) and (B, n2, k); ``y`` (m,).
        Returns ``r = A(U V^T) - y`` ((m,) or (B, m)), ``A*(r) V`` and ``A*(r)^T U`` (shapes
        of U and V), computed in ``U.dtype``. Unchecked: the caller validated the shapes.

        One run (or fewer than ``compiled.BATCH_MIN_RUNS``) goes through
        ``kernels.fused_residual_adjoint``, which forms ``r = A x - y`` and
        ``G = A^T r`` for ``x = vec(U V^T)`` in one pass over A; a stack through
        ``kernels.fused_residual_adjoint_batch``, which reads A once for all runs (padded
        with zero runs to its 4x4 tiles). Nothing of the size of A is allocated.
        """
        single = U.ndim == 2
        if single:
            U, V = U[None], V[None]
        runs = CompiledRuns(self.matrix_as(U.dtype), y, U, V, np.zeros(U.shape[0]), self.shape)
        residual, grad_U, grad_V = runs.gradients()
        return (residual[0], grad_U[0], grad_V[0]) if single else (residual, grad_U, grad_V)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(m={self.m}, shape={self.shape})"


class IdentitySensing(TwoPassGradients):
    """The identity as a measurement operator on ``(n1, n2)`` matrices: ``A(Z) = vec(Z)``
    (row-major, ``m = n1 n2``), ``A*(z) = z`` reshaped. With ``y = vec(M)`` the sensing loss
    ``1/2 ||A(U V^T) - y||^2`` is the factorization loss ``1/2 ||U V^T - M||_F^2``."""

    def __init__(self, shape: tuple[int, int]):
        self.shape = check.shape_pair(shape)
        self.m = self.shape[0] * self.shape[1]

    def __call__(self, Z) -> np.ndarray:
        """``vec(Z)`` for ``Z`` (n1, n2)."""
        return check.array("Z", Z, ndim=2, shape=self.shape).reshape(-1).copy()

    def adjoint(self, z) -> np.ndarray:
        """``z`` (m,) reshaped to (n1, n2)."""
        return check.array("z", z, ndim=1, shape=(self.m,)).reshape(self.shape).copy()

    def forward_unchecked(self, Z: np.ndarray) -> np.ndarray:
        """``vec(Z)`` (m,), without input checks (for solvers)."""
        return Z.reshape(-1)

    def adjoint_unchecked(self, z: np.ndarray) -> np.ndarray:
        """``z`` reshaped to (n1, n2), without input checks (for solvers)."""
        return z.reshape(self.shape)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(shape={self.shape})"
