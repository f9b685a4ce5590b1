"""A one-step rebalancing of the factors, in the spirit of Xiong, Ding & Du (ICLR 2024).

The product ``U V^T`` is unchanged by ``(U, V) -> (U P, V P^{-T})`` for any invertible
``P`` (k x k). Xiong, Ding & Du show that, for overparameterized asymmetric matrix sensing,
gradient descent converges linearly at a rate proportional to α² (the initialization
scale), and that a one-step modification of the factors once the loss is small removes
this dependence on α. Their exact formula was not available to this companion **[U]**:
the step implemented here is *a rebalancing step in the spirit of* their modification,
not their equation.

Why it helps. Near a solution with ``k > r`` the product carries ``k - r`` spurious
directions ``U_⊥ V_⊥^T`` that gradient descent removes at a rate ``μ σ_min(U_⊥)^2`` (or
``μ σ_min(V_⊥)^2``), and the conserved imbalance pins ``σ_min(U_⊥)`` at the order of the
initialization scale α. Rescaling the spurious directions so that ``U`` is well conditioned
(its smallest singular value of order ``√σ_1``) makes them contract at an α-free rate.

The construction. With the thin QR factorizations ``U = Q_U R_U`` and ``V = Q_V R_V`` and
the SVD of the k x k core ``R_U R_V^T = W Σ Z^T``, the product is ``U V^T = L Σ R^T`` with
``L = Q_U W`` (n1 x k) and ``R = Q_V Z`` (n2 x k) orthonormal. The new factors are::

    U' = L D,     V' = R Σ D^{-1},     D_i^2 = max(σ_i, τ),   τ = floor · σ_1,

so ``U' V'^T = L Σ R^T = U V^T`` exactly in exact arithmetic (to rounding in floating
point). On the directions with ``σ_i >= τ`` this is the balanced factorization
``L Σ^{1/2}, R Σ^{1/2}`` (the imbalance ``U'^T U' - V'^T V'`` vanishes there); on the
weaker directions ``U'`` keeps the scale ``√τ`` and ``V'`` carries the small singular
value, so that ``σ_min(U') >= √τ`` and ``U'`` has condition number at most
``1/√floor``. With ``floor = 0`` the result is fully balanced, ``U'^T U' = V'^T V' = Σ``,
and with ``floor = 1`` it is ``U' = √σ_1 L``, a scaled orthonormal (polar-like) factor.
When ``U`` has full column rank and ``D > 0`` this is ``(U P, V P^{-T})`` with
``P = R_U^{-1} W D``.
"""

from __future__ import annotations

import numpy as np

from .. import _validation as check


def rebalance(U, V, *, floor: float = 0.5) -> tuple[np.ndarray, np.ndarray]:
    """Rebalance the factors: ``(U, V) -> (U', V')`` with ``U' V'^T = U V^T`` and ``U'`` well
    conditioned (a rebalancing step in the spirit of Xiong, Ding & Du, 2024; their exact
    formula is not known here).

    Parameters
    ----------
    U : (n1, k) left factor.
    V : (n2, k) right factor (same width ``k``).
    floor : ``0 <= floor <= 1``. Singular values ``σ_i`` of ``U V^T`` below
        ``τ = floor · σ_1`` get the column scale ``√τ`` in ``U'`` instead of ``√σ_i``.
        ``0`` gives the fully balanced factorization ``(L Σ^{1/2}, R Σ^{1/2})``; ``1`` gives
        ``U' = √σ_1 L`` with orthonormal ``L``.

    Returns
    -------
    ``(U', V')`` of shapes (n1, k) and (n2, k): ``U' = L D``, ``V' = R Σ D^{-1}`` with
    ``D_i^2 = max(σ_i, τ)`` (see the module docstring). The imbalance ``U'^T U' - V'^T V'``
    is ``diag(D^2 - Σ^2 D^{-2})``: zero on every direction with ``σ_i >= τ``. Columns of a
    zero singular value are zero in ``V'`` (and in ``U'`` too when ``τ = 0``).
    """
    U = check.array("U", U, ndim=2)
    n1, k = U.shape
    if k < 1 or n1 < 1:
        raise ValueError(f"U must have shape (n1, k) with n1, k >= 1, got {U.shape}")
    V = check.array("V", V, ndim=2, shape=(None, k))
    if V.shape[0] < 1:
        raise ValueError(f"V must have shape (n2, k) with n2 >= 1, got {V.shape}")
    floor = check.real("floor", floor, minimum=0.0, maximum=1.0)
    left, sigma, right = _product_svd(U, V)
    if sigma[0] == 0:
        raise ValueError("U V^T must be non-zero to rebalance (its largest singular value is 0)")
    tau = floor * sigma[0]
    scale_sq = np.maximum(sigma, tau)
    scale = np.sqrt(scale_sq)
    # σ_i / D_i, with 0/0 := 0 (a zero singular value when τ = 0).
    ratio = np.divide(sigma, scale, out=np.zeros_like(sigma), where=scale > 0)
    return left * scale, right * ratio


def _product_svd(U: np.ndarray, V: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``U V^T = L diag(σ) R^T`` with ``L`` (n1, k) and ``R`` (n2, k) having orthonormal
    columns, computed from thin QR factorizations and the SVD of the k x k core (never
    forming the n1 x n2 product). When ``k > min(n1, n2)`` the core is padded with zero
    singular values and the extra columns of ``L``/``R`` are zero."""
    k = U.shape[1]
    q_u, r_u = np.linalg.qr(U)  # q_u: (n1, p) with p = min(n1, k)
    q_v, r_v = np.linalg.qr(V)
    w, sigma, z_t = np.linalg.svd(r_u @ r_v.T)  # core (p_u, p_v)
    left, right = q_u @ w, q_v @ z_t.T
    p = sigma.size
    if p < k:  # only when k exceeds n1 or n2: pad to width k with zero columns
        left = np.hstack([left[:, :p], np.zeros((U.shape[0], k - p))])
        right = np.hstack([right[:, :p], np.zeros((V.shape[0], k - p))])
        sigma = np.concatenate([sigma, np.zeros(k - p)])
    return left[:, :k], sigma, right[:, :k]
