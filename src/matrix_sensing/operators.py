"""Linear measurement operators A: R^{n1 x n2} -> R^m.

``A(Z)_i = <A_i, Z>`` and its adjoint ``A*(z) = sum_i z_i A_i``. The Gaussian ensemble has
i.i.d. N(0, 1/m) entries, so that E[A* A] = Id (the convention of the paper digest, §2).
"""

from __future__ import annotations

import numpy as np

from . import _validation as check


class GaussianSensing:
    """Dense Gaussian measurement operator, the ``A`` of the paper.

    Parameters
    ----------
    m : number of measurements (>= 1).
    shape : ``(n1, n2)``, the shape of the matrices measured.
    seed : non-negative integer; the same seed gives the same operator, bit for bit.

    The measurement matrices are stored flattened as an ``(m, n1*n2)`` C-contiguous array
    (:attr:`matrix`), so that the forward map is one matrix-vector product.
    """

    def __init__(self, m: int, shape: tuple[int, int], seed: int):
        m = check.integer("m", m, minimum=1)
        n1, n2 = _shape(shape)
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

    # Unchecked fast paths for the solver, which validated its inputs once up front.
    def _forward(self, Z: np.ndarray) -> np.ndarray:
        return self.matrix @ Z.reshape(-1)

    def _adjoint(self, z: np.ndarray) -> np.ndarray:
        return (z @ self.matrix).reshape(self.shape)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(m={self.m}, shape={self.shape})"


def _shape(shape) -> tuple[int, int]:
    try:
        n1, n2 = shape
    except (TypeError, ValueError):
        raise ValueError(f"shape must be a pair (n1, n2), got {shape!r}") from None
    return check.integer("n1", n1, minimum=1), check.integer("n2", n2, minimum=1)
