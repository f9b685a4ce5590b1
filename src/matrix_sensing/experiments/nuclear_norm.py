"""Claim N10: the implicit bias towards minimum nuclear norm (Gunasekar et al., NeurIPS 2017;
Li, Ma & Zhang, COLT 2018).

Gunasekar et al. study the symmetric model ``U U^T`` (n x n, full width ``k = n``) started
from ``U_0 = √α I`` and conjecture that, as ``α → 0``, gradient descent converges to the
positive semidefinite interpolant of minimum nuclear norm. This module runs that model
*on the asymmetric solver*: with symmetric measurement matrices ``A_i = A_i^T`` and the
start ``U_0 = V_0 = √α I``, the two factors stay equal, ``U_t = V_t`` for every ``t`` (the
update of ``U`` is ``U - μ E V`` and that of ``V`` is ``V - μ E^T U``, and ``E`` is
symmetric), so :func:`~matrix_sensing.factorized_gd` *is* symmetric gradient descent
``U_{t+1} = U_t - μ E_t U_t`` on ``f(U) = 1/4 ||A(U U^T) - y||^2`` with the same step.

Whether the target ``X`` *is* the minimum-nuclear-norm PSD interpolant depends on ``m``;
:func:`min_trace_certificate` checks it by exhibiting a dual certificate.
"""

from __future__ import annotations

import numpy as np
import scipy.linalg

from .. import _validation as check
from ..initialization import identity_init
from ..metrics import nuclear_norm
from ..operators import GaussianSensing, check_operator
from ..solvers import factorized_gd
from ..targets import psd_target
from ._common import Run, spawn_seeds
from .declaration import (
    CONDITION_NUMBER,
    ITERATIONS,
    MAX_SIZE,
    MEASUREMENTS,
    POSITIVE,
    SIZE,
    Interval,
    Parameter,
    declare,
)


def symmetric_sensing(m: int, n: int, *, seed: int) -> GaussianSensing:
    """Symmetric Gaussian measurements ``A_i = (G_i + G_i^T) / 2`` (see ``book/setup.md``,
    "Symmetric variant"), with ``G_i`` the (n x n) matrices of
    ``GaussianSensing(m, (n, n), seed)`` (i.i.d. N(0, 1/m)). Each ``A_i`` is exactly
    symmetric in floating point."""
    m = check.integer("m", m, minimum=1)
    n = check.integer("n", n, minimum=1)
    check.entries("the measurement matrices", ("m", m), ("n", n), ("n", n))
    G = GaussianSensing(m, (n, n), seed=seed).array
    return GaussianSensing.from_array((G + G.transpose(0, 2, 1)) / 2)


def min_trace_certificate(op, Q) -> dict[str, float]:
    """Check that ``X`` (PSD, column space spanned by the orthonormal ``Q``, n x r) is the
    unique PSD solution of minimum trace (= nuclear norm on the PSD cone) of ``A(Z) = A(X)``.

    By convex duality it suffices that (i) ``A`` is injective on the tangent space
    ``T = {Q M^T + M Q^T}`` of the rank-r PSD matrices at ``X``, and (ii) some
    ``Y = A*(λ)`` satisfies ``Y Q = Q`` and ``λ_max(P Y P) < 1`` on ``P = I - Q Q^T``
    (then ``I - Y`` is a dual slack with ``(I - Y) X = 0``, positive definite off the
    column space of X). The equality constraints fix ``λ`` up to the null space of a
    linear map; over that affine set this function minimizes a smoothed ``max(λ_max, 0)``
    (log-sum-exp of the eigenvalues of ``P Y P`` on ``range(P)`` and of 0, L-BFGS) from the
    minimum-norm ``λ``. It is a sufficient test: ``certificate < 1`` proves the claim; a
    value ``>= 1`` is inconclusive.

    ``op``: a symmetric operator (e.g. :func:`symmetric_sensing`). Returns ``certificate``
    (``λ_max(P Y P)`` at the λ found, exact for that λ), ``least_squares`` (the same at the
    minimum-norm λ), ``constraint_residual`` (``||P_T(Y) - Q Q^T||_F``, rounding level) and
    ``injectivity`` (smallest singular value of ``A`` on an orthonormal basis of ``T``,
    > 0 means injective).
    """
    check_operator(op, "symmetric_sensing(m, n, seed=0)", extra=("array",))
    n = op.shape[0]
    if op.shape != (n, n):
        raise ValueError(f"op must measure square matrices, got shape {op.shape}")
    Q = check.array("Q", Q, ndim=2, shape=(n, None))
    r = Q.shape[1]
    if not 1 <= r < n or not np.allclose(Q.T @ Q, np.eye(r), atol=1e-10):
        raise ValueError("Q must have 1 <= r < n orthonormal columns")
    A = op.array
    if not np.allclose(A, A.transpose(0, 2, 1), rtol=0, atol=1e-12):
        raise ValueError("op must have symmetric measurement matrices A_i = A_i^T")
    P = np.eye(n) - Q @ Q.T
    tangent = A - P @ A @ P  # P_T(A_i) = A_i - P A_i P, (m, n, n)
    M = tangent.reshape(op.m, -1).T  # λ -> vec(P_T(A*(λ)))
    target = (Q @ Q.T).ravel()
    lam0 = np.linalg.lstsq(M, target, rcond=None)[0]
    null = scipy.linalg.null_space(M)  # (m, d): the free directions of λ
    B = scipy.linalg.null_space(Q.T)  # (n, n - r): orthonormal basis of range(P)
    C = np.einsum("ia,mij,jb->mab", B, A, B).reshape(op.m, -1)  # λ -> vec(B^T A*(λ) B)
    k = B.shape[1]
    beta = 100.0  # sharpness of the smoothed maximum (error <= ln(n - r) / beta)

    def lam_max(lam) -> float:
        return float(np.linalg.eigvalsh((lam @ C).reshape(k, k)).max())

    def smoothed(z):
        # Smoothed max(λ_max, 0): pushing λ_max below 0 proves nothing more, and stopping
        # there keeps λ bounded when the dual problem is unbounded (X the only PSD solution).
        w, vecs = np.linalg.eigh(((lam0 + null @ z) @ C).reshape(k, k))
        top = max(w.max(), 0.0)
        e, e0 = np.exp(beta * (w - top)), np.exp(-beta * top)
        total = e.sum() + e0
        value = top + np.log(total) / beta
        grad = null.T @ (C @ ((vecs * (e / total)) @ vecs.T).ravel())
        return value, grad

    lam = lam0
    if null.shape[1]:
        from scipy.optimize import minimize  # on first use: a quarter of a second to import

        found = minimize(
            smoothed,
            np.zeros(null.shape[1]),
            jac=True,
            method="L-BFGS-B",
            options={"maxiter": 1000},
        )
        lam = min((lam0, lam0 + null @ found.x), key=lam_max)
    # An orthonormal basis of T (symmetric matrices Q S Q^T and Q N^T B^T + B N Q^T).
    basis = []
    for i in range(r):
        for j in range(i, r):
            E = np.outer(Q[:, i], Q[:, j])
            basis.append((E + E.T) / np.linalg.norm(E + E.T))
        for j in range(n - r):
            E = np.outer(Q[:, i], B[:, j])
            basis.append((E + E.T) / np.linalg.norm(E + E.T))
    on_tangent = op.matrix @ np.stack([b.ravel() for b in basis], axis=1)  # (m, dim T)
    if op.m < on_tangent.shape[1]:
        injectivity = 0.0  # fewer measurements than dim T: A cannot be injective on T
    else:
        injectivity = float(np.linalg.svd(on_tangent, compute_uv=False).min())
    return {
        "certificate": lam_max(lam),
        "least_squares": lam_max(lam0),
        "constraint_residual": float(np.linalg.norm(M @ lam - target)),
        "injectivity": injectivity,
    }


def identity_init_limit(
    *,
    n: int,
    r: int,
    kappa: float,
    m: int,
    alphas: list[float],
    step: float,
    iters: int,
    seed: int,
) -> Run:
    """Claim N10 on one draw of a PSD target and symmetric measurements.

    For each ``α`` in ``alphas`` (distinct, > 0), gradient descent of full width ``k = n``
    from ``U_0 = V_0 = √α I`` (:func:`~matrix_sensing.initialization.identity_init`) runs
    ``iters`` steps of size ``step`` on the same data, recorded every 50 iterations; result
    ``f"alpha={α:g}"``. Its history has ``nuclear_gap``
    ``(||U_t V_t^T||_* - ||X||_*) / ||X||_*`` (signed) and ``factor_gap``
    ``||U_t - V_t||_F / ||U_t||_F`` (zero up to rounding: the run is symmetric GD).

    ``data``: ``alphas``, ``final_gap`` (signed gap at T per α), ``final_loss``, ``nuclear_x``
    (``||X||_*``), ``max_factor_gap`` (max over α and t of ``factor_gap``), and the
    :func:`min_trace_certificate` of ``X`` (keys ``certificate``, ``least_squares``,
    ``constraint_residual``, ``injectivity``).
    """
    params = {
        "n": n,
        "r": r,
        "kappa": kappa,
        "m": m,
        "alphas": alphas,
        "step": step,
        "iters": iters,
    }
    # Check every parameter under its own name before any run starts.
    n = check.integer("n", n, minimum=2)
    r = check.integer("r", r, minimum=1, maximum=n - 1)
    kappa = check.real("kappa", kappa, minimum=1.0)
    m = check.integer("m", m, minimum=1)
    alphas = check_alphas(alphas)
    step = check.real("step", step, positive=True)
    iters = check.integer("iters", iters, minimum=1)

    target_seed, operator_seed = spawn_seeds(seed, 2)
    truth, Q = psd_target(n, r, kappa, seed=target_seed, return_basis=True)
    op = symmetric_sensing(m, n, seed=operator_seed)
    y = op(truth)
    nuclear_x = nuclear_norm(truth)
    metrics = {
        "nuclear_gap": lambda U, V: (nuclear_norm(U @ V.T) - nuclear_x) / nuclear_x,
        "factor_gap": lambda U, V: float(np.linalg.norm(U - V) / np.linalg.norm(U)),
    }
    run = Run("identity_init_limit", params, seed, truth)
    for alpha in alphas:
        U0 = identity_init(n, n, alpha)
        run.results[f"alpha={alpha:g}"] = factorized_gd(
            op, y, U0, U0.copy(), step, iters, truth=truth, record_every=50, metrics=metrics
        )
    histories = [result.history for result in run.results.values()]
    run.data.update(
        alphas=np.array(alphas),
        final_gap=np.array([h["nuclear_gap"][-1] for h in histories]),
        final_loss=np.array([h["train_loss"][-1] for h in histories]),
        nuclear_x=nuclear_x,
        max_factor_gap=max(float(h["factor_gap"].max()) for h in histories),
        **min_trace_certificate(op, Q),
    )
    return run


def check_alphas(alphas) -> list[float]:
    """A list of at least two distinct initialization scales α > 0, returned in decreasing
    order (the claim reads the gap as α decreases)."""
    if isinstance(alphas, (str, bytes)) or not hasattr(alphas, "__iter__"):
        raise TypeError(f"alphas must be a list of numbers > 0, got {alphas!r}")
    alphas = [check.real("alphas[]", a, positive=True) for a in alphas]
    if len(alphas) < 2 or len(set(alphas)) != len(alphas):
        raise ValueError(f"alphas must hold at least two distinct values, got {alphas}")
    return sorted(alphas, reverse=True)


# Symmetric PSD problem, n=20, r=2, κ=2, m=100 < n(n+1)/2 = 210: below the ~125 generic
# measurements at which X becomes the only PSD interpolant (α = 0.1 converges to another one),
# above the number at which X is the minimum-trace PSD interpolant (dual certificate, see
# min_trace_certificate). Full width k = n, μ = 0.5. The paper scale is n = 30, m = 200:
# again below n(n+1)/2 = 465 and below the ~262 at which X is the only PSD interpolant.
#: The parameters of :func:`identity_init_limit` (claim N10).
DECLARATION = declare(
    identity_init_limit,
    Parameter("n", Interval(int, 2, MAX_SIZE), 20, 30, "size of the PSD target X (n × n)"),
    Parameter("r", SIZE, 2, 2, "rank of X"),
    Parameter("kappa", CONDITION_NUMBER, 2.0, 2.0, "condition number κ = λ_1/λ_r of X"),
    Parameter("m", MEASUREMENTS, 100, 200, "number of symmetric Gaussian measurements"),
    Parameter(
        "alphas",
        POSITIVE,
        [1e-1, 1e-2, 1e-3, 1e-4, 1e-5, 1e-6, 1e-7, 1e-8],
        [1e-1, 1e-2, 1e-3, 1e-4, 1e-5, 1e-6, 1e-7, 1e-8],
        "scales α of the starts U_0 = V_0 = √α I (at least 2, distinct)",
    ),
    Parameter("step", POSITIVE, 0.5, 0.5, "step size μ"),
    Parameter("iters", ITERATIONS, 2000, 2000, "iterations T"),
)
