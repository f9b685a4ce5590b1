"""The data of the page "Explore the dynamics", computed by the package at build time.

The ``{explore-dynamics}`` directive places the interactive figure (drawn by
``_static/explore.js``) on its page; at the end of an HTML build this extension runs
gradient descent on every point of the grid (:func:`default_grid`: α × width k ×
measurements m × seed, on the CI configuration of claims M1/M3) and writes the
trajectories, with their provenance, to :data:`FILENAME` beside the page. Nothing on the
page is typed by hand: a change in ``src/`` shows up at the next build.

For each (m, seed) one problem ``(X, A, y)`` is drawn as the claims' experiments draw it,
and for each width k the α values advance as one batch of
:func:`~matrix_sensing.factorized_gd` (they share A). A run whose loss blows up (a large
α at a small width: the initialization is then not small, see the page) is taken out of
its batch and kept with its trajectory up to the divergence. The trajectories are recorded
every ``record_every`` iterations through the solver's ``metrics=`` hook; the arrays are
stored as little-endian float64 in one base64 string, so that they keep every digit (the
test compares them with direct runs to 1e-12) at a fraction of the size of decimal text.
The file is the JSON object behind ``window.exploreData =``: the page loads it as a script,
which works both served and opened from the disk.

:func:`compute` is the whole computation for any grid (the tests call it on a small one).
"""

from __future__ import annotations

import base64
import dataclasses
import json
import os
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
from docutils import nodes
from sphinx.util import logging
from sphinx.util.docutils import SphinxDirective

FILENAME = "explore_data.js"
# The data file is one JSON object behind this prefix: a script, so that the page works
# opened from the disk too (browsers refuse fetch() of a file:// URL, not <script src>).
PREFIX = "window.exploreData = "
SCHEMA = "matrix-sensing/explore/1"
# Per recorded iteration of a run, in this order (``sigma_i``: σ_i(U_t V_t^T)).
SINGULAR_VALUES = 4
FIELDS = (
    "iteration",
    "test_error",
    "train_loss",
    "imbalance",
    *(f"sigma_{i}" for i in range(1, SINGULAR_VALUES + 1)),
    "sin_left",
    "sin_right",
)

# T is long enough for the runs of the grid that escape (test error < 0.1) to do so; the
# 1500 iterations of M1 and the 2500 of M3 would not fit the page's build budget (20 s on
# 2 cores). Recording every 8th iteration keeps the data file to a few MB.
ITERS = 800
RECORD_EVERY = 8

logger = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True)
class Grid:
    """The points of the page's controls and the length of every run."""

    alphas: tuple[float, ...]
    widths: tuple[int, ...]
    measurements: tuple[int, ...]
    seeds: tuple[int, ...]
    iters: int
    record_every: int


def configuration() -> dict:
    """The CI configuration of claims M1/M3 (the problem every grid point is run on)."""
    from matrix_sensing import claims

    m3 = claims.get("M3").params("ci")
    m1 = claims.get("M1").params("ci")
    base = {name: m3[name] for name in ("n1", "n2", "r", "kappa", "m", "k", "step")}
    if any(m1[name] != base[name] for name in ("n1", "n2", "r", "kappa", "m", "k")) or (
        m1["step_small"] != base["step"]
    ):
        raise RuntimeError(f"the CI configurations of M1 and M3 differ: {m1} and {m3}")
    base["iters"] = ITERS
    return base


def default_grid() -> Grid:
    """α from 1 to 1e-8 (one per decade); k = r, 2r, the middle width of claim M10 and
    n1; m at 5/7, 1 and 3/2 times the CI m (the m sweep of the M3 notebook); seeds 0-2."""
    from matrix_sensing import claims

    base = configuration()
    r, n1, m = base["r"], base["n1"], base["m"]
    middle = [k for k in claims.get("M10").params("ci")["widths"] if 2 * r < k < n1]
    return Grid(
        alphas=tuple(10.0**-e for e in range(9)),
        widths=(r, 2 * r, middle[len(middle) // 2], n1),
        measurements=(round(m * 5 / 7), m, round(m * 3 / 2)),
        seeds=(0, 1, 2),
        iters=base["iters"],
        record_every=RECORD_EVERY,
    )


class TrajectoryMetrics:
    """The ``metrics=`` hook: σ_1..σ_4 of ``M = U V^T`` (0 beyond the width k) and the sines
    of the largest principal angles between the top-r left (resp. right) singular subspace
    of M and the left (resp. right) singular subspace of the truth X, as one vector from one
    SVD of M. Same values as ``metrics.singular_values(M)``,
    ``metrics.top_subspace_sine(M, L)`` and ``top_subspace_sine(M.T, R)`` (tested), without
    their input checks."""

    def __init__(self, truth: np.ndarray, r: int):
        from matrix_sensing.metrics import top_singular_subspaces

        self.r = r
        self.left, self.right = top_singular_subspaces(truth, r)

    def __call__(self, U: np.ndarray, V: np.ndarray) -> np.ndarray:
        left, sigma, right_t = np.linalg.svd(U @ V.T, full_matrices=False)
        r = self.r
        sines = (_sine(self.left, left[:, :r]), _sine(self.right, right_t[:r].T))
        top = sigma[:SINGULAR_VALUES].copy()
        top[U.shape[1] :] = 0.0  # rank(U V^T) <= k: what the SVD returns there is rounding
        return np.concatenate((top, sines))


def _sine(basis: np.ndarray, other: np.ndarray) -> float:
    """Sine of the largest principal angle between the spans of two orthonormal bases
    (n, r): ``||basis - other other^T basis||``."""
    residual = basis - other @ (other.T @ basis)
    return float(np.sqrt(max(np.linalg.eigvalsh(residual.T @ residual)[-1], 0.0)))


def _series(history: dict) -> np.ndarray:
    """The history of one run as an array (len(FIELDS), points)."""
    hook = np.asarray(history["trajectory"], dtype=float).reshape(-1, SINGULAR_VALUES + 2)
    columns = [history[name] for name in ("iteration", "test_error", "train_loss", "imbalance")]
    return np.vstack([np.asarray(columns, dtype=float), hook.T])


def _batch(problem, init, alphas: list[float], step: float, grid: Grid, hook) -> dict:
    """Run the α values as one batch; α -> (series, divergence or None)."""
    from matrix_sensing import DivergenceError, factorized_gd

    op, y, truth = problem
    out, left = {}, list(alphas)
    while left:
        U0, V0 = (np.stack(f) for f in zip(*(init(a) for a in left), strict=True))
        try:
            results = factorized_gd(
                op,
                y,
                U0,
                V0,
                step,
                grid.iters,
                truth=truth,
                record_every=grid.record_every,
                metrics={"trajectory": hook},
            )
        except DivergenceError as exc:
            alpha = left.pop(exc.run)
            out[alpha] = _until_divergence(problem, init(alpha), step, grid, hook)
            continue
        out.update({a: (_series(res.history), None) for a, res in zip(left, results, strict=True)})
        left = []
    return out


def _until_divergence(problem, start, step: float, grid: Grid, hook):
    """A run that blows up: its trajectory at every iteration before the divergence, and
    where it diverged (the iteration and the loss, as :class:`DivergenceError` reports)."""
    from matrix_sensing import DivergenceError, factorized_gd

    op, y, truth = problem
    kwargs = {"truth": truth, "metrics": {"trajectory": hook}}
    try:
        result = factorized_gd(op, y, *start, step, grid.iters, record_every=1, **kwargs)
    except DivergenceError as exc:
        result = factorized_gd(op, y, *start, step, exc.iteration - 1, record_every=1, **kwargs)
        return _series(result.history), {"iteration": exc.iteration, "loss": exc.loss}
    # Diverged in the batch only: cannot happen for runs equal up to rounding, but if it
    # did the run alone is kept (recorded as often as the others).
    result = factorized_gd(
        op, y, *start, step, grid.iters, record_every=grid.record_every, **kwargs
    )
    return _series(result.history), None


def _problem_runs(base: dict, grid: Grid, m: int, seed: int, k: int) -> dict:
    """All α of one (m, seed, k): the problem drawn as the claims' experiments draw it."""
    from matrix_sensing import small_random_init
    from matrix_sensing.experiments._common import sensing_problem, spawn_seeds

    problem_seed, init_seed = spawn_seeds(seed, 2)
    truth, op, y = sensing_problem(
        base["n1"], base["n2"], base["r"], base["kappa"], m, seed=problem_seed
    )

    def init(alpha):
        return small_random_init(base["n1"], base["n2"], k, alpha, seed=init_seed)

    hook = TrajectoryMetrics(truth, base["r"])
    runs = _batch((op, y, truth), init, list(grid.alphas), base["step"], grid, hook)
    sigma = np.linalg.svd(truth, compute_uv=False)[: base["r"]]
    return {"runs": runs, "truth_sigma": sigma}


def _fits(grid: Grid, finals: dict) -> list[dict]:
    """The M3 quantity per (k, m, seed): the least-squares slope of log(final test error)
    against log(α) (the package's ``loglog_fit``) over the α of claim M3 on the grid."""
    from matrix_sensing import claims
    from matrix_sensing.fits import loglog_fit

    m3_alphas = [a for a in claims.get("M3").params("ci")["alphas_error"] if a in grid.alphas]
    fits = []
    for (k, m, seed), errors in sorted(finals.items()):
        alphas = [a for a in m3_alphas if errors.get(a) is not None]
        entry = {"k": k, "m": m, "seed": seed, "alphas": alphas}
        if len(alphas) >= 2:
            fit = loglog_fit(alphas, [errors[a] for a in alphas])
            entry.update(slope=fit.slope, intercept=fit.intercept, rvalue=fit.rvalue)
        fits.append(entry)
    return fits


def compute(grid: Grid | None = None, base: dict | None = None, workers: int | None = None) -> dict:
    """Every run of ``grid`` (default :func:`default_grid`) on the configuration ``base``
    (default :func:`configuration`), as the JSON-ready dict the page reads. ``workers``
    threads (default: one per core) run the batches; the solver's compiled loop releases
    the GIL."""
    from matrix_sensing.provenance import now, provenance

    grid = grid or default_grid()
    base = dict(base or configuration())
    started, clock = now(), time.perf_counter()
    tasks = [(m, seed, k) for m in grid.measurements for seed in grid.seeds for k in grid.widths]
    with ThreadPoolExecutor(max(1, workers or os.cpu_count() or 1)) as pool:
        done = dict(
            zip(tasks, pool.map(lambda t: _problem_runs(base, grid, *t), tasks), strict=True)
        )
    runs, blocks, offset, finals, truth_sigma = [], [], 0, {}, {}
    for ia, alpha in enumerate(grid.alphas):
        for ik, k in enumerate(grid.widths):
            for im, m in enumerate(grid.measurements):
                for iseed, seed in enumerate(grid.seeds):
                    entry = done[(m, seed, k)]
                    truth_sigma[seed] = entry["truth_sigma"].tolist()
                    series, diverged = entry["runs"][alpha]
                    count = series.shape[1]
                    final = None if diverged else float(series[1, -1])
                    finals.setdefault((k, m, seed), {})[alpha] = final
                    runs.append(
                        {
                            "alpha": ia,
                            "k": ik,
                            "m": im,
                            "seed": iseed,
                            "offset": offset,
                            "count": count,
                            "diverged": diverged,
                            "final_test_error": final,
                        }
                    )
                    blocks.append(series.ravel())
                    offset += series.size
    values = np.concatenate(blocks).astype("<f8")
    seconds = time.perf_counter() - clock
    params = {**base, **dataclasses.asdict(grid)}
    return {
        "schema": SCHEMA,
        "provenance": provenance(
            kind="explore",
            name="explore-dynamics",
            params=params,
            seeds=grid.seeds,
            started=started,
            finished=now(),
        ),
        "compute_seconds": round(seconds, 2),
        "configuration": base,
        "grid": {
            "alpha": list(grid.alphas),
            "k": list(grid.widths),
            "m": list(grid.measurements),
            "seed": list(grid.seeds),
        },
        "fields": list(FIELDS),
        "truth_sigma": [truth_sigma[s] for s in grid.seeds],
        "m3_fits": _fits(grid, finals),
        "runs": runs,
        "encoding": "base64 of little-endian float64; run i holds fields x count values "
        "from offset (in values), field-major",
        "values": base64.b64encode(values.tobytes()).decode("ascii"),
    }


def decode(data: dict) -> dict[tuple[int, int, int, int], dict[str, np.ndarray]]:
    """The runs of a data dict, by grid indices (alpha, k, m, seed) -> field -> array."""
    values = np.frombuffer(base64.b64decode(data["values"]), dtype="<f8")
    out = {}
    for run in data["runs"]:
        block = values[run["offset"] : run["offset"] + len(data["fields"]) * run["count"]]
        block = block.reshape(len(data["fields"]), run["count"])
        key = (run["alpha"], run["k"], run["m"], run["seed"])
        out[key] = dict(zip(data["fields"], block, strict=True))
    return out


def write(path, data: dict) -> Path:
    """Write the data atomically as :data:`PREFIX` + compact JSON + ``;``."""
    from matrix_sensing.provenance import write_bytes

    text = json.dumps(data, sort_keys=True, separators=(",", ":"), allow_nan=False)
    path = Path(path)
    write_bytes(path, f"{PREFIX}{text};\n".encode())
    return path


def read(path) -> dict:
    """The data dict of a file written by :func:`write`."""
    text = Path(path).read_text(encoding="utf-8").strip()
    if not (text.startswith(PREFIX) and text.endswith(";")):
        raise ValueError(f"{path}: not a data file of the Explore page")
    return json.loads(text[len(PREFIX) : -1])


# Sphinx ----------------------------------------------------------------------------------


class explore_placeholder(nodes.General, nodes.Element):
    pass


def _visit_placeholder(self, node):
    # The figure is drawn by explore.js from the data file; without scripts the text says so.
    self.body.append(
        f'<div class="explore-dynamics" data-src="{FILENAME}">'
        '<p class="explore-loading">Loading the trajectories… (this figure needs '
        "JavaScript; the data are in "
        f'<a href="{FILENAME}">{FILENAME}</a>).</p></div>'
    )
    raise nodes.SkipNode


class ExploreDynamics(SphinxDirective):
    has_content = False

    def run(self):
        self.env.explore_docs = getattr(self.env, "explore_docs", set()) | {self.env.docname}
        return [explore_placeholder()]


def _purge(app, env, docname):
    getattr(env, "explore_docs", set()).discard(docname)


def _merge(app, env, docnames, other):
    env.explore_docs = getattr(env, "explore_docs", set()) | getattr(other, "explore_docs", set())


def _assets(app, pagename, templatename, context, doctree):
    # Only the page with the figure loads its script and style.
    if pagename in getattr(app.env, "explore_docs", set()):
        app.add_css_file("explore.css")
        app.add_js_file("explore.js", defer="defer")


def _write_data(app, exception):
    if exception is not None or app.builder.format != "html":
        return
    pages = sorted(getattr(app.env, "explore_docs", set()))
    if not pages:
        return
    started = time.perf_counter()
    data = compute()
    for page in pages:
        path = write(Path(app.builder.get_outfilename(page)).parent / FILENAME, data)
        logger.info(
            f"explore: wrote {path} ({path.stat().st_size / 1e6:.2f} MB, "
            f"{len(data['runs'])} runs, {time.perf_counter() - started:.1f} s)"
        )


def setup(app):
    app.add_node(explore_placeholder, html=(_visit_placeholder, None))
    app.add_directive("explore-dynamics", ExploreDynamics)
    app.connect("env-purge-doc", _purge)
    app.connect("env-merge-info", _merge)
    app.connect("html-page-context", _assets)
    app.connect("build-finished", _write_data)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
