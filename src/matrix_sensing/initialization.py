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
    rng = np.random.default_rng(check.seed("seed", seed))
    scale = alpha / np.sqrt(k)
    U0 = scale * rng.standard_normal((n1, k))
    V0 = scale * rng.standard_normal((n2, k))
    return U0, V0
