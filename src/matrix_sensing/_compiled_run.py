"""One run of gradient descent on a dense operator, every iteration in compiled code.

The solver's fast path for a single run (:func:`matrix_sensing.factorized_gd` uses it
through ``GaussianSensing._compiled_run``): between two recorded iterations no Python
runs. Same iterates as the Python loop up to rounding (the small products are summed in
another order; the update ``U - μ grad_U`` rounds the same way).
"""

from __future__ import annotations

import numpy as np


class CompiledRun:
    """State of one run at iteration t: ``U`` (n1, k), ``V`` (n2, k) in the dtype of ``A``
    (m, n1*n2), and ``loss`` = f(U, V) (float), with the gradients at (U, V) held for the
    next step."""

    def __init__(self, A: np.ndarray, y: np.ndarray, U, V, step: float, shape):
        from . import _kernels  # numba: imported on first use

        dtype = A.dtype
        self._kernels = _kernels
        self.A, self.y = A, np.ascontiguousarray(y, dtype=dtype)
        self.U = np.array(U, dtype=dtype, order="C")
        self.V = np.array(V, dtype=dtype, order="C")
        self.step = dtype.type(step)
        self._buffers = (
            np.empty(shape, dtype=dtype),  # X = U V^T
            np.empty(A.shape[0], dtype=dtype),  # residual
            np.empty(shape, dtype=dtype),  # G = A*(residual)
            np.empty_like(self.U),  # grad_U
            np.empty_like(self.V),  # grad_V
        )
        self.loss = float(_kernels.gd_evaluate(self.A, self.y, self.U, self.V, *self._buffers))

    def advance(self, count: int, bound: float) -> int:
        """Take up to ``count`` steps; stop after the first whose loss is not ``<= bound``
        (or not finite). Returns the number of steps taken."""
        done, loss = self._kernels.gd_advance(
            self.A, self.y, self.U, self.V, self.step, count, float(bound), *self._buffers
        )
        self.loss = float(loss)
        return int(done)
