"""Claims N2, N3, N4 (Xiong, Ding & Du, ICLR 2024): how the imbalance of the factors sets
the speed of the final linear phase of overparameterized asymmetric gradient descent.

With width ``k > r`` the product ``U V^T`` carries ``k - r`` spurious directions, which
gradient descent removes only at a rate set by the scale of the factors in those
directions. The imbalance ``Δ = U^T U - V^T V`` is conserved up to ``O(μ²)`` per step, so
an initialization with ``||U_0|| ≠ ||V_0||`` (``U_0 = α G_U``, ``V_0 = (α/3) G_V``) keeps
the spurious directions of ``U`` at size about α and the loss converges linearly at a rate
proportional to α² (N2); an equal-scale start has a smaller, sign-indefinite imbalance and a
slower final phase (N3); rescaling the factors once the loss is small removes the α
dependence (N4, :func:`matrix_sensing.solvers.rebalance`).

One experiment per claim: :func:`alpha_squared_rates` (N2), :func:`equal_scale_slowdown`
(N3) and :func:`rebalanced_rates` (N4). For one seed all three draw the same target,
operator and Gaussian matrices ``G_U`` (n1 x k), ``G_V`` (n2 x k), so that N4's speed-up
compares with exactly the runs of N2 (see ``book/neighbours/imbalance.md``).

The rates are measured on the training loss ``f(U_t, V_t)``: ``1 - ρ`` with ``ρ`` the
per-iteration factor of a least-squares fit ``f ≈ c ρ^t`` over a window
(:func:`matrix_sensing.metrics.local_linear_rate`). Two window rules:

- **scaled window** (:func:`scaled_window_rate`), for gradient descent with ``k > r``: the
  iterations ``t_s + [c_1, c_2] / (μ α²)``, where ``t_s`` is the first recorded iteration
  with loss below ``signal_level`` (the signal has been learned and the final phase
  starts). The final phase runs on the time scale ``1/(μ α²)``, so the same window in these
  units, counted from its start, is the same stage of the final phase for every α. A window
  in loss levels is not: at small α the slowest mode needs more iterations, not more
  decades of loss, to dominate, and the rate is still drifting inside any fixed window.
- **level window** (:func:`level_window_rate`), for the α-free regimes (``k = r``, and
  after rebalancing): from the first recorded iteration with loss below ``levels[0]`` to
  the first below ``levels[1]``.
"""

from __future__ import annotations

import math

import numpy as np

from .. import _validation as check
from ..initialization import small_random_init, unequal_scale_init
from ..metrics import first_crossing, local_linear_rate
from ..solvers import divergence_context, factorized_gd, rebalance
from ._common import Run, continue_while, iterate_at, run_params, sensing_problem, spawn_seeds
from .declaration import (
    CONDITION_NUMBER,
    ITERATIONS,
    MEASUREMENTS,
    POSITIVE,
    SIZE,
    Interval,
    Parameter,
    declare,
)

# Continuation of a run with k > r until its scaled window (and, for N4, the rebalancing
# level) is reached.
_CHUNK = 50
_MAX_ITERS = 100_000
# Runs measured in a level window stop at the end of the chunk in which the loss first falls
# below the window's lower level.
_LEVEL_CHUNK = 25
# Most iterations iterate_at reruns to recover N4's switch iterate (rounded up to a multiple
# of record_every); a piece costs about three iterations of overhead.
_SWITCH_PIECE = 100


def scaled_window_rate(
    history, step: float, alpha: float, start: float, stop: float, origin: int = 0
) -> tuple[float, int, int]:
    """The local linear rate ``1 - ρ`` of the loss over the iterations
    ``origin + [start, stop] / (μ α²)`` (the scaled window rule of the module docstring).

    ``history``: a ``factorized_gd`` history (``"iteration"``, ``"train_loss"``); ``step`` μ
    and ``alpha`` α > 0; ``0 <= start < stop``; ``origin`` >= 0 the iteration at which the
    final phase starts. Returns ``(rate, first, last)`` with the window's bounds in
    iterations (``origin`` plus the scaled bounds rounded up; both bounds included).
    """
    step = check.real("step", step, positive=True)
    alpha = check.real("alpha", alpha, positive=True)
    start = check.real("start", start, minimum=0.0)
    stop = check.real("stop", stop, positive=True)
    origin = check.integer("origin", origin, minimum=0)
    if stop <= start:
        raise ValueError(f"stop must be > start, got start={start:g}, stop={stop:g}")
    unit = 1.0 / (step * alpha**2)
    first, last = origin + math.ceil(start * unit), origin + math.ceil(stop * unit)
    rho = local_linear_rate(history["iteration"], history["train_loss"], first, last + 1)
    return 1.0 - rho, first, last


def level_window_rate(history, levels) -> tuple[float, int, int]:
    """The local linear rate ``1 - ρ`` of the loss between the first recorded iterations at
    which it is below ``levels[0]`` and below ``levels[1]`` (``levels[0] > levels[1] > 0``).

    Returns ``(rate, first, last)``; ``(nan, -1, -1)`` if the loss never reaches
    ``levels[1]`` (the rate is then not measured, and a claim built on it fails).
    """
    high, low = _levels(levels)
    iterations, loss = history["iteration"], history["train_loss"]
    first, last = first_crossing(iterations, loss, high), first_crossing(iterations, loss, low)
    if first is None or last is None:
        return math.nan, -1, -1
    return 1.0 - local_linear_rate(iterations, loss, first, last + 1), first, last


# The pieces the experiments share ------------------------------------------------------


def _problem(n1, n2, r, kappa, m, seed):
    """``(X, op, y, init_seed)`` of one seed: the same data for the three experiments."""
    problem_seed, init_seed = spawn_seeds(seed, 2)
    return (*sensing_problem(n1, n2, r, kappa, m, seed=problem_seed), init_seed)


def _scaled_run(
    op,
    y,
    U0,
    V0,
    step,
    alpha,
    window,
    signal_level,
    *,
    record_every,
    progress,
    below=None,
    truth=None,
):
    """Plain gradient descent with ``k > r`` from ``(U0, V0)`` and its rate over the scaled
    window ``t_s + window / (μ α²)``.

    The run lasts until ``t_s + ceil(window[1] / (μ α²))``, ``t_s`` the first recorded
    iteration with loss below ``signal_level``, and, unless ``below`` is None, until the
    loss has been recorded below ``below`` (continued in chunks; at most ``_MAX_ITERS``
    iterations in all), recorded every ``record_every`` iterations (with the test error if
    ``truth`` is given).

    Returns ``(result, t_s, rate, bounds, switch)``: ``t_s`` is None and ``rate`` NaN if the
    loss never went below ``signal_level``; ``bounds`` is the window ``[first, last]`` in
    iterations (None without a rate); ``switch`` the first recorded ``(t, U_t, V_t)`` with
    loss below ``below`` (None if never, or if ``below`` is None).
    """
    start, stop = window
    span = math.ceil(stop / (step * alpha**2))
    options = {"truth": truth, "record_every": record_every}
    # With a switch level the first span goes in short pieces until the loss is below it,
    # so that iterate_at reruns at most one piece to the switch. A piece is a multiple of
    # record_every: the records fall on the iterations one piece of span records, and the
    # iterates are the same (see continue_while).
    piece = (
        span if below is None else min(span, record_every * math.ceil(_SWITCH_PIECE / record_every))
    )
    first = factorized_gd(op, y, U0, V0, step, piece, progress=progress, **options)
    starts = [(0, U0, V0)]

    def crossing(result, level):
        return first_crossing(result.history["iteration"], result.history["train_loss"], level)

    def more(result) -> int:
        if result.iters < span:  # only with a switch level: the rest of the first span
            if crossing(result, below) is not None:
                return span - result.iters
            return min(piece, span - result.iters)
        if result.iters >= _MAX_ITERS:
            return 0
        t_s = crossing(result, signal_level)
        missing = _CHUNK if t_s is None else t_s + span - result.iters
        if missing <= 0 and below is not None and crossing(result, below) is None:
            missing = _CHUNK
        return max(missing, 0)

    result = continue_while(first, op, y, more, starts=starts, **options)
    t_s = crossing(result, signal_level)
    rate, bounds = math.nan, None
    if t_s is not None:
        rate, *bounds = scaled_window_rate(result.history, step, alpha, start, stop, t_s)
    switch = None
    if below is not None and (t_switch := crossing(result, below)) is not None:
        switch = (t_switch, *iterate_at(op, y, step, starts, t_switch))
    return result, t_s, rate, bounds, switch


def _run_to_level(op, y, U0, V0, step, level, max_iters, progress):
    """Gradient descent from ``(U0, V0)``, recorded at every iteration, in chunks of
    ``_LEVEL_CHUNK`` iterations until the loss has fallen below ``level`` or ``max_iters``
    iterations are done (the iterates are those of one uninterrupted run)."""
    first = factorized_gd(op, y, U0, V0, step, min(_LEVEL_CHUNK, max_iters), progress=progress)

    def more(result) -> int:
        if np.any(result.history["train_loss"] < level):
            return 0
        return min(_LEVEL_CHUNK, max_iters - result.iters)

    return continue_while(first, op, y, more)


def _frobenius_change(U0, V0, U, V) -> float:
    """``||Δ_T - Δ_0||_F / ||Δ_0||_F``: the change of the imbalance from the start
    ``(U0, V0)`` to the iterate ``(U, V)``."""
    delta0 = U0.T @ U0 - V0.T @ V0
    return float(np.linalg.norm(U.T @ U - V.T @ V - delta0) / np.linalg.norm(delta0))


def _check_problem(n1, n2, r, kappa, m, k, step, ratio) -> tuple[int, int, float, float]:
    """Validated ``(r, k, step, ratio)``, each size named as the experiments name it."""
    for name, value in (("n1", n1), ("n2", n2), ("m", m)):
        check.integer(name, value, minimum=1)
    r = check.integer("r", r, minimum=1, maximum=min(n1, n2))
    k = check.integer("k", k, minimum=r + 1)
    check.real("kappa", kappa, minimum=1.0)
    step = check.real("step", step, positive=True)
    ratio = check.real("ratio", ratio, positive=True)
    return r, k, step, ratio


def _check_alphas(alphas) -> list[float]:
    alphas = _positive_list("alphas", alphas)
    if len(alphas) < 2:
        raise ValueError(f"alphas must hold at least two distinct scales, got {alphas}")
    return alphas


# The experiments -----------------------------------------------------------------------


def alpha_squared_rates(
    *,
    n1: int,
    n2: int,
    r: int,
    kappa: float,
    m: int,
    k: int,
    step: float,
    alphas: list[float],
    ratio: float,
    window: list[float],
    signal_level: float,
    levels: list[float],
    exact_iters: int,
    seed: int,
    record_every: int = 20,
    progress: bool = False,
) -> Run:
    """Claim N2: the final linear rate with ``k > r`` against α, and with ``k = r``.

    For each α in ``alphas`` (results named with ``f"{α:g}"``, e.g. ``"unequal_0.05"``):

    - ``"unequal_α"``: width ``k``, ``U_0 = α G_U``, ``V_0 = (α/ratio) G_V``
      (:func:`~matrix_sensing.initialization.unequal_scale_init`), step μ, run until
      ``t_s + ceil(window[1] / (μ α²))`` (``t_s``: first recorded loss below
      ``signal_level``), recorded every ``record_every`` iterations; its rate is taken over
      the scaled window ``t_s + window / (μ α²)``.
    - ``"exact_α"``: the same kind of start with width ``r`` (``k = r``; ``G_U`` (n1 x r),
      ``G_V`` (n2 x r) from the same seed), recorded at every iteration, until the loss is
      below ``levels[1]`` (at most ``exact_iters`` iterations, stopped at the end of a chunk
      of 25); rate over the level window ``levels``.

    ``data`` (lists aligned with ``alphas``): ``"rate_unequal"`` (NaN if the loss never went
    below ``signal_level``), ``"signal_time"`` (``t_s``, -1 if never), ``"rate_exact"``;
    ``"windows"``, the iteration bounds ``[first, last]`` of every rate by result name; and
    ``"alphas"``.
    """
    params = run_params(locals(), "record_every", "progress")
    # Check every parameter under its own name before any long run starts.
    r, k, step, ratio = _check_problem(n1, n2, r, kappa, m, k, step, ratio)
    alphas = _check_alphas(alphas)
    window = _window("window", window)
    signal_level = check.real("signal_level", signal_level, positive=True)
    levels = _levels(levels)
    exact_iters = check.integer("exact_iters", exact_iters, minimum=1)
    record_every = check.integer("record_every", record_every, minimum=1)

    truth, op, y, init_seed = _problem(n1, n2, r, kappa, m, seed)
    run = Run("alpha_squared_rates", params, seed, truth)
    data: dict = {"rate_unequal": [], "signal_time": [], "rate_exact": [], "windows": {}}
    for alpha in alphas:
        name = f"{alpha:g}"
        U0, V0 = unequal_scale_init(n1, n2, k, alpha, ratio, seed=init_seed)
        plain, t_s, rate, bounds, _ = _scaled_run(
            op,
            y,
            U0,
            V0,
            step,
            alpha,
            window,
            signal_level,
            record_every=record_every,
            progress=progress,
        )
        run.results[f"unequal_{name}"] = plain
        data["signal_time"].append(-1 if t_s is None else t_s)
        data["rate_unequal"].append(rate)
        if bounds is not None:
            data["windows"][f"unequal_{name}"] = bounds

        U0_r, V0_r = unequal_scale_init(n1, n2, r, alpha, ratio, seed=init_seed)
        exact = _run_to_level(op, y, U0_r, V0_r, step, levels[1], exact_iters, progress)
        run.results[f"exact_{name}"] = exact
        rate, first, last = level_window_rate(exact.history, levels)
        data["rate_exact"].append(rate)
        data["windows"][f"exact_{name}"] = [first, last]
    data["alphas"] = alphas
    run.data.update(data)
    return run


def equal_scale_slowdown(
    *,
    n1: int,
    n2: int,
    r: int,
    kappa: float,
    m: int,
    k: int,
    step: float,
    ratio: float,
    alpha_equal: float,
    final_window: list[float],
    signal_level: float,
    seed: int,
    record_every: int = 20,
    progress: bool = False,
) -> Run:
    """Claim N3: the final phase from equal scales against that from unequal scales.

    At ``α_e = alpha_equal``, width ``k``: ``"unequal"`` (``U_0 = α_e G_U``,
    ``V_0 = (α_e/ratio) G_V``) and ``"equal"`` (``U_0 = α_e G_U``, ``V_0 = α_e G_V``, the
    main paper's initialization, :func:`~matrix_sensing.initialization.small_random_init`),
    each run until ``t_s + ceil(final_window[1] / (μ α_e²))`` (``t_s``: first recorded loss
    below ``signal_level``), recorded every ``record_every`` iterations with the test error.

    ``data``: ``"rate_unequal"`` and ``"rate_equal"``, the rates over the scaled window
    ``t_s + final_window / (μ α_e²)`` of each run (NaN if the loss never went below
    ``signal_level``); ``"imbalance_change_unequal"`` and ``"imbalance_change_equal"``,
    ``||Δ_T - Δ_0||_F / ||Δ_0||_F`` at each run's last iterate; ``"windows"``, the
    iteration bounds ``[first, last]`` of each rate by result name.
    """
    params = run_params(locals(), "record_every", "progress")
    r, k, step, ratio = _check_problem(n1, n2, r, kappa, m, k, step, ratio)
    alpha_equal = check.real("alpha_equal", alpha_equal, positive=True)
    final_window = _window("final_window", final_window)
    signal_level = check.real("signal_level", signal_level, positive=True)
    record_every = check.integer("record_every", record_every, minimum=1)

    truth, op, y, init_seed = _problem(n1, n2, r, kappa, m, seed)
    run = Run("equal_scale_slowdown", params, seed, truth)
    starts = {
        "unequal": unequal_scale_init(n1, n2, k, alpha_equal, ratio, seed=init_seed),
        "equal": small_random_init(n1, n2, k, alpha_equal, seed=init_seed),
    }
    windows = {}
    for kind, (U0, V0) in starts.items():
        result, _, rate, bounds, _ = _scaled_run(
            op,
            y,
            U0,
            V0,
            step,
            alpha_equal,
            final_window,
            signal_level,
            record_every=record_every,
            progress=progress,
            truth=truth,
        )
        run.results[kind] = result
        run.data[f"rate_{kind}"] = rate
        run.data[f"imbalance_change_{kind}"] = _frobenius_change(U0, V0, result.U, result.V)
        if bounds is not None:
            windows[kind] = bounds
    run.data["windows"] = windows
    return run


def rebalanced_rates(
    *,
    n1: int,
    n2: int,
    r: int,
    kappa: float,
    m: int,
    k: int,
    step: float,
    alphas: list[float],
    ratio: float,
    window: list[float],
    signal_level: float,
    levels: list[float],
    rebalance_below: float,
    rebalance_floor: float,
    rebalance_iters: int,
    seed: int,
    record_every: int = 20,
    progress: bool = False,
) -> Run:
    """Claim N4: the rate after one rebalancing step against that of plain gradient descent.

    For each α in ``alphas`` (results named with ``f"{α:g}"``):

    - ``"unequal_α"``: N2's run with ``k > r`` (see :func:`alpha_squared_rates`), continued
      until the loss is also recorded below ``rebalance_below``; its rate over the scaled
      window ``t_s + window / (μ α²)`` is N2's.
    - ``"rebalanced_α"``: from the first recorded iterate of ``"unequal_α"`` with loss below
      ``rebalance_below``, the factors are replaced by
      :func:`~matrix_sensing.solvers.rebalance` ``(U, V, floor=rebalance_floor)`` and
      gradient descent continues, recorded at every iteration, until the loss is below
      ``levels[1]`` (at most ``rebalance_iters`` more iterations, stopped at the end of a
      chunk of 25); its ``"iteration"`` counts from the start of ``"unequal_α"``. Rate over
      the level window ``levels``.

    ``data`` (lists aligned with ``alphas``): ``"rate_unequal"`` and ``"signal_time"`` as
    in :func:`alpha_squared_rates`, ``"rate_rebalanced"`` (NaN if the loss never went below
    ``rebalance_below``), ``"imbalance_change"`` ``||Δ_T - Δ_0||_F / ||Δ_0||_F`` of each
    ``"unequal_α"`` run at its last iterate, ``"rebalance_iteration"`` (-1 if never),
    ``"rebalanced_u_condition"`` (condition number of the rebalanced ``U``); the float
    ``"rebalance_product_error"`` (max over α of ``||U'V'^T - UV^T||_F / ||UV^T||_F`` at the
    switch); ``"windows"``, the iteration bounds ``[first, last]`` of every rate by result
    name; and ``"alphas"``.
    """
    params = run_params(locals(), "record_every", "progress")
    r, k, step, ratio = _check_problem(n1, n2, r, kappa, m, k, step, ratio)
    alphas = _check_alphas(alphas)
    window = _window("window", window)
    signal_level = check.real("signal_level", signal_level, positive=True)
    levels = _levels(levels)
    rebalance_below = check.real("rebalance_below", rebalance_below, positive=True)
    rebalance_floor = check.real("rebalance_floor", rebalance_floor, minimum=0.0, maximum=1.0)
    rebalance_iters = check.integer("rebalance_iters", rebalance_iters, minimum=1)
    record_every = check.integer("record_every", record_every, minimum=1)

    truth, op, y, init_seed = _problem(n1, n2, r, kappa, m, seed)
    run = Run("rebalanced_rates", params, seed, truth)
    data: dict = {
        name: []
        for name in (
            "rate_unequal",
            "signal_time",
            "rate_rebalanced",
            "imbalance_change",
            "rebalance_iteration",
            "rebalanced_u_condition",
        )
    }
    windows: dict[str, list[int]] = {}
    product_errors = []
    for alpha in alphas:
        name = f"{alpha:g}"
        U0, V0 = unequal_scale_init(n1, n2, k, alpha, ratio, seed=init_seed)
        plain, t_s, rate, bounds, switch = _scaled_run(
            op,
            y,
            U0,
            V0,
            step,
            alpha,
            window,
            signal_level,
            record_every=record_every,
            progress=progress,
            below=rebalance_below,
        )
        run.results[f"unequal_{name}"] = plain
        data["signal_time"].append(-1 if t_s is None else t_s)
        data["rate_unequal"].append(rate)
        if bounds is not None:
            windows[f"unequal_{name}"] = bounds
        data["imbalance_change"].append(_frobenius_change(U0, V0, plain.U, plain.V))
        if switch is None:
            data["rebalance_iteration"].append(-1)
            data["rate_rebalanced"].append(math.nan)
            data["rebalanced_u_condition"].append(math.nan)
            continue
        t_switch, U_s, V_s = switch
        U_b, V_b = rebalance(U_s, V_s, floor=rebalance_floor)
        product = U_s @ V_s.T
        product_errors.append(
            float(np.linalg.norm(U_b @ V_b.T - product) / np.linalg.norm(product))
        )
        with divergence_context(
            offset=t_switch,
            algorithm="gradient descent after rebalancing",
            hint=f"step={step:g} is too large for the rebalanced factors (their scale is "
            f"√σ_1(U V^T), so the step must stay ≲ 1/||X|| as for plain gradient descent); "
            f"try step={step / 2:g} or smaller.",
        ):
            after = _run_to_level(op, y, U_b, V_b, step, levels[1], rebalance_iters, progress)
        after.history["iteration"] = after.history["iteration"] + t_switch
        run.results[f"rebalanced_{name}"] = after
        rate, first, last = level_window_rate(after.history, levels)
        data["rate_rebalanced"].append(rate)
        windows[f"rebalanced_{name}"] = [first, last]
        data["rebalance_iteration"].append(t_switch)
        data["rebalanced_u_condition"].append(float(np.linalg.cond(U_b)))
    data["windows"] = windows
    data["rebalance_product_error"] = max(product_errors, default=math.nan)
    data["alphas"] = alphas
    run.data.update(data)
    return run


def _positive_list(name: str, values) -> list[float]:
    if isinstance(values, (str, bytes)) or not hasattr(values, "__iter__"):
        raise TypeError(f"{name} must be a list of positive numbers, got {values!r}")
    values = [check.real(f"{name}[]", v, positive=True) for v in values]
    if len(set(values)) != len(values):
        raise ValueError(f"{name} must be distinct, got {values}")
    return values


def _window(name: str, window) -> tuple[float, float]:
    message = f"{name} must be a pair [start, stop] with 0 <= start < stop, got {window!r}"
    if isinstance(window, (str, bytes)) or not hasattr(window, "__len__") or len(window) != 2:
        raise ValueError(message)
    start = check.real(f"{name}[0]", window[0], minimum=0.0)
    stop = check.real(f"{name}[1]", window[1], positive=True)
    if stop <= start:
        raise ValueError(message)
    return start, stop


def _levels(levels) -> tuple[float, float]:
    if isinstance(levels, (str, bytes)) or not hasattr(levels, "__len__") or len(levels) != 2:
        raise ValueError(f"levels must be a pair [high, low] with high > low > 0, got {levels!r}")
    high = check.real("levels[0]", levels[0], positive=True)
    low = check.real("levels[1]", levels[1], positive=True)
    if low >= high:
        raise ValueError(
            f"levels must be a pair [high, low] with high > low > 0, got {list(levels)}"
        )
    return high, low


# N2 as stated on ``book/neighbours/imbalance.md``: n = 40 (read as n1 = n2 = 40), m = 800,
# k = 5, with r = 2, κ = 2 and μ = 0.25 of the base configuration (``book/setup.md``);
# α ∈ {0.03, 0.05, 0.07} with V_0 at α/3. N3 compares equal and unequal scales at α = 0.12;
# N4 rebalances once the loss is below 1e-6. Windows in units of 1/(μ α²) from the end of the
# signal phase (loss < 1e-3). The paper scale doubles n and m (same m/n = 20) at the same r,
# k, α's and windows. The notebook runs the three experiments from one parameters cell, so a
# parameter that two of them take is declared once, here, and has one value there.
_N1 = Parameter("n1", SIZE, 40, 80, "rows of the target X (n1 × n2)")
_N2 = Parameter("n2", SIZE, 40, 80, "columns of X")
_R = Parameter("r", SIZE, 2, 2, "rank of X (<= min(n1, n2))")
_KAPPA = Parameter("kappa", CONDITION_NUMBER, 2.0, 2.0, "condition number κ = σ_1/σ_r of X")
_M = Parameter("m", MEASUREMENTS, 800, 1600, "number of Gaussian measurements")
_K = Parameter("k", SIZE, 5, 5, "width of the factors U (n1 × k) and V (n2 × k), > r")
_STEP = Parameter("step", POSITIVE, 0.25, 0.25, "step size μ")
_ALPHAS = Parameter(
    "alphas", POSITIVE, [0.03, 0.05, 0.07], [0.03, 0.05, 0.07], "scales α (at least 2, distinct)"
)
_RATIO = Parameter("ratio", POSITIVE, 3.0, 3.0, "V_0 = (α/ratio) G_V where U_0 = α G_U")
_WINDOW = Parameter(
    "window",
    Interval(float, 0.0, None),
    [0.35, 0.7],
    [0.35, 0.7],
    "N2's rate window [c_1, c_2]: iterations t_s + [c_1, c_2]/(μ α²)",
)
_SIGNAL_LEVEL = Parameter(
    "signal_level", POSITIVE, 1e-3, 1e-3, "t_s: first recorded iteration with loss below it"
)
_LEVELS = Parameter(
    "levels",
    POSITIVE,
    [1e-8, 1e-12],
    [1e-8, 1e-12],
    "rate window of k = r and after rebalancing: loss from levels[0] to levels[1]",
)

#: The parameters of :func:`alpha_squared_rates` (claim N2).
N2_DECLARATION = declare(
    alpha_squared_rates,
    _N1,
    _N2,
    _R,
    _KAPPA,
    _M,
    _K,
    _STEP,
    _ALPHAS,
    _RATIO,
    _WINDOW,
    _SIGNAL_LEVEL,
    _LEVELS,
    Parameter("exact_iters", ITERATIONS, 400, 400, "most iterations of the runs with k = r"),
)

#: The parameters of :func:`equal_scale_slowdown` (claim N3).
N3_DECLARATION = declare(
    equal_scale_slowdown,
    _N1,
    _N2,
    _R,
    _KAPPA,
    _M,
    _K,
    _STEP,
    _RATIO,
    Parameter("alpha_equal", POSITIVE, 0.12, 0.12, "scale α of N3's equal and unequal starts"),
    Parameter(
        "final_window",
        Interval(float, 0.0, None),
        [3.5, 4.0],
        [3.5, 4.0],
        "N3's rate window [c_1, c_2]: iterations t_s + [c_1, c_2]/(μ α²)",
    ),
    _SIGNAL_LEVEL,
)

#: The parameters of :func:`rebalanced_rates` (claim N4).
N4_DECLARATION = declare(
    rebalanced_rates,
    _N1,
    _N2,
    _R,
    _KAPPA,
    _M,
    _K,
    _STEP,
    _ALPHAS,
    _RATIO,
    _WINDOW,
    _SIGNAL_LEVEL,
    _LEVELS,
    Parameter("rebalance_below", POSITIVE, 1e-6, 1e-6, "rebalance once the loss is below it"),
    Parameter(
        "rebalance_floor", Interval(float, 0.0, 1.0), 0.5, 0.5, "floor of rebalance(U, V, floor)"
    ),
    Parameter("rebalance_iters", ITERATIONS, 400, 400, "most iterations after rebalancing"),
)
