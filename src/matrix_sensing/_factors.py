"""What the factorized solvers share: input checks and the divergence guard.

:func:`~matrix_sensing.gd.factorized_gd`, :func:`~matrix_sensing.preconditioned.preconditioned_gd`,
:func:`~matrix_sensing.symmetric.symmetric_gd` and the methods of :mod:`matrix_sensing.robust`
take the same arguments (an operator, measurements ``y``, initial factors, a step, a number
of iterations, a recording period, metrics, a ground truth) and stop the same way when the
loss blows up; the checks, the guard and :class:`DivergenceError` (re-exported by
:mod:`matrix_sensing.gd` and the package) live here once, so that every solver names a bad
parameter, and reports a divergence, in the same words.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager

import numpy as np

from . import _validation as check


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


def check_operator(
    op, example: str = "GaussianSensing", *, square: bool = False, extra: tuple[str, ...] = ()
) -> None:
    """Raise ``TypeError`` unless ``op`` has ``m``, ``shape``, ``_forward``, ``_adjoint`` and
    the ``extra`` attributes (a measurement operator such as ``example``); with
    ``square=True`` also ``ValueError`` unless ``op.shape`` is ``(n, n)`` (the symmetric
    model ``U U^T``)."""
    for attribute in ("m", "shape", "_forward", "_adjoint", *extra):
        if not hasattr(op, attribute):
            raise TypeError(f"op must be a measurement operator (e.g. {example}), got {op!r}")
    if square and op.shape[0] != op.shape[1]:
        raise ValueError(
            f"op must measure square (n, n) matrices for the symmetric model, got shape {op.shape}"
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


class DivergenceGuard:
    """Stops a run whose loss is not finite or exceeds ``factor * max(loss_0, floor)``.

    ``loss_0`` is the loss at the first call of :meth:`check` (the initial iterate) and
    ``floor`` the loss of the zero matrix (so that a start near zero does not make the
    bound tiny). ``algorithm`` names the method in the message; ``hint(step)`` returns the
    advice for the step ``step`` in force when the run blew up.
    """

    def __init__(self, factor: float, floor: float, algorithm: str, hint: Callable[[float], str]):
        self.factor, self.floor, self.algorithm, self.hint = factor, floor, algorithm, hint
        self.bound: float | None = None

    def check(self, iteration: int, loss: float, step: float) -> None:
        """Raise :class:`~matrix_sensing.gd.DivergenceError` if ``loss`` at ``iteration``
        (taken with step ``step``) is not finite or past the bound."""
        if self.bound is None:
            self.bound = self.factor * max(loss, self.floor)
        if not np.isfinite(loss) or loss > self.bound:
            raise DivergenceError(
                iteration, loss, step, self.bound, algorithm=self.algorithm, hint=self.hint(step)
            )


@contextmanager
def divergence_context(
    *, offset: int = 0, algorithm: str | None = None, hint: str | None = None
) -> Iterator[None]:
    """Re-raise a :class:`~matrix_sensing.gd.DivergenceError` of the solver run inside with
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
