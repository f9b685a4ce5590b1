"""Symmetric (positive semidefinite) matrix sensing, the setting of the precursor.

Stöger & Soltanolkotabi (NeurIPS 2021) study a PSD target ``X = X^T ⪰ 0`` (n x n), symmetric
measurement matrices ``A_i = (G_i + G_i^T)/2`` with ``G_i`` i.i.d. N(0, 1/m) entries, the loss
``f(U) = 1/4 ||A(U U^T) - y||^2`` and gradient descent

    U_{t+1} = U_t - μ E_t U_t,      E_t = A*(A(U_t U_t^T) - y)   (symmetric, n x n).

This module provides the operator (:class:`SymmetricGaussianSensing`), PSD targets
(:func:`psd_target`) and the solver (:func:`symmetric_gd`), with the conventions of
:mod:`matrix_sensing.operators` and :func:`matrix_sensing.gd.factorized_gd`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import numpy as np
from tqdm.auto import tqdm

from . import _validation as check
from ._factors import DivergenceGuard, check_factors, check_operator, check_run_options, check_truth
from .targets import psd_target

__all__ = [
    "SymmetricGDResult",
    "SymmetricGaussianSensing",
    "psd_target",
    "symmetric_gd",
    "symmetric_loss",
]


class SymmetricGaussianSensing:
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
    forward and adjoint maps then cost about half of a dense ``(m, n^2)`` product. For any
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
        self._weight = np.where(rows == cols, 1.0, 2.0)
        self._weighted = self.packed * self._weight
        self._gram_cache = None

    @property
    def array(self) -> np.ndarray:
        """The measurement matrices ``A_i`` as a new ``(m, n, n)`` array."""
        return self._unpack(self.packed)

    @property
    def matrix(self) -> np.ndarray:
        """The measurement matrices flattened, a new ``(m, n*n)`` array (as
        ``GaussianSensing.matrix``): ``op(Z) == matrix @ Z.reshape(-1)``."""
        return self.array.reshape(self.m, -1)

    def __call__(self, Z) -> np.ndarray:
        """Forward map: ``Z`` (n, n) -> (m,), or a stack (B, n, n) -> (B, m)."""
        Z = check.array("Z", Z, ndim=(2, 3), shape=(None, *self.shape))
        if Z.ndim == 2:
            return self._forward(Z)
        symmetric = 0.5 * (Z + Z.transpose(0, 2, 1))
        return symmetric.reshape(Z.shape[0], -1)[:, self._upper] @ self._weighted.T

    def adjoint(self, z) -> np.ndarray:
        """Adjoint map ``A*(z) = sum_i z_i A_i`` (symmetric). ``z``: ``(m,)`` -> ``(n, n)``, or
        ``(B, m)`` -> ``(B, n, n)``."""
        z = check.array("z", z, ndim=(1, 2), shape=(None, self.m))
        if z.ndim == 1:
            return self._adjoint(z)
        return self._unpack(z @ self.packed)

    # Unchecked fast paths for the solver, which validated its inputs once up front.
    def _forward(self, Z: np.ndarray) -> np.ndarray:
        return self._weighted @ self._pack(0.5 * (Z + Z.T))

    def _adjoint(self, z: np.ndarray) -> np.ndarray:
        return self._unpack(z @ self.packed)

    def _pack(self, Z: np.ndarray) -> np.ndarray:
        """The upper triangle (p,) of a symmetric (n, n) matrix, p = n(n+1)/2."""
        return Z.reshape(-1).take(self._upper)

    def _unpack(self, packed: np.ndarray) -> np.ndarray:
        """The symmetric (..., n, n) matrices whose upper triangles are ``packed`` (..., p)."""
        return packed.take(self._from_packed, axis=-1).reshape(*packed.shape[:-1], *self.shape)

    @property
    def _gram(self) -> np.ndarray:
        """``H = P^T P W`` (p, p) with ``P`` = :attr:`packed`, ``W`` = diag(weights): for a
        symmetric ``Z``, ``pack(A*(A(Z))) = H @ pack(Z)``. Computed once, on first use."""
        if self._gram_cache is None:
            self._gram_cache = self.packed.T @ self._weighted
            self._gram_cache.setflags(write=False)
        return self._gram_cache

    def __repr__(self) -> str:
        return f"{type(self).__name__}(m={self.m}, n={self.n})"


@dataclass
class SymmetricGDResult:
    """Outcome of a run. ``U``: (n, k) is the last iterate; ``history`` maps a metric name to
    a 1-D array aligned with ``history["iteration"]``."""

    U: np.ndarray
    step: float
    iters: int
    history: dict[str, np.ndarray] = field(default_factory=dict)

    @property
    def product(self) -> np.ndarray:
        """The estimate ``U U^T`` (n, n)."""
        return self.U @ self.U.T


def symmetric_loss(op, y, U) -> float:
    """``f(U) = 1/4 ||A(U U^T) - y||^2`` for ``U`` (n, k) and ``y`` (m,)."""
    check_operator(op, "SymmetricGaussianSensing", square=True)
    U = check.array("U", U, ndim=2, shape=(op.shape[0], None))
    y = check.array("y", y, ndim=1, shape=(op.m,))
    residual = op(U @ U.T) - y
    return 0.25 * float(residual @ residual)


def symmetric_gd(
    op,
    y,
    U0,
    step: float,
    iters: int,
    truth=None,
    record_every: int = 1,
    metrics: Mapping[str, Callable[[np.ndarray], float]] | None = None,
    divergence_factor: float = 1e6,
    progress: bool = False,
    method: str = "auto",
) -> SymmetricGDResult:
    """Run ``iters`` steps of symmetric factorized gradient descent from ``U0``.

    Parameters
    ----------
    op : symmetric measurement operator (e.g. :class:`SymmetricGaussianSensing`) of shape
        ``(n, n)`` with ``m`` measurements.
    y : (m,) measurements.
    U0 : (n, k) initial factor.
    step : the step size μ > 0.
    iters : number of iterations T >= 0.
    truth : optional (n, n) ground truth X; adds ``test_error`` ||U U^T - X||_F / ||X||_F to
        the history.
    record_every : record the history every this many iterations (the last iteration is
        always recorded).
    metrics : extra ``name -> f(U)`` evaluated at every recorded iteration.
    divergence_factor : raise :class:`~matrix_sensing.DivergenceError` once the loss exceeds
        this factor times ``max(f(U0), ||y||^2 / 4)``.
    progress : show a tqdm progress bar.
    method : how ``E_t`` is computed; the iterates agree to rounding error.
        ``"direct"``: ``E = A*(A(U U^T) - y)`` with two passes over the measurements (any
        operator with ``_forward``/``_adjoint``). ``"gram"`` (only
        :class:`SymmetricGaussianSensing`): ``pack(E) = H pack(U U^T) - pack(A*(y))`` with the
        precomputed ``p x p`` matrix ``H`` of ``A*A`` on symmetric matrices, ``p = n(n+1)/2``;
        one pass over ``H`` instead of two over the ``m x p`` measurements, so it is cheaper
        when ``p < 2m``; the recorded ``train_loss`` is still computed from the residual.
        ``"auto"`` (default) picks ``"gram"`` when it is available and cheaper.

    The update is ``U <- U - μ E U`` with ``E = A*(A(U U^T) - y)``, the gradient step of
    ``f(U) = 1/4 ||A(U U^T) - y||^2`` (``∇f(U) = E U`` because ``E`` is symmetric). The
    history always has ``iteration`` and ``train_loss`` (f(U_t)).
    """
    check_operator(op, "SymmetricGaussianSensing", square=True)
    n = op.shape[0]
    y, U, _ = check_factors(op, y, U0)
    step = check.real("step", step, positive=True)
    iters, record_every, divergence_factor, metrics = check_run_options(
        iters, record_every, divergence_factor, metrics, signature="f(U)"
    )
    check.choice("method", method, {"auto", "direct", "gram"})
    has_gram = isinstance(op, SymmetricGaussianSensing)
    if method == "gram" and not has_gram:
        raise ValueError(f"method='gram' needs a SymmetricGaussianSensing operator, got {op!r}")
    if method == "auto":
        method = "gram" if has_gram and n * (n + 1) // 2 < 2 * op.m else "direct"
    truth, truth_norm = check_truth(truth, (n, n))

    records: dict[str, list] = {"iteration": [], "train_loss": []}
    if truth is not None:
        records["test_error"] = []
    for name in metrics:
        records[name] = []

    if method == "gram":
        gram, projected = op._gram, y @ op.packed  # H and pack(A*(y))
        weighted_projected, y_squared = op._weight * projected, float(y @ y)

    guard = DivergenceGuard(
        divergence_factor, 0.25 * float(y @ y), "symmetric gradient descent", _step_hint
    )
    bar = tqdm(total=iters, disable=not progress, desc="symmetric GD", leave=False)
    # Overflow while blowing up is reported below as a DivergenceError, not as a warning.
    with bar, np.errstate(over="ignore", invalid="ignore"):
        for t in range(iters + 1):
            product = U @ U.T
            recorded = t % record_every == 0 or t == iters
            if method == "direct":
                residual = op._forward(product) - y
                loss = 0.25 * float(residual @ residual)
            else:
                packed = op._pack(product)
                gradient = gram @ packed - projected  # pack(E)
                if recorded or t == 0:  # exact loss from the residual
                    residual = op._weighted @ packed - y
                    loss = 0.25 * float(residual @ residual)
                else:  # ||r||^2 = <W q, pack(E)> - <W pack(A*(y)), q> + ||y||^2: no extra pass
                    loss = 0.25 * (
                        float((op._weight * packed) @ gradient)
                        - float(weighted_projected @ packed)
                        + y_squared
                    )
            guard.check(t, loss, step)
            if recorded:
                records["iteration"].append(t)
                records["train_loss"].append(loss)
                if truth is not None:
                    records["test_error"].append(np.linalg.norm(product - truth) / truth_norm)
                for name, fn in metrics.items():
                    records[name].append(fn(U))
            if t == iters:
                break
            E = op._adjoint(residual) if method == "direct" else op._unpack(gradient)
            U = U - step * (E @ U)
            bar.update()
    history = {name: np.asarray(values) for name, values in records.items()}
    return SymmetricGDResult(U=U, step=step, iters=iters, history=history)


def _step_hint(step: float) -> str:
    return (
        f"step={step:g} is too large for this problem (gradient descent on U U^T needs "
        f"step ≲ 1/||X||, smaller for a large initialization); try step={step / 2:g} or smaller."
    )
