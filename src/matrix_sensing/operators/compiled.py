"""Gradient descent on a dense operator with every iteration in compiled code.

The fast path of :func:`matrix_sensing.factorized_gd` on a
:class:`~matrix_sensing.GaussianSensing` operator, and the fused evaluation of the operator's
:meth:`~matrix_sensing.GaussianSensing.residual_and_gradients`: between two recorded
iterations no Python runs. One run (or fewer than :data:`BATCH_MIN_RUNS`) goes through the
single-run kernel, a small batch through the tiled batch kernel, a larger one through the
run-minor kernels. Same iterates as the Python loop up to
rounding (the small products are summed in another order; the update ``U - μ grad_U``
rounds the same way).
"""

from __future__ import annotations

import numpy as np

# A batch of fewer runs than this is run as a loop of single runs. From two runs on, the
# batch kernels, which read A once per iteration for the whole batch, beat a loop that reads
# it once per run; a single run pays for the padding to a multiple of four.
BATCH_MIN_RUNS = 2


class CompiledRuns:
    """State of B runs at iteration t: ``losses`` (B,) float64 = f(U_b, V_b); ``U``
    (B, n1, k) and ``V`` (B, n2, k) are copies of the factors, in the dtype of ``A``
    (m, n1*n2); the gradients at (U, V) are held for the next step. With ``truth`` (n1, n2)
    the recorded history has the test error ``||U_b V_b^T - truth||_F / ||truth||_F``.
    A batch for which :func:`~matrix_sensing.operators.batch.run_minor` holds is kept
    run-minor (:mod:`~matrix_sensing.operators.batch`), other runs as given."""

    #: The history entries :meth:`record` and :meth:`advance_recording` compute.
    ENTRIES = ("train_loss", "imbalance", "test_error")

    def __init__(self, A: np.ndarray, y: np.ndarray, U, V, steps, shape, truth=None):
        from . import batch, kernels  # numba: imported on first use

        dtype = A.dtype
        self._kernels, self._batch = kernels, batch
        self._A, self._y = A, np.ascontiguousarray(y, dtype=dtype)
        U = np.array(U, dtype=dtype, order="C")
        V = np.array(V, dtype=dtype, order="C")
        runs, n1, k = U.shape
        n2 = V.shape[1]
        self._shapes = ((runs, n1, k), (runs, n2, k), (runs, *shape))
        self._one_by_one = runs < BATCH_MIN_RUNS
        self._run_minor = batch.run_minor(runs)
        self.losses = np.empty(runs)
        if not self._run_minor:
            self._U, self._V, self._steps = U, V, np.asarray(steps, dtype=dtype)
            padded = runs if self._one_by_one else -(-runs // 4) * 4  # 4-run tiles
            self._buffers = (
                np.zeros((padded, *shape), dtype=dtype),  # X_b = U_b V_b^T; padding stays 0
                np.empty((padded, A.shape[0]), dtype=dtype),  # residuals
                np.empty((padded, *shape), dtype=dtype),  # G_b = A*(residual_b)
                np.empty_like(U),  # grad_U
                np.empty_like(V),  # grad_V
            )
        else:
            P = -(-runs // batch.LANES) * batch.LANES  # padded runs start at 0 and stay 0
            Ut, Vt = (batch.aligned_zeros(n * k * P, dtype) for n in (n1, n2))
            batch.pack(U, P, Ut)
            batch.pack(V, P, Vt)
            padded_steps = batch.aligned_zeros(P, dtype)
            padded_steps[:runs] = steps
            sizes = (n1 * n2, A.shape[0], n1 * n2, n1 * k, n2 * k)  # X, R, G, grad_U, grad_V
            self._state = (
                Ut,
                Vt,
                *(batch.aligned_zeros(size * P, dtype) for size in sizes),
                padded_steps,
                np.array([n1, n2, k, P], dtype=np.int64),
            )
            self._unpacked = tuple(np.empty(s, dtype=dtype) for s in self._shapes)
        self._truth = np.zeros((0, 0)) if truth is None else np.array(truth, dtype=np.float64)
        self._work = np.zeros((6, -(-k // kernels.LANES) * kernels.LANES))  # see gd_record
        self._work[0, 0] = np.linalg.norm(self._truth) if truth is not None else 1.0
        self._no_history = self._history(0, 0, 0, ())
        if not self._run_minor:
            kernels.gd_evaluate(
                self._A, self._y, self._U, self._V, *self._buffers, self.losses, self._one_by_one
            )
        else:
            batch.runs_evaluate(self._A, self._y, self._state, self.losses)

    # Copies: the factors are updated in place, and a metric may keep what it was given.
    @property
    def U(self) -> np.ndarray:
        return self._unpack(0, self._shapes[0]) if self._run_minor else self._U.copy()

    @property
    def V(self) -> np.ndarray:
        return self._unpack(1, self._shapes[1]) if self._run_minor else self._V.copy()

    def gradients(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """At the current point: residuals (B, m) and the gradients ``A*(r_b) V_b`` (B, n1, k)
        and ``A*(r_b)^T U_b`` (B, n2, k), valid until the runs advance."""
        if not self._run_minor:
            _, residuals, _, grad_U, grad_V = self._buffers
            return residuals[: len(self.losses)], grad_U, grad_V
        residuals = self._unpack(3, (len(self.losses), self._A.shape[0]))
        return residuals, self._unpack(5, self._shapes[0]), self._unpack(6, self._shapes[1])

    def _unpack(self, index: int, shape) -> np.ndarray:
        out = np.empty(shape, dtype=self._A.dtype)
        self._batch.unpack(self._state[index], self._state[-1][3], out)
        return out

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
        if not self._run_minor:
            U, V, X = self._U, self._V, self._buffers[0]
            self._kernels.gd_record(U, V, X, self.losses, history, 0, 0)
        else:
            self._batch.runs_record(self._state, self.losses, history, 0, 0, self._unpacked)
        entries = self._entries(history, 1, names)
        return {name: entries[name][:, 0] for name in names}

    def _advance(self, count, bounds, history) -> tuple[int, int]:
        bounds = np.asarray(bounds, dtype=np.float64)
        if not self._run_minor:
            done, written = self._kernels.gd_advance(
                *(self._A, self._y, self._U, self._V, self._steps, count, bounds),
                *(*self._buffers, self.losses, self._one_by_one, history),
            )
        else:
            done, written = self._batch.runs_advance(
                *(self._A, self._y, self._state, count, bounds, self.losses, history),
                self._unpacked,
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
