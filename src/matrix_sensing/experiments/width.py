"""Claim M10: the role of the width k. The same problem is fitted by gradient descent at
several widths k, from the same small Gaussian draw, so that k is the only thing that
changes.

* ``k = r`` (exact parameterization) converges linearly, down to rounding;
* every ``k > r`` also generalizes, but stalls at a floor that depends on the scale α;
* the *escape time* (first iteration with test error below ``escape_level``) barely
  depends on ``k``: the spectral phase that ends there sees only the top-r directions.

**Nested draws.** One Gaussian pair ``(G_U, G_V)`` of shape ``(n1, K)`` and ``(n2, K)``
with i.i.d. N(0, 1) entries is drawn per seed, ``K`` the largest width used; the width-k
run starts from its first k columns scaled so that the entries are N(0, α²/k), as in the
package's small random initialization ``U_0 = α G``, ``G_{jl} ~ N(0, 1/k)``::

    U_0(k) = α G_U[:, :k] / √k,        V_0(k) = α G_V[:, :k] / √k.

The draw is that of :func:`~matrix_sensing.small_random_init` at width ``K`` (same seed
stream, rescaled by √K), so ``U_0(K)`` is exactly the package's initialization at width K.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from .. import _validation as check
from ..initialization import small_random_init
from ..solvers import GDResult
from ._common import (
    Run,
    _single_run_factors,
    escape_time,
    run_in_chunks,
    sensing_problem,
    spawn_seeds,
)
from .declaration import (
    CONDITION_NUMBER,
    ITERATIONS,
    MEASUREMENTS,
    POSITIVE,
    SIZE,
    SMALL_SCALE,
    Parameter,
    declare,
)

# Until the escape the runs are recorded at every iteration, in chunks of this many
# iterations; after the chunk in which the test error first drops below the escape level
# they are recorded every ``record_every`` iterations.
ESCAPE_CHUNK = 50
# Runs of width up to this share one batch, padded with zero columns (see width_sweep).
SMALL_WIDTH = 16


def check_widths(widths, r: int) -> list[int]:
    """Validate the widths: distinct integers >= 1, containing ``r`` and some ``k > r``."""
    r = check.integer("r", r, minimum=1)
    if isinstance(widths, (str, bytes)) or not hasattr(widths, "__iter__"):
        raise TypeError(f"widths must be a list of integers >= 1, got {widths!r}")
    values = [check.integer("widths[]", k, minimum=1) for k in widths]
    if len(set(values)) != len(values) or r not in values or max(values, default=0) <= r:
        raise ValueError(
            f"widths must be distinct integers >= 1 that contain the rank r={r} and at least "
            f"one width k > r, got {list(widths)}"
        )
    return values


def check_extra_alphas(alphas) -> list[float]:
    """Validate the extra scales: a non-empty list of distinct numbers in (0, 1)."""
    if isinstance(alphas, (str, bytes)) or not hasattr(alphas, "__iter__"):
        raise TypeError(f"extra_alphas must be a list of numbers in (0, 1), got {alphas!r}")
    values = [check.real("extra_alphas[]", a) for a in alphas]
    if not values or any(not 0 < a < 1 for a in values) or len(set(values)) != len(values):
        raise ValueError(
            f"extra_alphas must contain at least one number, all distinct and in (0, 1), "
            f"got {list(alphas)}"
        )
    return values


def nested_init(G_U, G_V, k: int, alpha: float) -> tuple[np.ndarray, np.ndarray]:
    """``(α G_U[:, :k] / √k, α G_V[:, :k] / √k)``: the width-k initialization taken from
    N(0, 1) draws ``G_U`` (n1, K) and ``G_V`` (n2, K) with ``K >= k`` columns."""
    G_U = check.array("G_U", G_U, ndim=2)
    G_V = check.array("G_V", G_V, ndim=2, shape=(None, G_U.shape[1]))
    k = check.integer("k", k, minimum=1, maximum=G_U.shape[1])
    alpha = check.real("alpha", alpha, positive=True)
    scale = alpha / math.sqrt(k)
    return scale * G_U[:, :k], scale * G_V[:, :k]


def run_recording_escape(
    op,
    y,
    U0,
    V0,
    step: float,
    iters: int,
    truth,
    *,
    level: float,
    record_every: int,
    chunk: int = ESCAPE_CHUNK,
) -> GDResult:
    """``iters`` iterations of :func:`~matrix_sensing.factorized_gd` from ``(U0, V0)``,
    recorded at every iteration until the end of the chunk (of ``chunk`` iterations) in
    which the test error first drops below ``level``, and every ``record_every`` iterations
    afterwards (the last iteration is always recorded).

    The pieces continue from each other's last iterate, so the iterates are exactly those
    of one run of ``iters`` iterations; the returned history is the concatenation.
    """
    U0, V0 = _single_run_factors(op, U0, V0)
    step = check.real("step", step, positive=True)
    iters = check.integer("iters", iters, minimum=1)
    level = check.real("level", level, positive=True)
    record_every = check.integer("record_every", record_every, minimum=1)
    chunk = check.integer("chunk", chunk, minimum=1)
    (result,) = run_in_chunks(
        op, y, U0, V0, [step], [iters], truth, level=level, chunk=chunk, then_every=record_every
    )
    return result


def width_sweep(
    *,
    n1: int,
    n2: int,
    r: int,
    kappa: float,
    m: int,
    widths: Sequence[int],
    alpha: float,
    step: float,
    iters: int,
    escape_level: float,
    extra_width: int,
    extra_alphas: Sequence[float],
    seed: int,
    record_every: int = 10,
) -> Run:
    """Claim M10 on one problem: gradient descent at each width of ``widths`` from scale
    ``alpha``, plus the width ``extra_width`` from each scale of ``extra_alphas`` (to show
    how the floor depends on α).

    Every run has ``iters`` iterations at step ``step`` from the nested draw of the module
    docstring, recorded at every iteration until shortly after the escape and every
    ``record_every`` iterations afterwards (as :func:`run_recording_escape`; the runs
    advance together, as batches of :func:`~matrix_sensing.factorized_gd`).

    Results: ``"k=<k>"`` for each width and ``"extra/k=<k>/alpha=<α:g>"``. Data: ``widths``,
    ``final_test_error`` and ``escape_time`` (one per width, ``nan`` if the test error never
    went below ``escape_level``), ``extra_alphas`` and ``extra_final_test_error``,
    ``sigma_r`` (smallest non-zero singular value of the target).
    """
    params = {
        "n1": n1,
        "n2": n2,
        "r": r,
        "kappa": kappa,
        "m": m,
        "widths": widths,
        "alpha": alpha,
        "step": step,
        "iters": iters,
        "escape_level": escape_level,
        "extra_width": extra_width,
        "extra_alphas": extra_alphas,
    }
    # Check every parameter under its own name before any long run starts.
    n1 = check.integer("n1", n1, minimum=1)
    n2 = check.integer("n2", n2, minimum=1)
    r = check.integer("r", r, minimum=1, maximum=min(n1, n2))
    widths = check_widths(widths, r)
    alpha = check.real("alpha", alpha, positive=True)
    step = check.real("step", step, positive=True)
    iters = check.integer("iters", iters, minimum=1)
    escape_level = check.real("escape_level", escape_level, positive=True)
    extra_width = check.integer("extra_width", extra_width, minimum=1)
    # The initial factors (n1, k) and (n2, k) of the widest runs (and the draw they come
    # from): a mistyped width (1e10) is refused here, naming it, before anything is drawn.
    for name, k in (("widths", max(widths)), ("extra_width", extra_width)):
        check.entries("U0", ("n1", n1), (name, k))
        check.entries("V0", ("n2", n2), (name, k))
    extra_alphas = check_extra_alphas(extra_alphas)
    record_every = check.integer("record_every", record_every, minimum=1)
    params["widths"], params["extra_alphas"] = list(widths), list(extra_alphas)

    problem_seed, init_seed = spawn_seeds(seed, 2)
    truth, op, y = sensing_problem(n1, n2, r, kappa, m, seed=problem_seed)
    widest = max(*widths, extra_width)
    # N(0, 1) draws: small_random_init has N(0, 1/K) entries at width K and scale 1.
    G_U, G_V = (
        math.sqrt(widest) * G for G in small_random_init(n1, n2, widest, 1.0, seed=init_seed)
    )

    # Runs advance in batches (one read of the operator per iteration for the batch). Runs of
    # one width share a batch; the narrow ones (width <= SMALL_WIDTH) share one batch padded
    # with zero columns to the widest of them. A zero column j of U and V stays exactly
    # zero (its gradient columns are E v_j = 0 and E^T u_j = 0), so a padded run is the
    # width-k run up to the rounding of sums that include the zero columns (checked to 1e-12
    # in tests/test_fast_paths.py); its result keeps the first k columns. Wide runs are not
    # padded: every recorded iteration costs an SVD of the K x K imbalance per run, O(K^3),
    # which at large K outweighs the shared pass.
    cases = [(f"k={k}", k, alpha) for k in widths] + [
        (f"extra/k={extra_width}/alpha={scale:g}", extra_width, scale) for scale in extra_alphas
    ]
    narrow = max((k for _, k, _ in cases if k <= SMALL_WIDTH), default=0)
    groups: dict[int, list[int]] = {}
    for index, (_, k, _) in enumerate(cases):
        groups.setdefault(narrow if k <= SMALL_WIDTH else k, []).append(index)
    results: dict[int, GDResult] = {}
    for width, members in groups.items():
        U0, V0 = np.zeros((len(members), n1, width)), np.zeros((len(members), n2, width))
        for b, index in enumerate(members):
            _, k, scale = cases[index]
            U0[b, :, :k], V0[b, :, :k] = nested_init(G_U, G_V, k, scale)
        batch = run_in_chunks(
            op,
            y,
            U0,
            V0,
            [step] * len(members),
            [iters] * len(members),
            truth,
            level=escape_level,
            chunk=ESCAPE_CHUNK,
            then_every=record_every,
        )
        results.update(zip(members, batch, strict=True))

    run = Run("width_sweep", params, seed, truth)
    for index, (name, k, _) in enumerate(cases):
        result = results[index]
        result.U, result.V = result.U[:, :k].copy(), result.V[:, :k].copy()
        run.results[name] = result
    final = [run.results[f"k={k}"].history["test_error"][-1] for k in widths]
    escape = [escape_time(run.results[f"k={k}"].history, escape_level) for k in widths]
    extra = [run.results[name].history["test_error"][-1] for name, *_ in cases[len(widths) :]]
    run.data.update(
        widths=np.array(widths),
        final_test_error=np.array(final),
        escape_time=np.array(escape),
        extra_alphas=np.array(extra_alphas),
        extra_final_test_error=np.array(extra),
        sigma_r=float(np.linalg.svd(truth, compute_uv=False)[r - 1]),
    )
    return run


# Configuration B (n1=40, n2=30, r=2, κ=2, m=560, μ=0.25; defined in ``book/setup.md``) with
# α=1e-6, T=1500, at the widths k ∈ {r, 2r, 5r, n1, 2n1}; the extra scales show the
# α-dependence of the floor at k = n1 (no threshold). The paper scale is that of M1/M2: every
# dimension ~2.5x at the same oversampling m = 4r(n1+n2), widths {r, 2r, 5r, n1, 2n1} of that
# size, T = 2000.
#: The parameters of :func:`width_sweep` (claim M10).
DECLARATION = declare(
    width_sweep,
    Parameter("n1", SIZE, 40, 100, "rows of the target X (n1 × n2)"),
    Parameter("n2", SIZE, 30, 80, "columns of X"),
    Parameter("r", SIZE, 2, 3, "rank of X"),
    Parameter("kappa", CONDITION_NUMBER, 2.0, 2.0, "condition number κ = σ_1/σ_r of X"),
    Parameter("m", MEASUREMENTS, 560, 2160, "number of Gaussian measurements"),
    Parameter(
        "widths",
        SIZE,
        [2, 4, 10, 40, 80],
        [3, 6, 15, 100, 200],
        "widths k compared (distinct, with r and some k > r)",
    ),
    Parameter("alpha", POSITIVE, 1e-6, 1e-6, "scale α of the initialization"),
    Parameter("step", POSITIVE, 0.25, 0.25, "step size μ"),
    Parameter("iters", ITERATIONS, 1500, 2000, "iterations T"),
    Parameter("escape_level", POSITIVE, 0.1, 0.1, "the escape: first test error below this"),
    Parameter("extra_width", SIZE, 40, 100, "width of the runs from the extra scales"),
    Parameter(
        "extra_alphas", SMALL_SCALE, [1e-4, 1e-8], [1e-4, 1e-8], "extra scales α, shown only"
    ),
)
