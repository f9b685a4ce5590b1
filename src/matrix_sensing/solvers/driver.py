"""The one iteration loop of every solver, and what the solvers share.

Every solver of this package (:func:`~matrix_sensing.factorized_gd`,
:func:`~matrix_sensing.solvers.symmetric_gd`, :func:`~matrix_sensing.solvers.preconditioned_gd`,
the methods of :mod:`matrix_sensing.solvers.robust`) describes one step of its algorithm as a
:class:`Method` and hands it to :func:`iterate`, which owns everything else: the history
(every ``record_every`` iterations and at the last one: ``iteration``, ``train_loss``, the
imbalance, the method's own entries, ``test_error`` and the caller's metrics), the
divergence check (:class:`DivergenceError` naming the algorithm, the iteration and a hint),
the progress bar, and the result type :class:`GDResult`. A run continued from its last
iterate (:func:`continue_run`) gives the iterates and history of one uninterrupted run.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field

import numpy as np
from tqdm import tqdm

from .. import _validation as check


class DivergenceError(RuntimeError):
    """An iterative method blew up: the loss became non-finite or grew past a bound.

    Attributes ``iteration``, ``loss``, ``step`` and ``algorithm`` say where, with what and in
    which method (``run``: the index of the run in a batch, else None); the message carries
    a hint about the step size.
    """

    def __init__(
        self,
        iteration: int,
        loss: float,
        step: float,
        bound: float,
        algorithm: str = "gradient descent",
        hint: str | None = None,
        run: int | None = None,
    ):
        self.iteration, self.loss, self.step, self.bound = iteration, loss, step, bound
        self.algorithm, self.run = algorithm, run
        what = "is not finite" if not np.isfinite(loss) else f"exceeds the bound {bound:.3g}"
        if hint is None:
            hint = (
                f"step={step:g} is too large for this problem (the theory asks for "
                f"step ≲ 1/||X||); try step={step / 2:g} or smaller."
            )
        self.hint = hint  # kept so that a wrapper re-raising the error can keep it
        super().__init__(
            f"{algorithm} diverged at iteration {iteration}: loss {loss:.3g} {what}. Hint: {hint}"
        )


def check_factors(op, y, U0, V0=None, *, names=("U0", "V0")):
    """Validated copies ``(y, U, V)`` of the measurements and the initial factors.

    ``op``: operator of shape (n1, n2) with m measurements; ``y``: (m,); ``U0``: (n1, k) with
    ``k >= 1``; ``V0``: (n2, k), or None for the symmetric model (then ``V`` is None).
    ``names`` are the parameter names used in the error messages.
    """
    n1, n2 = op.shape
    y = check.array("y", y, ndim=1, shape=(op.m,))
    U = check.array(names[0], U0, ndim=2, shape=(n1, None)).copy()
    if U.shape[1] < 1:
        raise ValueError(f"{names[0]} must have at least one column (width k >= 1)")
    if V0 is None:
        return y, U, None
    V = check.array(names[1], V0, ndim=2, shape=(n2, U.shape[1])).copy()
    return y, U, V


def check_pair(op, y, U0, V0, *, names=("U0", "V0")):
    """:func:`check_factors` for the model ``U V^T``, where ``V0`` (n2, k) is required
    (``check_factors`` reads ``V0=None`` as the symmetric model)."""
    if V0 is None:
        raise TypeError(f"{names[1]} must be an (n2, k) array (the model is U V^T), got None")
    return check_factors(op, y, U0, V0, names=names)


def check_run_options(
    iters,
    record_every,
    divergence_factor,
    metrics: Mapping[str, Callable] | None,
    signature: str = "f(U, V)",
) -> tuple[int, int, float, dict[str, Callable]]:
    """Validated ``(iters, record_every, divergence_factor, metrics)``: ``iters >= 0``,
    ``record_every >= 1``, ``divergence_factor >= 1`` and a dict of callables (``signature``
    is how they are called, for the message)."""
    iters = check.integer("iters", iters, minimum=0)
    record_every = check.integer("record_every", record_every, minimum=1)
    divergence_factor = check.real("divergence_factor", divergence_factor, minimum=1.0)
    if metrics is not None and not isinstance(metrics, Mapping):
        raise TypeError(f"metrics must map names to callables {signature}, got {metrics!r}")
    metrics = dict(metrics or {})
    for name, fn in metrics.items():
        if not callable(fn):
            raise TypeError(f"metrics[{name!r}] must be callable {signature}, got {fn!r}")
    return iters, record_every, divergence_factor, metrics


def check_truth(truth, shape) -> tuple[np.ndarray | None, float | None]:
    """``(truth, ||truth||_F)`` for a non-zero ``truth`` of shape ``shape``, or ``(None, None)``."""
    if truth is None:
        return None, None
    truth = check.array("truth", truth, ndim=2, shape=shape)
    truth_norm = np.linalg.norm(truth)
    if truth_norm == 0:
        raise ValueError("truth must be a non-zero matrix")
    return truth, truth_norm


@contextmanager
def divergence_context(*, offset: int = 0, algorithm: str | None = None, hint: str | None = None):
    """Re-raise a :class:`~matrix_sensing.DivergenceError` of the solver run inside with
    its iteration shifted by ``offset`` (a run continued from iteration ``offset``), and with
    ``algorithm`` and ``hint`` in place of the solver's when given."""
    try:
        yield
    except DivergenceError as exc:
        raise DivergenceError(
            exc.iteration + offset,
            exc.loss,
            exc.step,
            exc.bound,
            algorithm=algorithm or exc.algorithm,
            hint=hint or getattr(exc, "hint", None),
        ) from exc


@dataclass
class GDResult:
    """Outcome of a run of any solver. ``U``: (n1, k) and ``V``: (n2, k) are the last iterates
    (for a symmetric method ``V`` is ``U``, (n, k)); ``step`` is the step size (the first,
    μ_0, for decaying steps); ``iters`` the number of iterations taken; ``history`` maps a
    metric name to a 1-D array aligned with ``history["iteration"]``."""

    U: np.ndarray
    V: np.ndarray
    step: float
    iters: int
    history: dict[str, np.ndarray] = field(default_factory=dict)

    @property
    def product(self) -> np.ndarray:
        """The estimate ``U V^T`` (n1, n2)."""
        return self.U @ self.V.T


def continue_run(first: GDResult, second: GDResult) -> GDResult:
    """``second`` continues ``first`` from its last iterate: one history, ``second``'s
    iterations offset by ``first.iters`` and its starting record (a repeat of ``first``'s
    last) dropped, as if one run had made both."""
    history = {
        name: np.concatenate(
            [values, second.history[name][1:] + (first.iters if name == "iteration" else 0)]
        )
        for name, values in first.history.items()
    }
    return GDResult(
        U=second.U, V=second.V, step=first.step, iters=first.iters + second.iters, history=history
    )


def test_error_function(truth, n1: int, n2: int) -> Callable[[np.ndarray, np.ndarray], float]:
    """``(U, V) -> ||U V^T - X||_F / ||X||_F`` for ``truth`` X, an (n1, n2) array or a tuple
    ``(L, R)`` of factors with ``X = L R^T`` (L: (n1, r), R: (n2, r)). With factors no
    (n1, n2) matrix is formed: the norm is that of ``R_1 R_2^T`` for the triangular factors
    of the QR decompositions ``[U, -L] = Q_1 R_1`` and ``[V, R] = Q_2 R_2`` (accurate down to
    rounding, unlike expanding the square into Gram matrices)."""
    if not isinstance(truth, tuple):
        truth = check.array("truth", truth, ndim=2, shape=(n1, n2))
        norm = np.linalg.norm(truth)
        if norm == 0:
            raise ValueError("truth must be a non-zero matrix")
        return lambda U, V: float(np.linalg.norm(U @ V.T - truth) / norm)
    if len(truth) != 2:
        raise ValueError(
            f"truth must be an (n1, n2) array or a pair (L, R) of factors, got a tuple of "
            f"length {len(truth)}"
        )
    L = check.array("truth[0]", truth[0], ndim=2, shape=(n1, None))
    R = check.array("truth[1]", truth[1], ndim=2, shape=(n2, L.shape[1]))
    norm = _product_norm(L, R)
    if norm == 0:
        raise ValueError("truth must be a non-zero matrix")
    return lambda U, V: _product_norm(np.hstack([U, -L]), np.hstack([V, R])) / norm


def dense_truth(truth, n1: int, n2: int) -> np.ndarray:
    """The ground truth as an (n1, n2) float64 array: ``truth`` itself, or ``L @ R.T`` for
    a pair of factors (as :func:`test_error_function` accepts them, which checks them)."""
    if isinstance(truth, tuple):
        return np.asarray(truth[0], dtype=float) @ np.asarray(truth[1], dtype=float).T
    return check.array("truth", truth, ndim=2, shape=(n1, n2))


def _product_norm(P: np.ndarray, Q: np.ndarray) -> float:
    """``||P Q^T||_F`` from the R factors of P and Q (P: (n1, s), Q: (n2, s)), without
    forming the n1 x n2 product: ``P Q^T = Q_P (R_P R_Q^T) Q_Q^T``."""
    if P.shape[1] == 0:
        return 0.0
    return float(np.linalg.norm(np.linalg.qr(P, mode="r") @ np.linalg.qr(Q, mode="r").T))


class Method:
    """One algorithm, as :func:`iterate` drives it: the state of B runs at the current
    iterate, and how to take a step.

    A subclass sets ``algorithm`` (its name in messages and on the progress bar) and
    ``losses`` (B,) float64 (the loss of each run at the current iterate, set at
    construction and by :meth:`advance`), and implements :meth:`factors` and :meth:`step`
    (or :meth:`advance` as a whole, as the compiled path does). ``stopped`` set to True ends
    the run at the current iterate (a stopping rule of the method's own).
    """

    algorithm = "gradient descent"
    #: History entries of the method's own, recorded after the imbalance (e.g. ``damping``).
    entries: tuple[str, ...] = ()
    #: The standard entries (``train_loss``, ``imbalance``, ``test_error``) that the method
    #: records inside its own loop (:meth:`record`, :meth:`advance_recording`); when they
    #: cover the history and no metric asks for a Python call, the driver leaves the
    #: recording to the method.
    recorded_inside: frozenset[str] = frozenset()
    stopped = False
    losses: np.ndarray

    def factors(self) -> tuple[np.ndarray, np.ndarray]:
        """The current iterates as stacks (B, n1, k) and (B, n2, k) (V is U for a symmetric
        method); the caller may keep them."""
        raise NotImplementedError

    def values(self) -> dict[str, np.ndarray]:
        """The method's own entries (:attr:`entries`) at the current iterate, each (B,)."""
        return {}

    def step(self) -> None:
        """Move every run one step and set ``losses`` at the new iterate."""
        raise NotImplementedError

    def advance(self, count: int, bounds: np.ndarray) -> int:
        """Take up to ``count`` steps; stop after the first step to a loss that is not
        finite or above its run's bound (B,), or once ``stopped``. Returns the number
        of steps taken."""
        for done in range(1, count + 1):
            self.step()
            if diverged(self.losses, bounds).size or self.stopped:
                return done
        return count

    def divergence(self, iteration: int, run: int, bound: float) -> DivergenceError:
        """The error for run ``run`` whose loss at ``iteration`` is past ``bound``."""
        raise NotImplementedError

    def record(self, names) -> dict[str, np.ndarray]:
        """The entries ``names`` (of :attr:`recorded_inside`) at the current iterate, (B,)."""
        raise NotImplementedError

    def advance_recording(
        self, count: int, bounds: np.ndarray, every: int, start: int, names
    ) -> tuple[int, dict[str, np.ndarray]]:
        """:meth:`advance` from iteration ``start``, recording ``names`` at every iteration
        that is a multiple of ``every``: the steps taken and ``{"iteration": (J,),
        name: (B, J)}``."""
        raise NotImplementedError


def diverged(losses: np.ndarray, bounds: np.ndarray) -> np.ndarray:
    """Indices of the runs whose loss is not finite or above its bound."""
    return np.flatnonzero(~np.isfinite(losses) | (losses > bounds))


# With a progress bar, a method's advance hands back control this often to update it.
PROGRESS_EVERY = 100


def iterate(
    method: Method,
    iters: int,
    *,
    step,
    record_every: int = 1,
    metrics: Mapping[str, Callable[[np.ndarray, np.ndarray], float]] | None = None,
    test_error: Callable[[np.ndarray, np.ndarray], float] | None = None,
    divergence_factor: float = 1e6,
    floor: float = 0.0,
    progress: bool = False,
    imbalance: bool = True,
) -> list[GDResult]:
    """Run ``method`` for ``iters`` iterations (fewer if it stops itself) and return one
    :class:`GDResult` per run, in batch order.

    ``step`` (B,) is what each result reports as its step. The history is recorded at every
    ``record_every``-th iteration and at the last: ``iteration``, ``train_loss`` (the
    method's loss), ``imbalance`` (with ``imbalance=True``: the operator norm of
    ``U^T U - V^T V``), the method's own :attr:`Method.entries`, ``test_error`` (with a
    ``test_error`` function of ``(U, V)``) and each metric ``name -> f(U, V)``. The run
    raises the method's :class:`DivergenceError` once a loss is not finite or above
    ``divergence_factor * max(initial loss, floor)``, ``floor`` being the loss of the zero
    matrix (so that a start near zero does not make the bound tiny). Arguments are
    validated by the solver that calls this.
    """
    metrics = dict(metrics or {})
    names = ["iteration", "train_loss", *(["imbalance"] if imbalance else []), *method.entries]
    names += ["test_error"] if test_error is not None else []
    batch = len(method.losses)
    records = [{name: [] for name in [*names, *metrics]} for _ in range(batch)]
    # No Python between two records when the method can record the whole history itself.
    inside = not metrics and set(names) - {"iteration"} <= method.recorded_inside
    standard = names[1:]
    bar = tqdm(total=iters, disable=not progress, desc=method.algorithm, leave=False)
    # Overflow while blowing up is reported as a DivergenceError, not as a warning.
    with bar, np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        bounds = divergence_factor * np.maximum(method.losses, floor)
        t, recorded = 0, -1
        while True:
            bad = diverged(method.losses, bounds)
            if bad.size:
                b = int(bad[0])
                raise method.divergence(t, b, float(bounds[b]))
            if (t % record_every == 0 or t == iters or method.stopped) and t != recorded:
                if inside:
                    values = {name: v[:, None] for name, v in method.record(standard).items()}
                    _append(records, [t], values)
                else:
                    _record(records, t, method, imbalance, test_error, metrics)
            if t == iters or method.stopped:
                break
            if inside:
                until = min(iters, t + PROGRESS_EVERY) if progress else iters
                done, rows = method.advance_recording(until - t, bounds, record_every, t, standard)
                iterations = rows.pop("iteration").tolist()
                _append(records, iterations, rows)
                recorded = iterations[-1] if iterations else recorded
            else:
                until = min(iters, (t // record_every + 1) * record_every)
                if progress:
                    until = min(until, t + PROGRESS_EVERY)
                done = method.advance(until - t, bounds)
            t += done
            bar.update(done)
    U, V = method.factors()
    steps = np.broadcast_to(np.asarray(step, dtype=float), (batch,))
    results = []
    for b, record in enumerate(records):
        history = {name: np.asarray(values) for name, values in record.items()}
        last = U[b].copy()
        results.append(GDResult(last, last if V is U else V[b].copy(), float(steps[b]), t, history))
    return results


def _append(records, iterations: list[int], values: dict[str, np.ndarray]) -> None:
    """Append J records of every run to ``records``: the J ``iterations`` and each entry's
    values (B, J)."""
    for b, record in enumerate(records):
        record["iteration"].extend(iterations)
        for name, rows in values.items():
            record[name].extend(rows[b].tolist())


def _record(records, t: int, method: Method, imbalance: bool, test_error, metrics) -> None:
    """Append iteration ``t`` of every run of ``method`` to ``records``."""
    U, V = method.factors()
    losses, values = method.losses, method.values()
    if imbalance:
        gaps = np.linalg.norm(U.transpose(0, 2, 1) @ U - V.transpose(0, 2, 1) @ V, 2, axis=(1, 2))
    for b, record in enumerate(records):
        record["iteration"].append(t)
        record["train_loss"].append(float(losses[b]))
        if imbalance:
            record["imbalance"].append(float(gaps[b]))
        for name in method.entries:
            record[name].append(float(values[name][b]))
        if test_error is not None:
            record["test_error"].append(test_error(U[b], V[b]))
        for name, fn in metrics.items():
            record[name].append(fn(U[b], V[b]))
