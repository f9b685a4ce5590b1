"""What a measurement operator is to this package: the :class:`SensingOperator` protocol.

The solvers accept any object with these members and check for them with
:func:`check_operator`, never for a concrete class or a private attribute. The model and the
normalisation ``E[A* A] = Id`` are on the book's page *Problem and conventions*
(``book/setup.md``).
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import numpy as np

__all__ = ["SensingOperator", "TwoPassGradients", "check_operator"]


@runtime_checkable
class SensingOperator(Protocol):
    """A linear map ``A: R^{n1 x n2} -> R^m``, ``A(Z)_i = <A_i, Z>``.

    ``shape`` is ``(n1, n2)`` and ``m`` the number of measurements. ``op(Z)`` and
    ``op.adjoint(z)`` are the checked forward and adjoint maps (a single ``(n1, n2)`` /
    ``(m,)`` array or a stack); ``forward_unchecked`` and ``adjoint_unchecked`` are the same
    maps on single arrays without input checks, for solvers that validated their inputs
    once; ``residual_and_gradients`` is the step of gradient descent on
    ``f(U, V) = 1/2 ||A(U V^T) - y||^2`` in one call.
    """

    shape: tuple[int, int]
    m: int

    def __call__(self, Z) -> np.ndarray:
        """``Z`` (n1, n2) -> ``A(Z)`` (m,), or a stack (B, n1, n2) -> (B, m)."""

    def adjoint(self, z) -> np.ndarray:
        """``z`` (m,) -> ``A*(z) = sum_i z_i A_i`` (n1, n2), or (B, m) -> (B, n1, n2)."""

    def forward_unchecked(self, Z: np.ndarray) -> np.ndarray:
        """``A(Z)`` (m,) for ``Z`` (n1, n2), without input checks."""

    def adjoint_unchecked(self, z: np.ndarray) -> np.ndarray:
        """``A*(z)`` (n1, n2) for ``z`` (m,), without input checks."""

    def residual_and_gradients(self, U: np.ndarray, V: np.ndarray, y: np.ndarray):
        """``(r, A*(r) V, A*(r)^T U)`` with ``r = A(U V^T) - y``.

        ``U`` (n1, k) and ``V`` (n2, k), or stacks (B, n1, k) and (B, n2, k); ``y`` (m,).
        The residual is (m,) or (B, m), the gradients have the shapes of ``U`` and ``V``,
        all in ``U.dtype``. Unchecked: the caller validated the shapes.
        """


class TwoPassGradients:
    """``residual_and_gradients`` from the forward and adjoint maps, one after the other,
    for an operator without a fused pass (the forward map reads the operator once, the
    adjoint a second time)."""

    def residual_and_gradients(self, U: np.ndarray, V: np.ndarray, y: np.ndarray):
        if U.ndim == 2:
            residual, grad_U, grad_V = self.residual_and_gradients(U[None], V[None], y)
            return residual[0], grad_U[0], grad_V[0]
        residual = np.stack(
            [self.forward_unchecked(Ub @ Vb.T) for Ub, Vb in zip(U, V, strict=True)]
        )
        residual = residual - y
        E = np.stack([self.adjoint_unchecked(r) for r in residual])
        dtype = U.dtype
        return (
            residual.astype(dtype, copy=False),
            (E @ V).astype(dtype, copy=False),
            (E.transpose(0, 2, 1) @ U).astype(dtype, copy=False),
        )


def check_operator(
    op, example: str = "GaussianSensing", *, square: bool = False, extra: tuple[str, ...] = ()
) -> None:
    """Raise ``TypeError`` unless ``op`` is a :class:`SensingOperator` (such as ``example``)
    with the ``extra`` attributes; with ``square=True`` also ``ValueError`` unless
    ``op.shape`` is ``(n, n)`` (the symmetric model ``U U^T``)."""
    if not isinstance(op, SensingOperator) or not all(hasattr(op, a) for a in extra):
        raise TypeError(f"op must be a measurement operator (e.g. {example}), got {op!r}")
    if square and op.shape[0] != op.shape[1]:
        raise ValueError(
            f"op must measure square (n, n) matrices for the symmetric model, got shape {op.shape}"
        )
