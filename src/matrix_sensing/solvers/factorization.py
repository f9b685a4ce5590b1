"""Plain matrix factorization ``min_{U, V} 1/2 ||U V^T - M||_F^2`` by ScaledGD, with the
Nyström initialization of Li, Zhang, Mokhtari & He (ICLR 2025).

Factorization is matrix sensing with the identity as the measurement operator
(:class:`IdentitySensing`: ``A(Z) = vec(Z)``, ``y = vec(M)``), so the solver is the one
preconditioned update of :mod:`matrix_sensing.solvers.preconditioned` with the ScaledGD policy
(``λ = 0``): ``U ← U - μ (U V^T - M) V (V^T V)^{-1}``, ``V ← V - μ (U V^T - M)^T U (U^T U)^{-1}``.

Nyström initialization. The initialization is recalled, unverified, as ``X_0 = M Ω`` for
a Gaussian sketch ``Ω`` (see ``book/neighbours/nystrom.md``). For the asymmetric problem
this companion uses (:func:`nystrom_init`, **this companion's reading**: the paper's
asymmetric construction was not available to this companion)::

    U_0 = M Ω,    V_0 = M^T U_0 = M^T M Ω,     Ω ∈ R^{n2 × k}, i.i.d. N(0, 1/k).

Both factors are sketches of ``M``: with ``k = r`` (and ``Ω`` in general position, which
holds with probability one) ``range(U_0) = range(M)`` and ``range(V_0) = range(M^T)``.
Writing ``M = L Σ R^T``, ``U = L B``, ``V = R C`` and ``P = B C^T`` (r × r), one ScaledGD
step with ``μ = 1/2`` maps ``P`` to ``P' = (P + 2Σ + Σ P^{-1} Σ)/4``, i.e. **[D]**::

    P' - Σ = (1/4) (P - Σ) P^{-1} (P - Σ),

a quadratic contraction (Heron's square-root iteration in disguise): ``Q = Σ^{-1/2} P Σ^{-1/2}``
follows ``Q' = (Q + 2I + Q^{-1})/4``. Here ``P_0 = Σ G G^T Σ^2`` with ``G = R^T Ω``, so
``Q_0 = Σ^{1/2} G G^T Σ^{3/2}`` is similar to the positive definite ``Σ G G^T Σ``; each of
its eigenvalues ``q > 0`` follows ``q' - 1 = (q - 1)^2 / (4q)`` and converges to 1,
quadratically once close. From a random initialization the part of ``U`` outside
``range(M)`` is only multiplied by ``1 - μ`` per step (linear convergence, rate 1/2 at
``μ = 1/2``).
"""

from __future__ import annotations

import numpy as np

from .. import _validation as check
from ..operators import IdentitySensing
from .driver import GDResult, divergence_context
from .preconditioned import preconditioned_gd


def nystrom_init(M, k: int, *, seed: int, symmetric: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Nyström initialization from the sketch ``M Ω``, ``Ω`` (n2 × k) i.i.d. N(0, 1/k).

    ``symmetric=False``: ``U_0 = M Ω`` (n1 × k), ``V_0 = M^T U_0`` (n2 × k), this
    companion's reading for the asymmetric problem (module docstring).
    ``symmetric=True``: ``U_0 = V_0 = M Ω`` for a symmetric ``M`` (n × n), the ``X_0 = M Ω``
    of the symmetric problem ``min ||X X^T - M||_F``; ScaledGD keeps ``U_t = V_t`` from it.

    ``M``: non-zero (n1, n2); ``k`` >= 1; ``seed`` a non-negative integer.
    """
    M = check.array("M", M, ndim=2)
    if not np.any(M):
        raise ValueError("M must be a non-zero matrix")
    if symmetric and (M.shape[0] != M.shape[1] or not np.array_equal(M, M.T)):
        raise ValueError(f"M must be exactly symmetric for symmetric=True, got shape {M.shape}")
    k = check.integer("k", k, minimum=1)
    check.entries("the sketch", ("n2", M.shape[1]), ("k", k))
    rng = np.random.default_rng(check.seed("seed", seed))
    omega = rng.standard_normal((M.shape[1], k)) / np.sqrt(k)
    U0 = M @ omega
    return (U0, U0.copy()) if symmetric else (U0, M.T @ U0)


def heron_prediction(M, U0, V0, steps: int) -> np.ndarray:
    """The relative errors ``||U_t V_t^T - M||_F / ||M||_F``, ``t = 0 .. steps``, that
    ScaledGD with step ``μ = 1/2`` must produce from ``(U0, V0)`` when ``k = r = rank(M)``,
    ``range(U0) = range(M)`` and ``range(V0) = range(M^T)`` (e.g. a Nyström start), by the
    recursion of the module docstring **[D]**: with ``Q_0 = W diag(q) W^{-1}``, ``Q_t =
    W diag(h^t(q)) W^{-1}`` for the scalar map ``h(q) = (q + 1)^2 / (4q)``.

    ``M``: (n1, n2) of rank k; ``U0``: (n1, k), ``V0``: (n2, k); ``steps`` >= 0. Raises
    ``ValueError`` if ``Q_0`` has an eigenvalue that is not real and positive (the
    recursion then does not converge to ``M``).
    """
    M = check.array("M", M, ndim=2)
    U0 = check.array("U0", U0, ndim=2, shape=(M.shape[0], None))
    k = U0.shape[1]
    V0 = check.array("V0", V0, ndim=2, shape=(M.shape[1], k))
    steps = check.integer("steps", steps, minimum=0)
    left, sigma, right_t = np.linalg.svd(M, full_matrices=False)
    L, R, root = left[:, :k], right_t[:k].T, np.sqrt(sigma[:k])
    if root[-1] == 0:
        raise ValueError(f"M must have rank >= k = {k}")
    Q = (L.T @ U0 @ V0.T @ R) / np.outer(root, root)  # Σ^{-1/2} P Σ^{-1/2}
    q, W = np.linalg.eig(Q)
    if np.any(np.abs(q.imag) > 1e-12 * np.abs(q)) or np.any(q.real <= 0):
        raise ValueError(f"Q_0 must have real positive eigenvalues, got {q}")
    q, W = q.real, W.real
    W_inv = np.linalg.inv(W)
    norm = np.linalg.norm(sigma)
    errors = []
    for _ in range(steps + 1):
        core = (W * (q - 1.0)) @ W_inv  # Q_t - I
        errors.append(np.linalg.norm(core * np.outer(root, root)) / norm)
        q = (q + 1.0) ** 2 / (4.0 * q)
    return np.array(errors)


def scaled_gd_factorization(
    M,
    U0,
    V0,
    step: float,
    iters: int,
    record_every: int = 1,
    stop_below: float | None = None,
    divergence_factor: float = 1e6,
    progress: bool = False,
) -> GDResult:
    """ScaledGD (λ = 0) on ``1/2 ||U V^T - M||_F^2`` from ``(U0, V0)``.

    ``M``: (n1, n2) non-zero target; ``U0``: (n1, k), ``V0``: (n2, k) with full column rank
    (ScaledGD inverts ``U^T U`` and ``V^T V``; a singular one raises ``ValueError``);
    ``step``: μ > 0; ``iters``: maximum number of steps; ``stop_below``: stop once the
    relative error ``||U V^T - M||_F / ||M||_F`` is at most this; ``divergence_factor`` as
    in :func:`~matrix_sensing.solvers.preconditioned_gd` (ScaledGD from a small start
    ``α G`` overshoots on its first step, by a factor of order ``1/α^2``, before it
    converges, so such runs need a large factor). The history has
    ``test_error`` (that relative error), ``train_loss`` (``1/2 ||U V^T - M||_F^2``) and the
    entries of :func:`~matrix_sensing.solvers.preconditioned_gd`.
    """
    M = check.array("M", M, ndim=2)
    op = IdentitySensing(M.shape)
    step = check.real("step", step, positive=True)
    hint = (
        f"step={step:g} is too large: the analysis of the Nyström start (module docstring) "
        "uses step=0.5, and the step does not scale with ||M||; try step=0.5. A small random "
        "start first overshoots by a factor of order 1/α²: for that, raise divergence_factor "
        "rather than lowering the step."
    )
    with divergence_context(algorithm="ScaledGD (matrix factorization)", hint=hint):
        return preconditioned_gd(
            op,
            op.forward_unchecked(M),
            U0,
            V0,
            step,
            iters,
            policy="scaledgd",
            truth=M,
            record_every=record_every,
            stop_below=stop_below,
            divergence_factor=divergence_factor,
            progress=progress,
        )
