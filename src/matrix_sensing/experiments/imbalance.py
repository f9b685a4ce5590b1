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
from ..solvers import GDResult, divergence_context, factorized_gd, rebalance
from ._common import Run, sensing_problem, spawn_seeds

# Continuation of a plain run until its loss falls below the rebalancing level.
_CHUNK = 50
_MAX_ITERS = 100_000
# Runs measured in a level window stop at the end of the chunk in which the loss first falls
# below the window's lower level.
_LEVEL_CHUNK = 25


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


class _BelowCapture:
    """A ``factorized_gd`` metric that returns the loss of ``(U, V)`` and keeps a copy of the
    first recorded iterate whose loss is below ``level``."""

    def __init__(self, op, y, level: float):
        self.op, self.y, self.level = op, y, level
        self.state: tuple[np.ndarray, np.ndarray] | None = None
        self.calls = 0
        self.index: int | None = None  # position in the history of the captured record

    def __call__(self, U, V) -> float:
        residual = self.op(U @ V.T) - self.y
        loss = 0.5 * float(residual @ residual)
        if self.state is None and loss < self.level:
            self.state, self.index = (U.copy(), V.copy()), self.calls
        self.calls += 1
        return loss


def _concat(first: GDResult, second: GDResult) -> GDResult:
    """``second`` continues ``first`` from its last iterate: one history, iterations offset,
    the duplicated starting record of ``second`` dropped."""
    offset = {"iteration": first.iters}
    history = {
        name: np.concatenate([values, second.history[name][1:] + offset.get(name, 0)])
        for name, values in first.history.items()
    }
    return GDResult(
        U=second.U, V=second.V, step=first.step, iters=first.iters + second.iters, history=history
    )


def _plain_run(
    op, y, U0, V0, step, *, span, signal_level, below, record_every, progress, truth=None
):
    """Plain gradient descent from ``(U0, V0)`` until ``span`` iterations after the first
    recorded iteration ``t_s`` with loss below ``signal_level`` and, unless ``below`` is
    None, until the loss has been recorded below ``below`` (continued in chunks; at most
    ``_MAX_ITERS`` iterations in total).

    Returns ``(result, t_s, switch)``: ``t_s`` is None if the loss never went below
    ``signal_level``; ``switch`` is the first recorded ``(iteration, U, V)`` with loss below
    ``below`` (None if never, or if ``below`` is None).
    """
    capture = None if below is None else _BelowCapture(op, y, below)
    metrics = None if capture is None else {"loss_check": capture}
    result = factorized_gd(
        op,
        y,
        U0,
        V0,
        step,
        span,
        truth=truth,
        record_every=record_every,
        metrics=metrics,
        progress=progress,
    )
    while True:
        history = result.history
        t_s = first_crossing(history["iteration"], history["train_loss"], signal_level)
        missing = _CHUNK if t_s is None else t_s + span - result.iters
        if missing <= 0 and capture is not None and capture.state is None:
            missing = _CHUNK
        if missing <= 0 or result.iters >= _MAX_ITERS:
            break
        if capture is not None:
            capture.calls -= 1  # the chunk's first record repeats the last one, dropped below
        with divergence_context(offset=result.iters):  # report the iteration of the whole run
            more = factorized_gd(
                op,
                y,
                result.U,
                result.V,
                step,
                missing,
                truth=truth,
                record_every=record_every,
                metrics=metrics,
            )
        result = _concat(result, more)
    switch = None
    if capture is not None and capture.state is not None:
        switch = (int(result.history["iteration"][capture.index]), *capture.state)
    return result, t_s, switch


def _run_to_level(op, y, U0, V0, step, level, max_iters, progress):
    """Gradient descent from ``(U0, V0)``, recorded at every iteration, in chunks of
    ``_LEVEL_CHUNK`` iterations until the loss has fallen below ``level`` or ``max_iters``
    iterations are done (the iterates are those of one uninterrupted run)."""
    result = factorized_gd(op, y, U0, V0, step, min(_LEVEL_CHUNK, max_iters), progress=progress)
    while result.iters < max_iters and not np.any(result.history["train_loss"] < level):
        with divergence_context(offset=result.iters):
            more = factorized_gd(
                op, y, result.U, result.V, step, min(_LEVEL_CHUNK, max_iters - result.iters)
            )
        result = _concat(result, more)
    return result


def _frobenius_change(U0, V0, U, V) -> float:
    delta0 = U0.T @ U0 - V0.T @ V0
    return float(np.linalg.norm(U.T @ U - V.T @ V - delta0) / np.linalg.norm(delta0))


def imbalance_rates(
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
    alpha_equal: float,
    window: list[float],
    final_window: list[float],
    signal_level: float,
    levels: list[float],
    exact_iters: int,
    rebalance_below: float,
    rebalance_floor: float,
    rebalance_iters: int,
    seed: int,
    record_every: int = 20,
    progress: bool = False,
) -> Run:
    """Claims N2, N3, N4 on one draw of the data and of the Gaussian matrices ``G_U``
    (n1 x k) and ``G_V`` (n2 x k) (the same draw for every α; a draw of width r, from the
    same seed, for ``k = r``).

    For each α in ``alphas`` (results named with ``f"{α:g}"``, e.g. ``"unequal_0.05"``):

    - ``"unequal_α"``: width ``k``, ``U_0 = α G_U``, ``V_0 = (α/ratio) G_V``
      (:func:`~matrix_sensing.initialization.unequal_scale_init`), step μ, run until
      ``t_s + ceil(window[1] / (μ α²))`` (``t_s``: first recorded loss below
      ``signal_level``) and until the loss is recorded below ``rebalance_below``; recorded
      every ``record_every`` iterations. Its rate (N2) is taken over the scaled window
      ``t_s + window / (μ α²)``.
    - ``"exact_α"``: the same kind of start with width ``r`` (``k = r``), recorded at every
      iteration, until the loss is below ``levels[1]`` (at most ``exact_iters``
      iterations, stopped at the end of a chunk of 25); rate over the level window
      ``levels``.
    - ``"rebalanced_α"``: from the first recorded iterate of ``"unequal_α"`` with loss below
      ``rebalance_below``, the factors are replaced by
      :func:`~matrix_sensing.solvers.rebalance` ``(U, V, floor=rebalance_floor)`` and
      gradient descent continues, recorded at every iteration, until the loss is below
      ``levels[1]`` (at most ``rebalance_iters`` more iterations, as for ``"exact_α"``);
      its ``"iteration"`` counts from the start of ``"unequal_α"``. Rate over the level
      window ``levels``.

    For N3, at ``α_e = alpha_equal``: ``"final_unequal"`` (``U_0 = α_e G_U``,
    ``V_0 = (α_e/ratio) G_V``) and ``"final_equal"`` (``U_0 = α_e G_U``, ``V_0 = α_e G_V``, the
    main paper's initialization), each run until ``t_s + ceil(final_window[1] / (μ α_e²))``,
    recorded every ``record_every`` (with the test error); rates over the scaled window
    ``t_s + final_window / (μ α_e²)`` of each run.

    ``data`` (lists aligned with ``alphas``): ``"rate_unequal"`` (NaN if the loss never went
    below ``signal_level``), ``"signal_time"`` (``t_s``, -1 if never), ``"rate_exact"``,
    ``"rate_rebalanced"`` (NaN if the loss never went below ``rebalance_below``),
    ``"imbalance_change"`` ``||Δ_T - Δ_0||_F / ||Δ_0||_F`` of each ``"unequal_α"`` run at its
    last iterate, ``"rebalance_iteration"`` (-1 if never), ``"rebalanced_u_condition"``
    (condition number of the rebalanced ``U``); floats ``"rate_unequal_final"``,
    ``"rate_equal_final"``, ``"imbalance_change_final"`` (of ``"final_unequal"``),
    ``"imbalance_change_equal"``, ``"rebalance_product_error"`` (max over α of
    ``||U'V'^T - UV^T||_F / ||UV^T||_F`` at the switch); ``"windows"``, the iteration bounds
    ``[first, last]`` of every rate by result name; and ``"alphas"``.
    """
    params = {
        "n1": n1,
        "n2": n2,
        "r": r,
        "kappa": kappa,
        "m": m,
        "k": k,
        "step": step,
        "alphas": alphas,
        "ratio": ratio,
        "alpha_equal": alpha_equal,
        "window": window,
        "final_window": final_window,
        "signal_level": signal_level,
        "levels": levels,
        "exact_iters": exact_iters,
        "rebalance_below": rebalance_below,
        "rebalance_floor": rebalance_floor,
        "rebalance_iters": rebalance_iters,
    }
    # Check every parameter under its own name before any long run starts.
    for name in ("n1", "n2", "m"):
        check.integer(name, params[name], minimum=1)
    r = check.integer("r", r, minimum=1, maximum=min(n1, n2))
    k = check.integer("k", k, minimum=r + 1)
    check.real("kappa", kappa, minimum=1.0)
    step = check.real("step", step, positive=True)
    alphas = _positive_list("alphas", alphas)
    if len(alphas) < 2:
        raise ValueError(f"alphas must hold at least two distinct scales, got {alphas}")
    ratio = check.real("ratio", ratio, positive=True)
    alpha_equal = check.real("alpha_equal", alpha_equal, positive=True)
    start, stop = _window("window", window)
    final_start, final_stop = _window("final_window", final_window)
    signal_level = check.real("signal_level", signal_level, positive=True)
    levels = _levels(levels)
    exact_iters = check.integer("exact_iters", exact_iters, minimum=1)
    rebalance_below = check.real("rebalance_below", rebalance_below, positive=True)
    rebalance_floor = check.real("rebalance_floor", rebalance_floor, minimum=0.0, maximum=1.0)
    rebalance_iters = check.integer("rebalance_iters", rebalance_iters, minimum=1)
    record_every = check.integer("record_every", record_every, minimum=1)

    problem_seed, init_seed = spawn_seeds(seed, 2)
    truth, op, y = sensing_problem(n1, n2, r, kappa, m, seed=problem_seed)
    run = Run("imbalance_rates", params, seed, truth)
    data: dict = {
        name: []
        for name in (
            "rate_unequal",
            "rate_exact",
            "rate_rebalanced",
            "imbalance_change",
            "rebalance_iteration",
            "rebalanced_u_condition",
            "signal_time",
        )
    }
    windows: dict[str, list[int]] = {}
    product_errors = []

    def rate_in(name, rate_and_window):
        rate, first, last = rate_and_window
        windows[name] = [first, last]
        return rate

    for alpha in alphas:
        name = f"{alpha:g}"
        U0, V0 = unequal_scale_init(n1, n2, k, alpha, ratio, seed=init_seed)
        plain, origin, switch = _plain_run(
            op,
            y,
            U0,
            V0,
            step,
            span=math.ceil(stop / (step * alpha**2)),
            signal_level=signal_level,
            below=rebalance_below,
            record_every=record_every,
            progress=progress,
        )
        run.results[f"unequal_{name}"] = plain
        data["signal_time"].append(-1 if origin is None else origin)
        data["rate_unequal"].append(
            math.nan
            if origin is None
            else rate_in(
                f"unequal_{name}",
                scaled_window_rate(plain.history, step, alpha, start, stop, origin),
            )
        )
        data["imbalance_change"].append(_frobenius_change(U0, V0, plain.U, plain.V))

        U0_r, V0_r = unequal_scale_init(n1, n2, r, alpha, ratio, seed=init_seed)
        exact = _run_to_level(op, y, U0_r, V0_r, step, levels[1], exact_iters, progress)
        run.results[f"exact_{name}"] = exact
        data["rate_exact"].append(
            rate_in(f"exact_{name}", level_window_rate(exact.history, levels))
        )

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
        data["rate_rebalanced"].append(
            rate_in(f"rebalanced_{name}", level_window_rate(after.history, levels))
        )
        data["rebalance_iteration"].append(t_switch)
        data["rebalanced_u_condition"].append(float(np.linalg.cond(U_b)))

    starts = {
        "unequal": unequal_scale_init(n1, n2, k, alpha_equal, ratio, seed=init_seed),
        "equal": small_random_init(n1, n2, k, alpha_equal, seed=init_seed),
    }
    for kind, (U0, V0) in starts.items():
        result, origin, _ = _plain_run(
            op,
            y,
            U0,
            V0,
            step,
            span=math.ceil(final_stop / (step * alpha_equal**2)),
            signal_level=signal_level,
            below=None,
            record_every=record_every,
            progress=progress,
            truth=truth,
        )
        run.results[f"final_{kind}"] = result
        data[f"rate_{kind}_final"] = (
            math.nan
            if origin is None
            else rate_in(
                f"final_{kind}",
                scaled_window_rate(
                    result.history, step, alpha_equal, final_start, final_stop, origin
                ),
            )
        )
        data[f"imbalance_change_{'final' if kind == 'unequal' else 'equal'}"] = _frobenius_change(
            U0, V0, result.U, result.V
        )
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
