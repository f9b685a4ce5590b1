"""Gradient descent on a dense operator with every iteration in compiled code.

The fast path of :func:`matrix_sensing.factorized_gd` on a
:class:`~matrix_sensing.GaussianSensing` operator, and the fused evaluation of the operator's
:meth:`~matrix_sensing.GaussianSensing.residual_and_gradients`: between two recorded
iterations no Python runs. One run (or fewer than :data:`BATCH_MIN_RUNS`) goes through the
single-run kernel, a batch through the batch kernel. Same iterates as the Python loop up to
rounding (the small products are summed in another order; the update ``U - μ grad_U``
rounds the same way).
"""

from __future__ import annotations

import numpy as np

# A batch of fewer runs than this is run as a loop of single runs. From two runs on, the
# batch kernel, which reads A once per iteration for the whole batch, beats a loop that reads
# it once per run; a single run pays for the batch kernel's padding to a multiple of four
# (as does B = 3). Timings of batches: ``benchmarks/README.md`` and ``book/performance.md``.
BATCH_MIN_RUNS = 2


class CompiledRuns:
    """State of B runs at iteration t: ``losses`` (B,) float64 = f(U_b, V_b); ``U``
    (B, n1, k) and ``V`` (B, n2, k) are copies of the factors, in the dtype of ``A``
    (m, n1*n2); the gradients at (U, V) are held for the next step. With ``truth`` (n1, n2)
    the recorded history has the test error ``||U_b V_b^T - truth||_F / ||truth||_F``."""

    #: The history entries :meth:`record` and :meth:`advance_recording` compute.
    ENTRIES = ("train_loss", "imbalance", "test_error")

    def __init__(self, A: np.ndarray, y: np.ndarray, U, V, steps, shape, truth=None):
        from . import kernels  # numba: imported on first use

        dtype = A.dtype
        self._kernels = kernels
        self._A, self._y = A, np.ascontiguousarray(y, dtype=dtype)
        self._U = np.array(U, dtype=dtype, order="C")
        self._V = np.array(V, dtype=dtype, order="C")
        self._steps = np.asarray(steps, dtype=dtype)
        batch = self._U.shape[0]
        self._one_by_one = batch < BATCH_MIN_RUNS
        padded = batch if self._one_by_one else -(-batch // 4) * 4  # 4-run tiles
        self._buffers = (
            np.zeros((padded, *shape), dtype=dtype),  # X_b = U_b V_b^T; padded runs stay 0
            np.empty((padded, A.shape[0]), dtype=dtype),  # residuals
            np.empty((padded, *shape), dtype=dtype),  # G_b = A*(residual_b)
            np.empty_like(self._U),  # grad_U
            np.empty_like(self._V),  # grad_V
        )
        self.losses = np.empty(batch)
        k = self._U.shape[2]
        self._truth = np.zeros((0, 0)) if truth is None else np.array(truth, dtype=np.float64)
        self._work = np.zeros((6, k))  # see kernels.gd_record
        self._work[0, 0] = np.linalg.norm(self._truth) if truth is not None else 1.0
        self._no_history = self._history(0, 0, 0, ())
        kernels.gd_evaluate(
            self._A, self._y, self._U, self._V, *self._buffers, self.losses, self._one_by_one
        )

    # Copies: the factors are updated in place, and a metric may keep what it was given.
    @property
    def U(self) -> np.ndarray:
        return self._U.copy()

    @property
    def V(self) -> np.ndarray:
        return self._V.copy()

    def gradients(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """At the current point: residuals (B, m) and the gradients ``A*(r_b) V_b`` (B, n1, k)
        and ``A*(r_b)^T U_b`` (B, n2, k); the run's own buffers, valid until it advances."""
        _, residuals, _, grad_U, grad_V = self._buffers
        return residuals[: len(self.losses)], grad_U, grad_V

    def advance(self, count: int, bounds: np.ndarray) -> int:
        """Take up to ``count`` steps; stop after the first at which a run's loss is not
        ``<= bounds[b]`` (or not finite). Returns the number of steps taken."""
        return self._advance(count, bounds, self._no_history)[0]

    def advance_recording(
        self, count: int, bounds: np.ndarray, every: int, start: int, names
    ) -> tuple[int, dict[str, np.ndarray]]:
        """:meth:`advance`, recording the entries ``names`` (of :attr:`ENTRIES`) in compiled
        code at every step to an iteration ``start + t`` that is a multiple of ``every``.
        Returns the steps taken and ``{"iteration": (J,), name: (B, J)}`` of the J records."""
        history = self._history(start, every, count // every + 1, names)
        done, written = self._advance(count, bounds, history)
        return done, self._entries(history, written, names)

    def record(self, names) -> dict[str, np.ndarray]:
        """The entries ``names`` (of :attr:`ENTRIES`) at the current point, each (B,)."""
        history = self._history(0, 0, 1, names)
        self._kernels.gd_record(self._U, self._V, self._buffers[0], self.losses, history, 0, 0)
        entries = self._entries(history, 1, names)
        return {name: entries[name][:, 0] for name in names}

    def _advance(self, count, bounds, history) -> tuple[int, int]:
        bounds = np.asarray(bounds, dtype=np.float64)
        arrays = (self._A, self._y, self._U, self._V, self._steps)
        done, written = self._kernels.gd_advance(
            *arrays, count, bounds, *self._buffers, self.losses, self._one_by_one, history
        )
        return int(done), int(written)

    def _history(self, start: int, every: int, capacity: int, names) -> tuple:
        """The arrays :func:`~matrix_sensing.operators.kernels.gd_record` writes."""
        batch = len(self.losses)
        settings = np.array([start, every, "imbalance" in names], dtype=np.int64)
        truth = self._truth if "test_error" in names else np.zeros((0, 0))
        values = [np.full((batch, capacity), np.nan) for _ in range(3)]
        return (settings, truth, np.zeros(capacity, dtype=np.int64), *values, self._work)

    @staticmethod
    def _entries(history, written: int, names) -> dict[str, np.ndarray]:
        iterations, *values = history[2:6]
        out = {"iteration": iterations[:written]}
        for name, array in zip(CompiledRuns.ENTRIES, values, strict=True):
            if name in names:
                out[name] = array[:, :written]
        return out
