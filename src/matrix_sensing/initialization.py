"""Initializations of the factors (U_0, V_0)."""

from __future__ import annotations

import numpy as np

from . import _validation as check


def small_random_init(
    n1: int, n2: int, k: int, alpha: float, *, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """Small random initialization ``U_0 = alpha G_U``, ``V_0 = alpha G_V``.

    ``G_U`` (n1 x k) and ``G_V`` (n2 x k) have i.i.d. N(0, 1/k) entries; ``alpha`` > 0 is
    the scale (the paper's α), ``k`` >= 1 the width. Returns ``(U0, V0)``.
    """
    n1 = check.integer("n1", n1, minimum=1)
    n2 = check.integer("n2", n2, minimum=1)
    k = check.integer("k", k, minimum=1)
    alpha = check.real("alpha", alpha, positive=True)
    check.entries("U0", ("n1", n1), ("k", k))
    check.entries("V0", ("n2", n2), ("k", k))
    rng = np.random.default_rng(check.seed("seed", seed))
    scale = alpha / np.sqrt(k)
    U0 = scale * rng.standard_normal((n1, k))
    V0 = scale * rng.standard_normal((n2, k))
    return U0, V0


def unequal_scale_init(
    n1: int, n2: int, k: int, alpha: float, ratio: float, *, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """Small random initialization with unequal scales: ``U_0 = α G_U``, ``V_0 = (α/ratio) G_V``
    (Xiong, Ding & Du use ``ratio = 3``). Same Gaussian draw as :func:`small_random_init`."""
    ratio = check.real("ratio", ratio, positive=True)
    U0, V0 = small_random_init(n1, n2, k, alpha, seed=seed)
    return U0, V0 / ratio


def identity_init(n: int, k: int, alpha: float) -> np.ndarray:
    """``U_0 = √α · I`` (n x k: the first k columns of the identity), the initialization of
    Gunasekar et al. (2017) for ``U U^T`` models; ``U_0 U_0^T = α`` on the first k axes."""
    n = check.integer("n", n, minimum=1)
    k = check.integer("k", k, minimum=1)
    alpha = check.real("alpha", alpha, positive=True)
    check.entries("U0", ("n", n), ("k", k))
    return np.sqrt(alpha) * np.eye(n, k)


def spectral_init(op, y, r: int) -> tuple[np.ndarray, np.ndarray]:
    """Spectral initialization: with ``A*(y) ≈ L Σ R^T`` (top-``r`` SVD), ``U_0 = L Σ^{1/2}``
    (n1 x r) and ``V_0 = R Σ^{1/2}`` (n2 x r), so that ``U_0 V_0^T`` is the best rank-r
    approximation of ``A*(y)`` and the factors are balanced."""
    if not all(hasattr(op, attribute) for attribute in ("m", "shape", "adjoint")):
        raise TypeError(f"op must be a measurement operator (e.g. GaussianSensing), got {op!r}")
    y = check.array("y", y, ndim=1, shape=(op.m,))
    r = check.integer("r", r, minimum=1, maximum=min(op.shape))
    left, sigma, right_t = np.linalg.svd(op.adjoint(y), full_matrices=False)
    root = np.sqrt(sigma[:r])
    return left[:, :r] * root, right_t[:r].T * root
