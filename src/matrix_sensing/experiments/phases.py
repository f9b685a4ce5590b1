"""Claims M5, M6, M7: the three phases of one gradient-descent trajectory.

One experiment, :func:`phases`, runs gradient descent once per seed from a very small
initialization (configuration B, α = 1e-8) and records at every iteration, through the
``metrics=`` hooks of :func:`~matrix_sensing.factorized_gd`:

* the top ``r + 1`` singular values of the estimate ``U_t V_t^T``;
* the sines of the largest principal angles between the top-``r`` left singular subspace of
  ``U_t`` (resp. of ``V_t``) and the top-``r`` left (resp. right) singular subspace of the
  spectral estimate ``A*(y)``, and of the truth ``X``;
* the same sines for the top-``r`` left and right singular subspaces of ``U_t V_t^T`` and
  the truth;
* the distance between gradient descent and the explicit power iteration on the dilation,
  ``W^PI_t = (I + μ D(A*(y)))^t W_0`` with ``W = [U; V]`` and
  ``D(M) = [[0, M], [M^T, 0]]``: the identity ``W_{t+1} = (I - μ D(E_t)) W_t`` (see
  ``book/theory.md``, "The dilation") with ``E_t ≈ -A*(y)`` while ``U_t V_t^T`` is tiny.

The phases are then read off the recorded trajectory (never typed in):

* phase I (spectral) ends at :func:`spectral_phase_end`, the last iteration before
  ``||U_t V_t^T||`` exceeds ``SPECTRAL_LEVEL · ||X||``;
* phase III (local refinement) starts at :func:`first_below` ``(test_error, ESCAPE_LEVEL)``;
* phase II (saddle / incremental learning) lies in between.

The measurement helpers (:func:`spectral_phase_end`, :func:`first_below`,
:func:`plateau_length`, :func:`drop_iterations`) are exported so that the claims and the
notebook use the same definitions.
"""

from __future__ import annotations

import numpy as np

from .. import _validation as check
from ..initialization import small_random_init
from ..metrics import subspace_distance, top_singular_subspaces
from ..solvers import factorized_gd
from ._common import Run, sensing_problem, spawn_seeds
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

# The levels below are this companion's calibration at CPU scale, not the paper's numbers
# (see ``book/claims/m5_m7.md``; M4's escape: ``book/claims/m3_m4.md``).
# M5: the spectral phase lasts while ||U_t V_t^T|| <= 1e-2 ||X||.
SPECTRAL_LEVEL = 1e-2
# M4/M7: the escape (start of the local refinement) is the first test error < 0.1.
ESCAPE_LEVEL = 0.1
# M7: after the escape the error falls by this factor ...
DROP_FACTOR = 100.0
# ... and M6: the plateau is where the test error is within this distance of the error of
# "one direction learned", sqrt(sum_{i>=2} σ_i^2) / ||X||_F (= σ_2/||X||_F for r = 2).
# M6 says only "near"; this tolerance was chosen here (see notebooks/m5_m7_phases.ipynb).
PLATEAU_TOLERANCE = 0.1

# Names of the per-iteration columns recorded by the "phases" metric hook (after the top
# r + 1 singular values of U_t V_t^T, recorded as "product_sv").
ANGLE_COLUMNS = (
    "sin_U_spectral",  # top-r left subspace of U_t vs top-r left subspace of A*(y)
    "sin_V_spectral",  # top-r left subspace of V_t vs top-r right subspace of A*(y)
    "sin_U_truth",  # top-r left subspace of U_t vs the left singular subspace of X
    "sin_V_truth",  # top-r left subspace of V_t vs the right singular subspace of X
    "sin_product_left_truth",  # top-r left subspace of U_t V_t^T vs that of X
    "sin_product_right_truth",  # top-r right subspace of U_t V_t^T vs that of X
)
POWER_COLUMNS = (
    "pi_rel_diff",  # ||W_t - W^PI_t||_F / ||W^PI_t||_F
    "pi_product_norm",  # ||U^PI_t (V^PI_t)^T||, the power iteration's estimate of ||U_t V_t^T||
)


def dilation(M) -> np.ndarray:
    """The symmetric dilation ``D(M) = [[0, M], [M^T, 0]]`` ((n1+n2) x (n1+n2)) of an
    (n1, n2) matrix ``M``; its eigenvalues are ``±σ_i(M)`` and zeros."""
    M = check.array("M", M, ndim=2)
    n1, n2 = M.shape
    D = np.zeros((n1 + n2, n1 + n2))
    D[:n1, n1:] = M
    D[n1:, :n1] = M.T
    return D


def power_iteration(M, U0, V0, step: float, iters: int) -> tuple[np.ndarray, np.ndarray]:
    """``W_T = (I + step · D(M))^T W_0`` with ``W = [U; V]``, returned as ``(U_T, V_T)``.

    With ``M = A*(y)`` this is the linearization of gradient descent around ``U V^T = 0``:
    ``U_{t+1} = U_t + step · M V_t``, ``V_{t+1} = V_t + step · M^T U_t``.
    """
    M = check.array("M", M, ndim=2)
    U = check.array("U0", U0, ndim=2, shape=(M.shape[0], None))
    V = check.array("V0", V0, ndim=2, shape=(M.shape[1], U.shape[1]))
    step = check.real("step", step, positive=True)
    iters = check.integer("iters", iters, minimum=0)
    for _ in range(iters):
        U, V = U + step * (M @ V), V + step * (M.T @ U)
    return U, V


def sine_between_bases(A, B) -> float:
    """Sine of the largest principal angle between ``span(A)`` and ``span(B)`` for matrices
    ``A``, ``B`` (n, r) with orthonormal columns: ``||B - A A^T B||``.

    Equals :func:`matrix_sensing.metrics.subspace_distance` for such bases (tested), at a
    fraction of its cost: ``subspace_distance`` re-orthonormalizes both inputs, which would
    dominate the cost of recording seven angles at every iteration. (A generic fast path
    that could move to ``metrics.py``.)
    """
    A = check.array("A", A, ndim=2)
    B = check.array("B", B, ndim=2, shape=(A.shape[0], None))
    return _sine_between_bases(A, B)


def _sine_between_bases(A: np.ndarray, B: np.ndarray) -> float:
    """:func:`sine_between_bases` without the input checks, for the per-iteration hook."""
    residual = B - A @ (A.T @ B)
    # The largest singular value of the (n, r) residual, from its small r x r Gram matrix
    # (no cancellation: the residual itself is formed first).
    return float(np.sqrt(max(np.linalg.eigvalsh(residual.T @ residual)[-1], 0.0)))


class _PhaseMetrics:
    """The per-iteration measurements, as one ``metrics=`` hook returning a vector.

    One hook (rather than one per quantity) so that each SVD is computed once per iteration.
    The hook also advances the power iteration by one step per call, so it must be called
    at every iteration (``record_every=1``), which :func:`phases` guarantees.
    """

    def __init__(self, spectral, truth, r: int, U0, V0, step: float):
        self.r = r
        self.spectral_left, self.spectral_right = top_singular_subspaces(spectral, r)
        self.truth_left, self.truth_right = top_singular_subspaces(truth, r)
        self.spectral, self.step = spectral, step
        self.pi_U, self.pi_V = U0.copy(), V0.copy()

    def __call__(self, U, V) -> np.ndarray:
        r = self.r
        left_U = np.linalg.svd(U, full_matrices=False)[0][:, :r]
        left_V = np.linalg.svd(V, full_matrices=False)[0][:, :r]
        left_P, sv_P, right_P_t = np.linalg.svd(U @ V.T, full_matrices=False)
        angles = (
            _sine_between_bases(self.spectral_left, left_U),
            _sine_between_bases(self.spectral_right, left_V),
            _sine_between_bases(self.truth_left, left_U),
            _sine_between_bases(self.truth_right, left_V),
            _sine_between_bases(self.truth_left, left_P[:, :r]),
            _sine_between_bases(self.truth_right, right_P_t[:r].T),
        )
        W = np.vstack((U, V))
        W_pi = np.vstack((self.pi_U, self.pi_V))
        rel_diff = np.linalg.norm(W - W_pi) / np.linalg.norm(W_pi)
        pi_norm = np.linalg.svd(self.pi_U @ self.pi_V.T, compute_uv=False)[0]
        # One power-iteration step: W^PI_{t+1} = (I + μ D(A*(y))) W^PI_t.
        self.pi_U, self.pi_V = (
            self.pi_U + self.step * (self.spectral @ self.pi_V),
            self.pi_V + self.step * (self.spectral.T @ self.pi_U),
        )
        return np.concatenate((sv_P[: r + 1], angles, (rel_diff, pi_norm)))


def phases(
    *,
    n1: int,
    n2: int,
    r: int,
    kappa: float,
    m: int,
    k: int,
    alpha: float,
    step: float,
    iters: int,
    seed: int,
) -> Run:
    """Claims M5, M6 and M7: one trajectory from ``U_0 = α G_U``, ``V_0 = α G_V``.

    Result ``"gd"``: ``iters`` iterations recorded at every iteration (history
    ``iteration``, ``train_loss``, ``test_error``, ``imbalance`` and ``phases``, the raw
    vector of the hook).

    Data (arrays of length ``iters + 1`` unless said otherwise): ``iteration``,
    ``test_error``; ``product_sv`` ((iters + 1) x (r + 1)), the top singular values of
    ``U_t V_t^T``; one array per name in :data:`ANGLE_COLUMNS` and :data:`POWER_COLUMNS`;
    the scalars ``spectral_sin_left_truth`` and ``spectral_sin_right_truth`` (sines between
    the top-r singular subspaces of ``A*(y)`` and those of ``X``), ``perturbation``
    (``||A*(y) - X|| / σ_r(X)``, how far the spectral estimate is from the truth on the
    scale of its weakest direction), ``truth_norm_op``
    (``||X||``), ``truth_norm_fro`` and ``plateau_level`` (``sqrt(Σ_{i≥2} σ_i²)/||X||_F``,
    the test error once only the leading direction is learned); ``truth_sv`` (r,) and
    ``spectral_sv`` (r + 1,), the top singular values of ``X`` and of ``A*(y)``.
    """
    params = {
        "n1": n1,
        "n2": n2,
        "r": r,
        "kappa": kappa,
        "m": m,
        "k": k,
        "alpha": alpha,
        "step": step,
        "iters": iters,
    }
    # Check every parameter under its own name before the run starts.
    n1 = check.integer("n1", n1, minimum=2)
    n2 = check.integer("n2", n2, minimum=2)
    r = check.integer("r", r, minimum=1, maximum=min(n1, n2) - 1)
    check.real("kappa", kappa, minimum=1.0)
    check.integer("m", m, minimum=1)
    k = check.integer("k", k, minimum=r)
    alpha = check.real("alpha", alpha, positive=True)
    step = check.real("step", step, positive=True)
    iters = check.integer("iters", iters, minimum=1)

    problem_seed, init_seed = spawn_seeds(seed, 2)
    truth, op, y = sensing_problem(n1, n2, r, kappa, m, seed=problem_seed)
    U0, V0 = small_random_init(n1, n2, k, alpha, seed=init_seed)
    spectral = op.adjoint(y)
    hook = _PhaseMetrics(spectral, truth, r, U0, V0, step)
    result = factorized_gd(
        op, y, U0, V0, step, iters, truth=truth, record_every=1, metrics={"phases": hook}
    )
    run = Run("phases", params, seed, truth)
    run.results["gd"] = result

    history = result.history
    table = history["phases"]
    run.data["iteration"] = history["iteration"]
    run.data["test_error"] = history["test_error"]
    run.data["product_sv"] = table[:, : r + 1]
    for i, name in enumerate(ANGLE_COLUMNS + POWER_COLUMNS):
        run.data[name] = table[:, r + 1 + i]

    truth_sv = np.linalg.svd(truth, compute_uv=False)[:r]
    truth_left, truth_right = top_singular_subspaces(truth, r)
    spectral_left, spectral_right = top_singular_subspaces(spectral, r)
    fro = float(np.linalg.norm(truth))
    run.data.update(
        truth_sv=truth_sv,
        spectral_sv=np.linalg.svd(spectral, compute_uv=False)[: r + 1],
        truth_norm_op=float(truth_sv[0]),
        truth_norm_fro=fro,
        plateau_level=float(np.sqrt(np.sum(truth_sv[1:] ** 2)) / fro),
        spectral_sin_left_truth=subspace_distance(spectral_left, truth_left),
        spectral_sin_right_truth=subspace_distance(spectral_right, truth_right),
        # The spectral phase aligns the factors with A*(y); that says something about X
        # only if A*(y) - X is small next to σ_r(X) (enough measurements m).
        perturbation=float(np.linalg.norm(spectral - truth, 2) / truth_sv[-1]),
    )
    return run


# Measurements on the recorded trajectory ---------------------------------------------------


def _series(name: str, values) -> np.ndarray:
    values = check.array(name, values, ndim=1)
    if values.size == 0:
        raise ValueError(f"{name} must not be empty")
    return values


def spectral_phase_end(product_norm, level: float) -> int | None:
    """The last index ``t`` before ``product_norm`` first exceeds ``level``: the end of
    phase I (``product_norm[t] = ||U_t V_t^T||``, one entry per iteration from t = 0).

    ``None`` if ``product_norm[0]`` already exceeds ``level``; the last index if it never
    does."""
    product_norm = _series("product_norm", product_norm)
    level = check.real("level", level, positive=True)
    above = np.flatnonzero(product_norm > level)
    if not above.size:
        return len(product_norm) - 1
    return int(above[0]) - 1 if above[0] > 0 else None


def first_below(values, level: float) -> int | None:
    """The first index ``t`` with ``values[t] < level`` (None if never); with the test
    error and ``ESCAPE_LEVEL`` this is the escape time, the start of phase III."""
    values = _series("values", values)
    level = check.real("level", level, positive=True)
    below = np.flatnonzero(values < level)
    return int(below[0]) if below.size else None


def longest_run(mask) -> tuple[int, int]:
    """``(start, length)`` of the longest run of consecutive ``True`` in ``mask`` (the first
    one if several are equally long); ``(0, 0)`` if there is none. ``mask``: a 1-D array of
    booleans (or of numbers, nonzero meaning True)."""
    try:
        raw = np.asarray(mask)
    except ValueError:  # ragged nested lists
        raw = None
    if raw is None or raw.dtype.kind not in "biuf":
        raise TypeError(f"mask must be a 1-D array of booleans, got {mask!r}")
    mask = raw.astype(bool)
    if mask.ndim != 1:
        raise ValueError(f"mask must be 1-dimensional, got shape {mask.shape}")
    edges = np.diff(np.concatenate(([0], mask.astype(np.int8), [0])))
    starts, stops = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
    if not starts.size:
        return 0, 0
    best = int(np.argmax(stops - starts))
    return int(starts[best]), int(stops[best] - starts[best])


def plateau_length(errors, level: float, tolerance: float, stop: int | None) -> tuple[int, int]:
    """The longest stretch of consecutive iterations ``t < stop`` with
    ``|errors[t] - level| <= tolerance``, as ``(start, length)``.

    ``stop`` is the escape time (the plateau must come *before* the error drops); ``None``
    means the error never dropped and the whole series is searched."""
    errors = _series("errors", errors)
    level = check.real("level", level, minimum=0.0)
    tolerance = check.real("tolerance", tolerance, positive=True)
    if stop is not None:
        stop = check.integer("stop", stop, minimum=0)
    return longest_run(np.abs(errors[:stop] - level) <= tolerance)


def drop_iterations(errors, start: int, factor: float) -> int | None:
    """Iterations after ``start`` until ``errors`` is first at most ``errors[start] / factor``
    (None if that never happens in the series)."""
    errors = _series("errors", errors)
    start = check.integer("start", start, minimum=0, maximum=len(errors) - 1)
    factor = check.real("factor", factor, minimum=1.0)
    reached = np.flatnonzero(errors[start:] <= errors[start] / factor)
    return int(reached[0]) if reached.size else None


def phase_boundaries(run: Run) -> dict[str, int | None]:
    """The phase boundaries of a :func:`phases` run, computed from its trajectory:
    ``spectral_end`` (last iteration of phase I, :func:`spectral_phase_end` at
    ``SPECTRAL_LEVEL · ||X||``), ``escape`` (first iteration of phase III, first test error
    below ``ESCAPE_LEVEL``) and ``last`` (the last recorded iteration). ``None`` where the
    boundary is not reached."""
    if run.experiment != "phases":
        raise ValueError(f"run must come from the experiment 'phases', got {run.experiment!r}")
    data = run.data
    return {
        "spectral_end": spectral_phase_end(
            data["product_sv"][:, 0], SPECTRAL_LEVEL * data["truth_norm_op"]
        ),
        "escape": first_below(data["test_error"], ESCAPE_LEVEL),
        "last": int(data["iteration"][-1]),
    }


# Configuration B (n1=40, n2=30, r=2, κ=2, k=n1, μ=0.25; defined in ``book/setup.md``) with
# α = 1e-8, but m = 1120 = 8r(n1+n2) = 2r(n1+n2)κ² measurements instead of B's 560. M5 is a
# statement about the spectral phase, whose theory presupposes that A*(y) is close to X,
# i.e. m ≳ C r(n1+n2)κ² Gaussian measurements. At B's m = 560 (C = 1) the perturbation
# ||A*(y) - X|| is larger than σ_r(X) on most calibration seeds, the r-th and (r+1)-th
# singular values of A*(y) nearly coincide, and the spectral phase is too short for the
# power iteration to separate them: M5 then fails on some seeds. At m = 1120 (C = 2) M5, M6
# and M7 hold on every calibration seed (see ``book/claims/m5_m7.md``, "Why m = 1120"). The
# run lasts long enough for the escape plus the window of M7. The paper scale grows every
# dimension 2.5x at the same oversampling m = 8r(n1+n2), at the same rank and κ (so that the
# plateau of M6 is still at σ_2/||X||_F).
#: The parameters of :func:`phases` (claims M5, M6 and M7).
DECLARATION = declare(
    phases,
    Parameter("n1", Interval(int, 2, MAX_SIZE), 40, 100, "rows of the target X (n1 × n2)"),
    Parameter("n2", Interval(int, 2, MAX_SIZE), 30, 75, "columns of X"),
    Parameter("r", SIZE, 2, 2, "rank of X (< min(n1, n2))"),
    Parameter("kappa", CONDITION_NUMBER, 2.0, 2.0, "condition number κ = σ_1/σ_r of X"),
    Parameter("m", MEASUREMENTS, 1120, 2800, "number of Gaussian measurements"),
    Parameter("k", SIZE, 40, 100, "width of the factors U (n1 × k) and V (n2 × k), >= r"),
    Parameter("alpha", POSITIVE, 1e-8, 1e-8, "scale α of the initialization α G"),
    Parameter("step", POSITIVE, 0.25, 0.25, "step size μ"),
    Parameter("iters", ITERATIONS, 350, 400, "iterations T"),
)
