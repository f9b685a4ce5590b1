"""Claims P1–P3 (the symmetric precursor) and N1 (the curse of symmetry).

Every run here is symmetric gradient descent (:func:`~matrix_sensing.solvers.symmetric_gd`)
on a PSD target with symmetric Gaussian measurements (see ``book/setup.md``, "Symmetric
variant"):

* :func:`symmetric_precursor` serves P1, P2 and P3 (one notebook, one parameter set). Per
  seed it runs three independent problems: P1, an α sweep on a sampled problem plus a
  run that watches the spectral phase; P2, an α sweep on an underdetermined problem
  (``m < n(n+1)/2``) with the time to fit; P3, incremental learning of the eigenvalues
  from α and from α².
* :func:`curse_of_symmetry` serves N1: one problem, one Gaussian draw, widths ``k = r`` and
  ``k > r`` (the first ``k`` columns of the same draw), long runs.

The fits and times the claims use (:func:`loglog_slope`, :func:`time_slope`,
:func:`crossing_times`, :func:`top_subspace_sine`) are exported so that the notebooks draw
exactly what the claims measure.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence

import numpy as np
from scipy import stats

from .. import _validation as check
from ..initialization import small_random_init
from ..metrics import first_crossing, first_rise, subspace_distance
from ..operators import SymmetricGaussianSensing
from ..solvers import symmetric_gd
from ..targets import psd_target
from ._common import Run, _fit_data, spawn_seeds

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


def loglog_slope(alphas, errors) -> float:
    """Slope of the least-squares line ``ln(error) = slope * ln(alpha) + c`` (the exponent
    of α); ``alphas`` and ``errors`` (N,), N >= 2, both > 0."""
    alphas, errors = _fit_data(alphas, errors, "errors", positive=True)
    return float(stats.linregress(np.log(alphas), np.log(errors)).slope)


def time_slope(alphas, times) -> float:
    """Slope of the least-squares line ``time = slope * ln(1/alpha) + c``; ``alphas`` (N,)
    > 0, N >= 2, and ``times`` (N,) (a NaN time, a run that never fitted, gives NaN)."""
    alphas, times = _fit_data(alphas, times, "times", positive=False, missing=True)
    return float(stats.linregress(np.log(1.0 / alphas), times).slope)


def top_subspace_sine(U, basis) -> float:
    """Sine of the largest principal angle between the top-``r`` left singular subspace of
    ``U`` (n, k) (= the top-``r`` eigenspace of ``U U^T``) and ``span(basis)`` (n, r)."""
    U = check.array("U", U, ndim=2)
    basis = check.array("basis", basis, ndim=2, shape=(U.shape[0], None))
    left = np.linalg.svd(U, full_matrices=False)[0]
    return subspace_distance(left[:, : basis.shape[1]], basis)


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


def _p1(n, r, kappa, m, k, step, alphas, iters, alpha_spectral, iters_spectral, *, seed):
    problem_seed, init_seed = spawn_seeds(seed, 2)
    truth, op, y = symmetric_problem(n, r, m, seed=problem_seed, kappa=kappa)
    G = _gaussian_factor(n, k, seed=init_seed)
    results = {}
    for alpha in alphas:
        results[f"p1 alpha={alpha:g}"] = symmetric_gd(
            op, y, alpha * G, step, iters, truth=truth, record_every=10
        )
    spectral = op.adjoint(y)
    spectral_basis = top_eigenvectors(spectral, r)[1]
    truth_eigenvalues, truth_basis = top_eigenvectors(truth, r)
    results["p1 spectral"] = symmetric_gd(
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
    data = {
        "p1_alphas": np.array(alphas),
        "p1_test_error": np.array(
            [results[f"p1 alpha={a:g}"].history["test_error"][-1] for a in alphas]
        ),
        "p1_spectral_eigenvalues": top_eigenvectors(spectral, min(r + 1, n))[0],
        "p1_power_sine": np.array(power_sine),
        "p1_spectral_vs_truth_sine": subspace_distance(spectral_basis, truth_basis),
        "p1_norm_x": float(np.linalg.norm(truth, 2)),
        # ||A*(y) - X|| / λ_r(X): the spectral phase aligns U_t with A*(y), which says
        # something about X only if this is small (enough measurements m).
        "p1_perturbation": float(np.linalg.norm(spectral - truth, 2) / truth_eigenvalues[-1]),
    }
    return truth, results, data


def _p2(n, r, kappa, m, k, step, alphas, iters, fit_level, *, seed):
    problem_seed, init_seed = spawn_seeds(seed, 2)
    truth, op, y = symmetric_problem(n, r, m, seed=problem_seed, kappa=kappa)
    G = _gaussian_factor(n, k, seed=init_seed)
    results, errors, times = {}, [], []
    for alpha in alphas:
        result = symmetric_gd(op, y, alpha * G, step, iters, truth=truth)
        results[f"p2 alpha={alpha:g}"] = result
        errors.append(result.history["test_error"][-1])
        time = first_crossing(result.history["iteration"], result.history["test_error"], fit_level)
        times.append(math.nan if time is None else time)
    sigma = np.linalg.eigvalsh(truth)[::-1][:r]
    data = {
        "p2_alphas": np.array(alphas),
        "p2_test_error": np.array(errors),
        "p2_fit_time": np.array(times, dtype=float),
        "p2_sigma_r": float(sigma[-1]),
        # the predicted slope of the time to fit against ln(1/α)
        "p2_predicted_slope": 1.0 / math.log1p(step * sigma[-1]),
        "p2_spectral_eigenvalues": np.linalg.eigvalsh(op.adjoint(y))[::-1][: r + 1],
    }
    return truth, results, data


def _p3(n, eigenvalues, m, k, step, alpha, iters, *, seed):
    r = len(eigenvalues)
    problem_seed, init_seed = spawn_seeds(seed, 2)
    truth, op, y = symmetric_problem(n, r, m, seed=problem_seed, eigenvalues=eigenvalues)
    G = _gaussian_factor(n, k, seed=init_seed)
    results, crossings = {}, []
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
        results[f"p3 {name}"] = result
        crossings.append(
            crossing_times(result.history["iteration"], result.history["eigenvalues"], eigenvalues)
        )
    data = {"p3_sigma": np.array(eigenvalues), "p3_crossing_times": np.array(crossings)}
    return truth, results, data


def symmetric_precursor(
    *,
    n_p1: int,
    r_p1: int,
    kappa_p1: float,
    m_p1: int,
    k_p1: int,
    step_p1: float,
    alpha_p1: float,
    alphas_p1: Sequence[float],
    iters_p1: int,
    alpha_spectral_p1: float,
    iters_spectral_p1: int,
    n_p2: int,
    r_p2: int,
    kappa_p2: float,
    m_p2: int,
    k_p2: int,
    step_p2: float,
    alphas_p2: Sequence[float],
    iters_p2: int,
    fit_level_p2: float,
    n_p3: int,
    eigenvalues_p3: Sequence[float],
    m_p3: int,
    k_p3: int,
    step_p3: float,
    alpha_p3: float,
    iters_p3: int,
    seed: int,
) -> Run:
    """Claims P1, P2, P3: symmetric gradient descent from a small random initialization
    ``U_0 = α G`` (``G`` i.i.d. N(0, 1/k) entries), on three independent problems.

    P1 (sampled, ``m_p1`` measurements of an ``n_p1 x n_p1`` PSD rank-``r_p1`` target with
    condition number ``kappa_p1``): ``iters_p1`` iterations from ``α G`` for every α of
    ``alphas_p1`` (results ``"p1 alpha=<α>"``, test error recorded every 10 iterations;
    ``alpha_p1``, one of them, is the α at which P1 reads the final test error),
    and ``iters_spectral_p1`` iterations from ``alpha_spectral_p1 G`` recording at every
    iteration the sine between the top-r eigenspaces of ``U_t U_t^T`` and of ``A*(y)``
    (``spectral_sine``), of ``U_t U_t^T`` and of ``X`` (``truth_sine``), and ``||U_t||^2``
    (``norm``) (result ``"p1 spectral"``); ``data["p1_power_sine"]`` is the first sine for
    the power iteration ``(I + μ A*(y))^t U_0`` from the same start, and
    ``data["p1_perturbation"]`` is ``||A*(y) - X|| / λ_r(X)``.

    P2 (underdetermined, ``m_p2 < n_p2 (n_p2 + 1)/2``): ``iters_p2`` iterations from each α
    of ``alphas_p2``, recorded at every iteration; the *time to fit* is the first iteration
    with test error ``< fit_level_p2`` (``data["p2_fit_time"]``).

    P3 (target eigenvalues ``eigenvalues_p3``): ``iters_p3`` iterations from ``alpha_p3 G``
    and from ``alpha_p3**2 G``, recording the top eigenvalues of ``U_t U_t^T`` at every
    iteration; ``data["p3_crossing_times"]`` (2, r) holds the crossing times of
    :func:`crossing_times` for α (row 0) and α² (row 1).
    """
    params = {
        "n_p1": n_p1,
        "r_p1": r_p1,
        "kappa_p1": kappa_p1,
        "m_p1": m_p1,
        "k_p1": k_p1,
        "step_p1": step_p1,
        "alpha_p1": alpha_p1,
        "alphas_p1": alphas_p1,
        "iters_p1": iters_p1,
        "alpha_spectral_p1": alpha_spectral_p1,
        "iters_spectral_p1": iters_spectral_p1,
        "n_p2": n_p2,
        "r_p2": r_p2,
        "kappa_p2": kappa_p2,
        "m_p2": m_p2,
        "k_p2": k_p2,
        "step_p2": step_p2,
        "alphas_p2": alphas_p2,
        "iters_p2": iters_p2,
        "fit_level_p2": fit_level_p2,
        "n_p3": n_p3,
        "eigenvalues_p3": eigenvalues_p3,
        "m_p3": m_p3,
        "k_p3": k_p3,
        "step_p3": step_p3,
        "alpha_p3": alpha_p3,
        "iters_p3": iters_p3,
    }
    # Check every parameter under its own name before any long run starts.
    p1 = dict(
        _check_sizes("p1", n_p1, r_p1, m_p1, k_p1),
        kappa=check.real("kappa_p1", kappa_p1, minimum=1.0),
        step=check.real("step_p1", step_p1, positive=True),
        alphas=check_values("alphas_p1", alphas_p1, low=0, high=1, minimum_count=3),
        iters=check.integer("iters_p1", iters_p1, minimum=1),
        alpha_spectral=check.real("alpha_spectral_p1", alpha_spectral_p1, positive=True),
        iters_spectral=check.integer("iters_spectral_p1", iters_spectral_p1, minimum=1),
    )
    if check.real("alpha_p1", alpha_p1, positive=True) not in p1["alphas"]:
        raise ValueError(f"alpha_p1 must be one of alphas_p1={list(alphas_p1)}, got {alpha_p1!r}")
    p2 = dict(
        _check_sizes("p2", n_p2, r_p2, m_p2, k_p2),
        kappa=check.real("kappa_p2", kappa_p2, minimum=1.0),
        step=check.real("step_p2", step_p2, positive=True),
        alphas=check_values("alphas_p2", alphas_p2, low=0, high=1, minimum_count=3),
        iters=check.integer("iters_p2", iters_p2, minimum=1),
        fit_level=check.real("fit_level_p2", fit_level_p2, positive=True),
    )
    unknowns = p2["n"] * (p2["n"] + 1) // 2
    if p2["m"] >= unknowns:
        raise ValueError(
            f"m_p2 must be < n_p2 (n_p2 + 1) / 2 = {unknowns} (P2 is the underdetermined "
            f"case), got {p2['m']}"
        )
    sigma_p3 = check_eigenvalues("eigenvalues_p3", eigenvalues_p3)
    p3 = dict(
        n=check.integer("n_p3", n_p3, minimum=len(sigma_p3)),
        eigenvalues=sigma_p3,
        m=check.integer("m_p3", m_p3, minimum=1),
        k=check.integer("k_p3", k_p3, minimum=len(sigma_p3)),
        step=check.real("step_p3", step_p3, positive=True),
        alpha=check.real("alpha_p3", alpha_p3, positive=True, maximum=0.5),
        iters=check.integer("iters_p3", iters_p3, minimum=1),
    )
    _check_entries("p3", p3["n"], p3["m"], p3["k"])
    seed = check.seed("seed", seed)
    p1_seed, p2_seed, p3_seed = spawn_seeds(seed, 3)
    truth, results, data = _p1(**p1, seed=p1_seed)
    run = Run("symmetric_precursor", params, seed, truth, results, data)
    for name, part, part_seed, kwargs in (("p2", _p2, p2_seed, p2), ("p3", _p3, p3_seed, p3)):
        part_truth, part_results, part_data = part(**kwargs, seed=part_seed)
        run.results.update(part_results)
        run.data.update(part_data)
        run.data[f"{name}_truth"] = part_truth
    return run


def _check_sizes(part: str, n, r, m, k) -> dict[str, int]:
    n = check.integer(f"n_{part}", n, minimum=1)
    r = check.integer(f"r_{part}", r, minimum=1, maximum=n)
    m = check.integer(f"m_{part}", m, minimum=1)
    k = check.integer(f"k_{part}", k, minimum=r)
    _check_entries(part, n, m, k)
    return {"n": n, "r": r, "m": m, "k": k}


def _check_entries(part: str, n: int, m: int, k: int) -> None:
    """Refuse sizes whose arrays (the measurement matrices, U0) would not fit, naming the
    part's parameters (``n_p2``, not the operator's ``n``) before any part has run."""
    check.entries("U0", (f"n_{part}", n), (f"k_{part}", k))
    check.entries("the measurement matrices", (f"m_{part}", m), (f"n_{part}", n), (f"n_{part}", n))


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
    params = {
        "n": n,
        "eigenvalues": eigenvalues,
        "m": m,
        "widths": widths,
        "init_scale": init_scale,
        "step": step,
        "iters": iters,
        "check_times": check_times,
        "record_every": record_every,
    }
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
