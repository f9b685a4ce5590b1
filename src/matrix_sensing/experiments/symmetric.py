"""Claims P1–P3 (the symmetric precursor) and N1 (the curse of symmetry).

Every run here is symmetric gradient descent (:func:`~matrix_sensing.solvers.symmetric_gd`)
on a PSD target with symmetric Gaussian measurements (see ``book/setup.md``, "Symmetric
variant"), from ``U_0 = α G``:

* :func:`precursor_recovery` serves P1: an α sweep on a sampled problem plus a run that
  watches the spectral phase;
* :func:`precursor_underdetermined` serves P2: an α sweep on an underdetermined problem
  (``m < n(n+1)/2``) with the time to fit;
* :func:`incremental_learning` serves P3: the eigenvalues learned one at a time, from α
  and from α²;
* :func:`curse_of_symmetry` serves N1: one problem, one Gaussian draw, widths ``k = r`` and
  ``k > r`` (the first ``k`` columns of the same draw), long runs.

For one seed P1, P2 and P3 run on three independent problems (``book/neighbours/
precursor.md``). The times the claims use (:func:`crossing_times`,
:func:`spectral_phase_end`) are exported so that the notebooks draw exactly what the claims
measure; the fits are those of :mod:`matrix_sensing.fits`.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence

import numpy as np

from .. import _validation as check
from ..initialization import small_random_init
from ..metrics import first_crossing, first_rise, subspace_distance, top_subspace_sine
from ..operators import SymmetricGaussianSensing
from ..solvers import symmetric_gd
from ..targets import psd_target
from ._common import Run, run_params, spawn_seeds
from .declaration import (
    CONDITION_NUMBER,
    ITERATIONS,
    MEASUREMENTS,
    POSITIVE,
    SIZE,
    SMALL_SCALE,
    Interval,
    Parameter,
    declare,
)

# Generic helpers ------------------------------------------------------------------------


def symmetric_problem(n: int, r: int, m: int, *, seed: int, kappa: float = 2.0, eigenvalues=None):
    """A PSD rank-``r`` target and its symmetric Gaussian measurements: ``(X, op, y)``.

    ``seed`` is split into a target and an operator seed (as
    :func:`~matrix_sensing.experiments.sensing_problem`)."""
    target_seed, operator_seed = spawn_seeds(seed, 2)
    truth = psd_target(n, r, kappa, seed=target_seed, eigenvalues=eigenvalues)
    op = SymmetricGaussianSensing(m, n, seed=operator_seed)
    return truth, op, op(truth)


def check_values(name: str, values, *, low: float, high: float, minimum_count: int) -> list:
    """Validate a list of at least ``minimum_count`` distinct numbers in ``(low, high)``."""
    if isinstance(values, (str, bytes)) or not hasattr(values, "__iter__"):
        raise TypeError(f"{name} must be a list of numbers in ({low:g}, {high:g}), got {values!r}")
    checked = [check.real(f"{name}[]", v) for v in values]
    if (
        any(not low < v < high for v in checked)
        or len(set(checked)) != len(checked)
        or len(checked) < minimum_count
    ):
        raise ValueError(
            f"{name} must contain at least {minimum_count} distinct numbers in "
            f"({low:g}, {high:g}), got {list(values)}"
        )
    return checked


def check_eigenvalues(name: str, values) -> list[float]:
    """Validate a non-empty, strictly decreasing list of positive eigenvalues."""
    if isinstance(values, (str, bytes)) or not hasattr(values, "__iter__"):
        raise TypeError(f"{name} must be a list of positive numbers, got {values!r}")
    checked = [check.real(f"{name}[]", v) for v in values]
    if (
        not checked
        or any(v <= 0 for v in checked)
        or any(a <= b for a, b in itertools.pairwise(checked))
    ):
        raise ValueError(
            f"{name} must be a non-empty, strictly decreasing list of numbers > 0, "
            f"got {list(values)}"
        )
    return checked


def top_eigenvectors(M, r: int) -> tuple[np.ndarray, np.ndarray]:
    """The ``r`` algebraically largest eigenvalues (decreasing) of the symmetric ``M`` and
    their eigenvectors (n, r)."""
    M = check.array("M", M, ndim=2)
    if M.shape[0] != M.shape[1]:
        raise ValueError(f"M must be a square (n, n) matrix, got shape {M.shape}")
    r = check.integer("r", r, minimum=1, maximum=M.shape[0])
    values, vectors = np.linalg.eigh(M)
    return values[::-1][:r], vectors[:, ::-1][:, :r]


def crossing_times(iterations, eigenvalues, targets) -> np.ndarray:
    """P3's crossing times: for each ``i``, the first recorded iteration at which the
    ``i``-th largest eigenvalue of ``U_t U_t^T`` (column ``i`` of ``eigenvalues``, shape
    (T, r)) reaches half of ``targets[i]`` (σ_i / 2, ``targets`` > 0); ``nan`` if it never
    does."""
    steps = check.array("iterations", iterations, ndim=1).shape[0]
    eigenvalues = check.array("eigenvalues", eigenvalues, ndim=2, shape=(steps, None))
    targets = check.array("targets", targets, ndim=1, shape=(eigenvalues.shape[1],))
    if np.any(targets <= 0):
        raise ValueError(f"targets must be > 0, got {targets.tolist()}")
    times = [first_rise(iterations, eigenvalues[:, i], 0.5 * s) for i, s in enumerate(targets)]
    return np.array([math.nan if t is None else t for t in times], dtype=float)


def spectral_phase_end(norms, level: float) -> int | None:
    """Index of the last entry of ``norms`` (``||U_t U_t^T||`` at the recorded iterations)
    before the first one above ``level``: the end of the spectral phase ``||U_t U_t^T|| <=
    level``. The last index if the norm never exceeds ``level``; ``None`` if it already
    does at the first entry."""
    norms = check.array("norms", norms, ndim=1)
    if norms.size == 0:
        raise ValueError("norms must not be empty")
    level = check.real("level", level, positive=True)
    above = np.flatnonzero(norms > level)
    if not above.size:
        return len(norms) - 1
    return int(above[0]) - 1 if above[0] > 0 else None


def _gaussian_factor(n: int, k: int, *, seed: int) -> np.ndarray:
    """``G`` (n, k) with i.i.d. N(0, 1/k) entries, the draw of ``small_random_init``."""
    return small_random_init(n, n, k, 1.0, seed=seed)[0]


# P1–P3 ----------------------------------------------------------------------------------

# P1, P2 and P3 take the first, second and third of three streams of the seed: for one seed
# the three claims are measured on independent problems.
_PRECURSOR_STREAMS = 3


def _precursor_problem(claim: int, n, r, m, *, seed, kappa=2.0, eigenvalues=None, k):
    """``(X, op, y, G)`` of claim P<claim> for ``seed``: the target, its symmetric Gaussian
    measurements and the Gaussian matrix ``G`` (n, k) of the start ``U_0 = α G``."""
    problem_seed, init_seed = spawn_seeds(spawn_seeds(seed, _PRECURSOR_STREAMS)[claim - 1], 2)
    truth, op, y = symmetric_problem(
        n, r, m, seed=problem_seed, kappa=kappa, eigenvalues=eigenvalues
    )
    return truth, op, y, _gaussian_factor(n, k, seed=init_seed)


def precursor_recovery(
    *,
    n: int,
    r: int,
    kappa: float,
    m: int,
    k: int,
    step: float,
    alpha: float,
    alphas: Sequence[float],
    iters: int,
    alpha_spectral: float,
    iters_spectral: int,
    seed: int,
) -> Run:
    """Claim P1: symmetric gradient descent from ``U_0 = α G`` (``G`` (n, k) with i.i.d.
    N(0, 1/k) entries) recovers a PSD target, and its first phase is spectral.

    The problem: ``m`` symmetric Gaussian measurements of an ``n x n`` PSD rank-``r`` target
    ``X`` with condition number ``kappa``. Runs ``iters`` iterations at step μ from ``α G``
    for every α of ``alphas`` (results ``"alpha=<α:g>"``, test error recorded every 10
    iterations; ``alpha``, one of them, is the α at which P1 reads the final test error),
    and ``iters_spectral`` iterations from ``alpha_spectral G`` recording at every iteration
    the sine between the top-r eigenspaces of ``U_t U_t^T`` and of ``A*(y)``
    (``spectral_sine``), of ``U_t U_t^T`` and of ``X`` (``truth_sine``), and ``||U_t||^2``
    (``norm``) (result ``"spectral"``).

    ``data``: ``"alphas"`` and ``"test_error"`` (the final test errors, (len(alphas),));
    ``"power_sine"``, the first sine for the power iteration ``(I + μ A*(y))^t U_0`` from
    the same start ((iters_spectral + 1,)); ``"spectral_eigenvalues"``, the top ``r + 1``
    eigenvalues of ``A*(y)``; ``"spectral_vs_truth_sine"``, the sine between the top-r
    eigenspaces of ``A*(y)`` and ``X``; ``"norm_x"`` ``||X||``; and ``"perturbation"``
    ``||A*(y) - X|| / λ_r(X)``.
    """
    params = run_params(locals())
    # Check every parameter under its own name before any run starts.
    n, r, m, k = _check_sizes(n, r, m, k)
    kappa = check.real("kappa", kappa, minimum=1.0)
    step = check.real("step", step, positive=True)
    alphas = check_values("alphas", alphas, low=0, high=1, minimum_count=3)
    if check.real("alpha", alpha, positive=True) not in alphas:
        raise ValueError(f"alpha must be one of alphas={alphas}, got {alpha!r}")
    iters = check.integer("iters", iters, minimum=1)
    alpha_spectral = check.real("alpha_spectral", alpha_spectral, positive=True)
    iters_spectral = check.integer("iters_spectral", iters_spectral, minimum=1)
    seed = check.seed("seed", seed)

    truth, op, y, G = _precursor_problem(1, n, r, m, seed=seed, kappa=kappa, k=k)
    run = Run("precursor_recovery", params, seed, truth)
    for a in alphas:
        run.results[f"alpha={a:g}"] = symmetric_gd(
            op, y, a * G, step, iters, truth=truth, record_every=10
        )
    spectral = op.adjoint(y)
    spectral_basis = top_eigenvectors(spectral, r)[1]
    truth_eigenvalues, truth_basis = top_eigenvectors(truth, r)
    run.results["spectral"] = symmetric_gd(
        op,
        y,
        alpha_spectral * G,
        step,
        iters_spectral,
        truth=truth,
        metrics={
            "spectral_sine": lambda U: top_subspace_sine(U, spectral_basis),
            "truth_sine": lambda U: top_subspace_sine(U, truth_basis),
            "norm": lambda U: np.linalg.norm(U, 2) ** 2,
        },
    )
    # The linearization of the spectral phase: power iteration U_t = (I + μ A*(y))^t U_0.
    power = np.eye(n) + step * spectral
    U, power_sine = alpha_spectral * G, []
    for _ in range(iters_spectral + 1):
        power_sine.append(top_subspace_sine(U, spectral_basis))
        U = power @ U
    run.data.update(
        alphas=np.array(alphas),
        test_error=np.array(
            [run.results[f"alpha={a:g}"].history["test_error"][-1] for a in alphas]
        ),
        spectral_eigenvalues=top_eigenvectors(spectral, min(r + 1, n))[0],
        power_sine=np.array(power_sine),
        spectral_vs_truth_sine=subspace_distance(spectral_basis, truth_basis),
        norm_x=float(np.linalg.norm(truth, 2)),
        # ||A*(y) - X|| / λ_r(X): the spectral phase aligns U_t with A*(y), which says
        # something about X only if this is small (enough measurements m).
        perturbation=float(np.linalg.norm(spectral - truth, 2) / truth_eigenvalues[-1]),
    )
    return run


def precursor_underdetermined(
    *,
    n: int,
    r: int,
    kappa: float,
    m: int,
    k: int,
    step: float,
    alphas: Sequence[float],
    iters: int,
    fit_level: float,
    seed: int,
) -> Run:
    """Claim P2: with fewer measurements than unknowns (``m < n (n + 1)/2``), the final test
    error against α and the time to fit against ln(1/α).

    The problem is P1's (:func:`precursor_recovery`) at these sizes. Runs ``iters``
    iterations at step μ from ``α G`` for every α of ``alphas`` (results ``"alpha=<α:g>"``,
    recorded at every iteration); the *time to fit* is the first iteration with test error
    ``< fit_level``.

    ``data``: ``"alphas"``, ``"test_error"`` (final) and ``"fit_time"`` (NaN if never),
    each (len(alphas),); ``"sigma_r"`` σ_r(X); ``"predicted_slope"`` ``1/ln(1 + μσ_r)``, the
    predicted slope of the time to fit against ln(1/α); ``"spectral_eigenvalues"``, the top
    ``r + 1`` eigenvalues of ``A*(y)``.
    """
    params = run_params(locals())
    n, r, m, k = _check_sizes(n, r, m, k)
    kappa = check.real("kappa", kappa, minimum=1.0)
    step = check.real("step", step, positive=True)
    alphas = check_values("alphas", alphas, low=0, high=1, minimum_count=3)
    iters = check.integer("iters", iters, minimum=1)
    fit_level = check.real("fit_level", fit_level, positive=True)
    unknowns = n * (n + 1) // 2
    if m >= unknowns:
        raise ValueError(
            f"m must be < n (n + 1) / 2 = {unknowns} (P2 is the underdetermined case), got {m}"
        )
    seed = check.seed("seed", seed)

    truth, op, y, G = _precursor_problem(2, n, r, m, seed=seed, kappa=kappa, k=k)
    run = Run("precursor_underdetermined", params, seed, truth)
    errors, times = [], []
    for a in alphas:
        result = symmetric_gd(op, y, a * G, step, iters, truth=truth)
        run.results[f"alpha={a:g}"] = result
        errors.append(result.history["test_error"][-1])
        time = first_crossing(result.history["iteration"], result.history["test_error"], fit_level)
        times.append(math.nan if time is None else time)
    sigma = np.linalg.eigvalsh(truth)[::-1][:r]
    run.data.update(
        alphas=np.array(alphas),
        test_error=np.array(errors),
        fit_time=np.array(times, dtype=float),
        sigma_r=float(sigma[-1]),
        predicted_slope=1.0 / math.log1p(step * sigma[-1]),
        spectral_eigenvalues=np.linalg.eigvalsh(op.adjoint(y))[::-1][: r + 1],
    )
    return run


def incremental_learning(
    *,
    n: int,
    eigenvalues: Sequence[float],
    m: int,
    k: int,
    step: float,
    alpha: float,
    iters: int,
    seed: int,
) -> Run:
    """Claim P3: the eigenvalues of ``U_t U_t^T`` are learned one at a time.

    The target has the eigenvalues ``eigenvalues`` (σ_1 > ... > σ_r > 0, random
    eigenvectors; ``m`` symmetric Gaussian measurements). Runs ``iters`` iterations at step
    μ from ``alpha G`` (result ``"alpha"``) and from ``alpha**2 G`` (``"alpha_squared"``),
    recording the top ``r`` eigenvalues of ``U_t U_t^T`` at every iteration.

    ``data``: ``"sigma"`` (r,), the target's eigenvalues, and ``"crossing_times"`` (2, r),
    the :func:`crossing_times` from α (row 0) and from α² (row 1).
    """
    params = run_params(locals())
    sigma = check_eigenvalues("eigenvalues", eigenvalues)
    r = len(sigma)
    n = check.integer("n", n, minimum=r)
    m = check.integer("m", m, minimum=1)
    k = check.integer("k", k, minimum=r)
    step = check.real("step", step, positive=True)
    alpha = check.real("alpha", alpha, positive=True, maximum=0.5)
    iters = check.integer("iters", iters, minimum=1)
    _check_entries(n, m, k)
    seed = check.seed("seed", seed)

    truth, op, y, G = _precursor_problem(3, n, r, m, seed=seed, eigenvalues=sigma, k=k)
    run = Run("incremental_learning", params, seed, truth)
    crossings = []
    for name, scale in (("alpha", alpha), ("alpha_squared", alpha**2)):
        result = symmetric_gd(
            op,
            y,
            scale * G,
            step,
            iters,
            truth=truth,
            metrics={"eigenvalues": lambda U: np.linalg.svd(U, compute_uv=False)[:r] ** 2},
        )
        run.results[name] = result
        crossings.append(
            crossing_times(result.history["iteration"], result.history["eigenvalues"], sigma)
        )
    run.data.update(sigma=np.array(sigma), crossing_times=np.array(crossings))
    return run


def _check_sizes(n, r, m, k) -> tuple[int, int, int, int]:
    n = check.integer("n", n, minimum=1)
    r = check.integer("r", r, minimum=1, maximum=n)
    m = check.integer("m", m, minimum=1)
    k = check.integer("k", k, minimum=r)
    _check_entries(n, m, k)
    return n, r, m, k


def _check_entries(n: int, m: int, k: int) -> None:
    """Refuse sizes whose arrays (the measurement matrices, U0) would not fit, naming the
    experiment's parameters before any run starts."""
    check.entries("U0", ("n", n), ("k", k))
    check.entries("the measurement matrices", ("m", m), ("n", n), ("n", n))


# N1 -------------------------------------------------------------------------------------


def curse_of_symmetry(
    *,
    n: int,
    eigenvalues: Sequence[float],
    m: int,
    widths: Sequence[int],
    init_scale: float,
    step: float,
    iters: int,
    check_times: Sequence[int],
    record_every: int,
    seed: int,
) -> Run:
    """Claim N1: symmetric gradient descent at the exact width ``k = r`` and at widths
    ``k > r`` on the same data, from the same Gaussian draw.

    ``U_0 = init_scale * G[:, :k]`` with ``G`` (n, max(widths)) of i.i.d. N(0, 1) entries
    (Xiong, Ding & Du's initialization, not the N(0, 1/k) convention of the other claims).
    Runs ``iters`` iterations per width (result ``"k=<k>"``), recording the loss and the
    test error every ``record_every`` iterations; ``check_times`` must be recorded
    iterations. ``data["t2_loss"]`` (len(widths), len(check_times)) holds ``t^2 L(t)``.
    """
    params = run_params(locals())
    sigma = check_eigenvalues("eigenvalues", eigenvalues)
    r = len(sigma)
    n = check.integer("n", n, minimum=r)
    m = check.integer("m", m, minimum=1)
    widths = _check_widths(widths, r, n)
    init_scale = check.real("init_scale", init_scale, positive=True)
    step = check.real("step", step, positive=True)
    iters = check.integer("iters", iters, minimum=1)
    record_every = check.integer("record_every", record_every, minimum=1)
    check_times = _check_times(check_times, iters, record_every)
    seed = check.seed("seed", seed)

    problem_seed, init_seed = spawn_seeds(seed, 2)
    truth, op, y = symmetric_problem(n, r, m, seed=problem_seed, eigenvalues=sigma)
    G = np.random.default_rng(init_seed).standard_normal((n, max(widths)))
    run = Run("curse_of_symmetry", params, seed, truth)
    t2_loss = []
    for k in widths:
        result = symmetric_gd(
            op, y, init_scale * G[:, :k], step, iters, truth=truth, record_every=record_every
        )
        run.results[f"k={k}"] = result
        history = result.history
        loss_at = dict(zip(history["iteration"].tolist(), history["train_loss"], strict=True))
        t2_loss.append([t**2 * loss_at[t] for t in check_times])
    run.data.update(
        rank=r,
        widths=np.array(widths),
        check_times=np.array(check_times),
        t2_loss=np.array(t2_loss),
    )
    return run


def _check_widths(widths, r: int, n: int) -> list[int]:
    if isinstance(widths, (str, bytes)) or not hasattr(widths, "__iter__"):
        raise TypeError(f"widths must be a list of integers, got {widths!r}")
    checked = [check.integer("widths[]", k, minimum=1, maximum=n) for k in widths]
    if r not in checked or not any(k > r for k in checked) or len(set(checked)) != len(checked):
        raise ValueError(
            f"widths must be distinct, contain the rank r={r} and at least one width > r, "
            f"got {list(widths)}"
        )
    return checked


def _check_times(times, iters: int, record_every: int) -> list[int]:
    if isinstance(times, (str, bytes)) or not hasattr(times, "__iter__"):
        raise TypeError(f"check_times must be a list of integers, got {times!r}")
    checked = [check.integer("check_times[]", t, minimum=1, maximum=iters) for t in times]
    if (
        len(checked) < 2
        or any(a >= b for a, b in itertools.pairwise(checked))
        or any(t % record_every for t in checked)
    ):
        raise ValueError(
            f"check_times must be at least 2 increasing multiples of record_every="
            f"{record_every} that are <= iters={iters}, got {list(times)}"
        )
    return checked


# The declarations ------------------------------------------------------------------------

_ALPHA_GRID = [1e-3, 1e-4, 1e-5, 1e-6, 1e-7]

# P1-P3 at CI scale: the sizes stated on ``book/neighbours/precursor.md``, where P1's
# m = 800 = 10 n r is twice the m = 400 = 5 n r first proposed for it. P1 runs T = 600
# iterations (the error at the smallest α, 1e-7, no longer changes after t ≈ 400) and watches
# the spectral phase from α = 1e-8, the α of M5 ("spectral alignment as in M5"). That
# alignment is a statement about the spectral phase, whose theory presupposes that A*(y) is
# close to X; at m = 400 ||A*(y) - X|| came close to or above λ_r(X), the 2nd and 3rd
# eigenvalues of A*(y) were close on some seeds, and the short spectral phase could not
# separate them, so that P1 failed on some calibration seeds, one of them a CI seed. At
# m = 800 (twice the measurements, as for M5-M7) P1 held on every calibration seed (numbers in
# ``book/neighbours/precursor.md``, "Calibration"). P2 uses P1's α grid and T; P3 the
# α = 1e-4 stated on the same page and its square. The paper scale doubles n (P1: 40 -> 80,
# P2/P3: 30 -> 60) and takes r = 3 for P1/P2. P1 keeps m = 10 n r and P3 m = 6 n r; P2 keeps
# the fraction of measurements to unknowns, m / (n(n+1)/2) ≈ 0.78 (m = 8 n r; at m = 6 n r a
# trial seed gave an error slope below P2's threshold). α grids, steps, T and the fit level
# are unchanged. The notebook runs the three experiments, each on its own problem, from one
# parameters cell: their names mean different things (P1's n is not P2's), so each carries
# its claim's suffix there (``m_p1`` is P1's ``m``).
#: The parameters of :func:`precursor_recovery` (claim P1).
P1_DECLARATION = declare(
    precursor_recovery,
    Parameter("n", SIZE, 40, 80, "size of the PSD target X (n × n)"),
    Parameter("r", SIZE, 2, 3, "rank of X (<= n)"),
    Parameter("kappa", CONDITION_NUMBER, 2.0, 2.0, "condition number κ of X"),
    Parameter("m", MEASUREMENTS, 800, 2400, "number of symmetric Gaussian measurements"),
    Parameter("k", SIZE, 40, 80, "width of the factor U (n × k), >= r"),
    Parameter("step", POSITIVE, 0.25, 0.25, "step size μ"),
    Parameter("alpha", SMALL_SCALE, 1e-6, 1e-6, "α of the final test error (one of alphas)"),
    Parameter("alphas", SMALL_SCALE, _ALPHA_GRID, _ALPHA_GRID, "scales α of U_0 = α G (>= 3)"),
    Parameter("iters", ITERATIONS, 600, 800, "iterations T from each α"),
    Parameter("alpha_spectral", POSITIVE, 1e-8, 1e-8, "α of the run through the spectral phase"),
    Parameter("iters_spectral", ITERATIONS, 120, 150, "iterations of that run"),
    suffix="_p1",
)

#: The parameters of :func:`precursor_underdetermined` (claim P2).
P2_DECLARATION = declare(
    precursor_underdetermined,
    Parameter("n", SIZE, 30, 60, "size of the PSD target X (n × n)"),
    Parameter("r", SIZE, 2, 3, "rank of X (<= n)"),
    Parameter("kappa", CONDITION_NUMBER, 2.0, 2.0, "condition number κ of X"),
    Parameter("m", MEASUREMENTS, 360, 1440, "number of measurements, < n(n+1)/2"),
    Parameter("k", SIZE, 30, 60, "width of the factor U (n × k), >= r"),
    Parameter("step", POSITIVE, 0.5, 0.5, "step size μ"),
    Parameter("alphas", SMALL_SCALE, _ALPHA_GRID, _ALPHA_GRID, "scales α of U_0 = α G (>= 3)"),
    Parameter("iters", ITERATIONS, 600, 600, "iterations T from each α"),
    Parameter("fit_level", POSITIVE, 0.1, 0.1, "time to fit: first t with test error below it"),
    suffix="_p2",
)

#: The parameters of :func:`incremental_learning` (claim P3).
P3_DECLARATION = declare(
    incremental_learning,
    Parameter("n", SIZE, 30, 60, "size of the PSD target X (n × n), >= r"),
    Parameter(
        "eigenvalues",
        POSITIVE,
        [1.0, 0.5, 0.25],
        [1.0, 0.5, 0.25],
        "eigenvalues σ_1 > ... > σ_r of X",
    ),
    Parameter("m", MEASUREMENTS, 540, 1080, "number of symmetric Gaussian measurements"),
    Parameter("k", SIZE, 30, 60, "width of the factor U (n × k), >= r"),
    Parameter("step", POSITIVE, 0.5, 0.5, "step size μ"),
    Parameter("alpha", Interval(float, 0.0, 0.5, "right"), 1e-4, 1e-4, "α (and α²) of U_0"),
    Parameter("iters", ITERATIONS, 300, 300, "iterations T from each start"),
    suffix="_p3",
)

# N1 at CI scale: the configuration stated on ``book/neighbours/curse_of_symmetry.md``. The
# paper scale doubles n and m (same m/n) and runs twice as long, adding t = 16000 to the
# times at which t² L(t) is compared.
#: The parameters of :func:`curse_of_symmetry` (claim N1).
N1_DECLARATION = declare(
    curse_of_symmetry,
    Parameter("n", SIZE, 30, 60, "size of the PSD target X (n × n), >= r"),
    Parameter(
        "eigenvalues",
        POSITIVE,
        [1.0, 0.8, 0.6],
        [1.0, 0.8, 0.6],
        "eigenvalues σ_1 > ... > σ_r of X",
    ),
    Parameter("m", MEASUREMENTS, 600, 1200, "number of symmetric Gaussian measurements"),
    Parameter("widths", SIZE, [3, 4, 6], [3, 4, 6], "widths k: r and some > r (<= n)"),
    Parameter("init_scale", POSITIVE, 1e-2, 1e-2, "U_0 = init_scale G, G with N(0, 1) entries"),
    Parameter("step", POSITIVE, 0.3, 0.3, "step size μ"),
    Parameter("iters", ITERATIONS, 8000, 16000, "iterations T per width"),
    Parameter(
        "check_times",
        ITERATIONS,
        [1000, 2000, 4000, 8000],
        [1000, 2000, 4000, 8000, 16000],
        "times t of t² L(t): increasing multiples of record_every, <= iters",
    ),
    Parameter("record_every", ITERATIONS, 10, 10, "record the loss every so many iterations"),
)
