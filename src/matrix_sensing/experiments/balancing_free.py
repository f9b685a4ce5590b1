"""Claim N5: balancing-free gradient descent (Ma, Li & Chi, IEEE TSP 2021).

Earlier analyses of asymmetric factorized gradient descent with the exact width ``k = r``
added a balancing regularizer ``(λ/4) ||U^T U - V^T V||_F^2`` to the loss (the Procrustes
flow of Tu et al.). Ma, Li & Chi showed that from a spectral initialization plain gradient
descent converges linearly without it. The experiment runs both on the same data from the
same spectral start and records the imbalance along the way.
"""

from __future__ import annotations

import numpy as np

from .. import _validation as check
from ..initialization import spectral_init
from ..operators import check_operator
from ..solvers import factorized_gd
from ._common import Run, sensing_problem
from .declaration import (
    CONDITION_NUMBER,
    ITERATIONS,
    MEASUREMENTS,
    POSITIVE,
    SIZE,
    Parameter,
    declare,
)


def relative_imbalance(scale: float):
    """A ``factorized_gd`` metric ``(U, V) -> ||U^T U - V^T V||_F / scale`` (Frobenius norm;
    the gradient-descent history's own ``imbalance`` is the operator norm). ``scale`` > 0 is
    e.g. ``σ1(X)``."""
    scale = check.real("scale", scale, positive=True)

    def metric(U, V) -> float:
        return float(np.linalg.norm(U.T @ U - V.T @ V) / scale)

    return metric


def linearized_rate(op, truth, r: int, step: float) -> float:
    """The local contraction factor ``1 - μ λ_min`` of gradient descent of width ``r`` near the
    balanced factorization ``U_* = L Σ^{1/2}``, ``V_* = R Σ^{1/2}`` of ``truth`` (X = L Σ R^T).

    Linearizing the update at ``(U_*, V_*)`` gives ``δW -> (I - μ H) δW`` with
    ``H = J^T A^T A J`` and ``J(δU, δV) = δU V_*^T + U_* δV^T``. ``H`` has ``r²`` zero
    eigenvalues (the directions ``(U_* S, -V_* S^T)`` that leave the product unchanged);
    ``λ_min`` is the next one. For the identity operator it is ``σ_r(X)`` (the "population
    rate" ``1 - μ σ_r``); Gaussian sensing lowers it. ``op``: (n1, n2) operator with
    ``m`` measurements; ``truth``: (n1, n2) of rank >= ``r``; ``step``: μ > 0.
    """
    check_operator(op, extra=("matrix",))  # the dense (m, n1 n2) matrix of the operator
    truth = check.array("truth", truth, ndim=2, shape=op.shape)
    r = check.integer("r", r, minimum=1, maximum=min(op.shape))
    step = check.real("step", step, positive=True)
    n1, n2 = op.shape
    left, sigma, right_t = np.linalg.svd(truth, full_matrices=False)
    U, V = left[:, :r] * np.sqrt(sigma[:r]), right_t[:r].T * np.sqrt(sigma[:r])
    # Columns of J in the C-order vec(Z)[i*n2 + j] = Z[i, j]: δU -> δU V^T is kron(I, V),
    # δV -> U δV^T is kron(U, I).
    jacobian = np.hstack([np.kron(np.eye(n1), V), np.kron(U, np.eye(n2))])
    sensed = op.matrix @ jacobian
    eigenvalues = np.linalg.eigvalsh(sensed.T @ sensed)
    return float(1.0 - step * eigenvalues[r * r])


def balancing_free(
    *,
    n1: int,
    n2: int,
    r: int,
    kappa: float,
    m: int,
    step: float,
    iters: int,
    balance_weight: float,
    seed: int,
) -> Run:
    """Claim N5 on one draw of the data: gradient descent of width ``k = r`` from the spectral
    initialization (:func:`~matrix_sensing.initialization.spectral_init`), with and without
    the balancing regularizer.

    Results (both recorded at every iteration, ``T = iters`` steps of size ``step``):

    - ``"plain"``: ``factorized_gd`` with ``balance_weight=0``, the balancing-free method;
    - ``"regularized"``: the same start with ``balance_weight=λ`` (``λ = balance_weight >
      0``), i.e. the loss ``f + (λ/4) ||U^T U - V^T V||_F^2``.

    Each history has ``balance`` ``||U_t^T U_t - V_t^T V_t||_F / σ1(X)``. ``data``:
    ``sigma1`` (σ1(X)), ``initial_error`` (the spectral estimate's relative test error) and
    ``linearized_rate`` (:func:`linearized_rate`, the predicted local contraction factor).
    """
    params = {
        "n1": n1,
        "n2": n2,
        "r": r,
        "kappa": kappa,
        "m": m,
        "step": step,
        "iters": iters,
        "balance_weight": balance_weight,
    }
    # Check every parameter under its own name before any run starts.
    n1 = check.integer("n1", n1, minimum=1)
    n2 = check.integer("n2", n2, minimum=1)
    r = check.integer("r", r, minimum=1, maximum=min(n1, n2))
    check.real("kappa", kappa, minimum=1.0)
    check.integer("m", m, minimum=1)
    step = check.real("step", step, positive=True)
    iters = check.integer("iters", iters, minimum=1)
    balance_weight = check.real("balance_weight", balance_weight, positive=True)

    truth, op, y = sensing_problem(n1, n2, r, kappa, m, seed=seed)
    U0, V0 = spectral_init(op, y, r)
    sigma1 = float(np.linalg.norm(truth, 2))
    balance = relative_imbalance(sigma1)
    run = Run("balancing_free", params, seed, truth)
    for name, weight in (("plain", 0.0), ("regularized", balance_weight)):
        run.results[name] = factorized_gd(
            op,
            y,
            U0,
            V0,
            step,
            iters,
            truth=truth,
            metrics={"balance": balance},
            balance_weight=weight,
        )
    run.data["sigma1"] = sigma1
    run.data["initial_error"] = float(np.linalg.norm(U0 @ V0.T - truth) / np.linalg.norm(truth))
    run.data["linearized_rate"] = linearized_rate(op, truth, r, step)
    return run


# The sizes stated on ``book/neighbours/balancing_free.md``: n1=40, n2=30, r=3 (k=r),
# m=1260 (= 6r(n1+n2)), μ=0.3; κ=2 as in configuration B (``book/setup.md``). λ = 1/2 in the
# normalisation (λ/4)||U^T U - V^T V||_F^2 of factorized_gd, i.e. the regularizer
# (1/8)||U^T U - V^T V||_F^2 (the weight recalled from Tu et al.'s Procrustes flow, [U]). The
# paper scale doubles n1 and n2 at the same m = 6r(n1+n2).
#: The parameters of :func:`balancing_free` (claim N5).
DECLARATION = declare(
    balancing_free,
    Parameter("n1", SIZE, 40, 80, "rows of the target X (n1 × n2)"),
    Parameter("n2", SIZE, 30, 60, "columns of X"),
    Parameter("r", SIZE, 3, 3, "rank of X, and the width k of the factors"),
    Parameter("kappa", CONDITION_NUMBER, 2.0, 2.0, "condition number κ = σ_1/σ_r of X"),
    Parameter("m", MEASUREMENTS, 1260, 2520, "number of Gaussian measurements"),
    Parameter("step", POSITIVE, 0.3, 0.3, "step size μ"),
    Parameter("iters", ITERATIONS, 250, 250, "iterations T"),
    Parameter(
        "balance_weight", POSITIVE, 0.5, 0.5, "λ of the regularizer (λ/4)||U^T U - V^T V||_F^2"
    ),
)
