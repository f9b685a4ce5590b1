"""Sweeps: map a grid of configurations over local processes or a Dask cluster.

Each configuration is one full, seeded run. Its result is written to its own file as soon as
it finishes (atomically, with provenance), named by a hash of the configuration, so an
interrupted sweep (Ctrl-C, or a killed process) resumes where it stopped: configurations
whose result file is there, readable and of that configuration are skipped. Runs are
deterministic, so the results are the same whether they ran in one go, in several
interrupted pieces, in local processes or on a Dask cluster (``scheduler="tcp://host:port"``).
One sweep at a time writes to a folder (a lock refuses a second one).

This module is the library; ``matrix-sensing sweep`` (:mod:`matrix_sensing.cli`) is its
command line: ``configurations`` expands a named grid, ``run_sweep`` runs it, ``pending``
says what is still to do and ``write_table`` collects the results into one ``table.npz``.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
from tqdm import tqdm

from . import _validation as check
from . import parallel, provenance
from .experiments import spawn_seeds
from .initialization import small_random_init
from .operators import GaussianSensing
from .solvers import DivergenceError, factorized_gd
from .targets import low_rank_target


def phase_point(
    *,
    n1: int,
    n2: int,
    r: int,
    m: int,
    k: int,
    alpha: float,
    step: float,
    iters: int,
    kappa: float,
    seed: int,
) -> dict:
    """One point of the phase-transition diagram: overparameterized GD (width ``k``) from a
    small random initialization ``alpha`` on a rank-``r`` problem with ``m`` measurements.
    Returns the final relative test error and train loss (a diverged run counts as a
    failure to recover, with ``test_error = inf``)."""
    n1 = check.integer("n1", n1, minimum=1)
    n2 = check.integer("n2", n2, minimum=1)
    r = check.integer("r", r, minimum=1, maximum=min(n1, n2))
    iters = check.integer("iters", iters, minimum=0)
    target_seed, operator_seed, init_seed = spawn_seeds(seed, 3)
    truth = low_rank_target(n1, n2, r, kappa, seed=target_seed)
    op = GaussianSensing(m, (n1, n2), seed=operator_seed)
    U0, V0 = small_random_init(n1, n2, k, alpha, seed=init_seed)
    try:
        result = factorized_gd(
            op, op(truth), U0, V0, step, iters, truth=truth, record_every=max(iters, 1)
        )
    except DivergenceError as exc:
        inf = float("inf")
        return {"test_error": inf, "train_loss": inf, "diverged_at": exc.iteration}
    return {
        "test_error": float(result.history["test_error"][-1]),
        "train_loss": float(result.history["train_loss"][-1]),
        "diverged_at": -1,
    }


#: ``name -> (function, {scale: grid description})``; a grid is a dict of lists (product taken)
#: and of scalars (held fixed).
SWEEPS: dict[str, tuple[Callable[..., dict], dict[str, dict]]] = {
    "phase-transition": (
        phase_point,
        {
            "ci": {
                "n1": 20,
                "n2": 20,
                "k": 20,
                "kappa": 1.0,
                "alpha": 1e-6,
                "step": 0.25,
                "iters": 800,
                "r": [1, 2, 3, 4],
                "m": [40, 80, 120, 160, 200, 240, 320, 400],
                "seed": [0, 1, 2],
            },
            # Seconds, not minutes: for trying the command and for the interruption tests.
            "smoke": {
                "n1": 16,
                "n2": 16,
                "k": 16,
                "kappa": 1.0,
                "alpha": 1e-4,
                "step": 0.25,
                "iters": 600,
                "r": [1, 2, 3],
                "m": [60, 120, 180, 240],
                "seed": [0, 1, 2, 3],
            },
            "paper": {
                "n1": 40,
                "n2": 30,
                "k": 40,
                "kappa": 2.0,
                "alpha": 1e-6,
                "step": 0.25,
                "iters": 1500,
                "r": [1, 2, 3, 4, 5, 6],
                "m": [70, 140, 210, 280, 350, 420, 560, 700, 840, 1050],
                "seed": list(range(10)),
            },
        },
    ),
}


def grid(description: dict) -> list[dict]:
    """All configurations of a grid description: the product of its list values, in order."""
    configs = [{}]
    for name, value in description.items():
        values = value if isinstance(value, list) else [value]
        configs = [{**c, name: v} for c in configs for v in values]
    return configs


def configurations(name: str, scale: str) -> list[dict]:
    """The configurations of sweep ``name`` (a key of :data:`SWEEPS`) at ``scale`` (one of its
    grids: ``"smoke"``, ``"ci"`` or ``"paper"`` for ``"phase-transition"``)."""
    check.choice("sweep", name, SWEEPS)
    grids = SWEEPS[name][1]
    check.choice("scale", scale, grids)
    return grid(grids[scale])


def config_key(name: str, config: dict) -> str:
    """A stable file name for a configuration: the sweep name and a hash of its values."""
    text = json.dumps({"sweep": name, **config}, sort_keys=True)
    return f"{name}-{hashlib.sha256(text.encode()).hexdigest()[:16]}"


def _read_record(path: Path, name: str, config: dict) -> dict:
    """The record of ``config`` at ``path``; :class:`~.provenance.CorruptResultError` if it is
    unreadable or is not that configuration's result (e.g. a file copied from elsewhere)."""
    record = provenance.read_json(path)
    meta, result = record["provenance"], record.get("result")
    if meta.get("name") != name or meta.get("params") != config or not isinstance(result, dict):
        raise provenance.CorruptResultError(f"{path}: not the result of {name} {config}")
    return record


def _done(path: Path, name: str, config: dict) -> bool:
    try:
        _read_record(path, name, config)
    except provenance.CorruptResultError:
        return False
    return True


def pending(name: str, configs: list[dict], out) -> list[dict]:
    """The configurations of ``configs`` whose result is not yet in folder ``out`` (readable
    and of that configuration), in order: what :func:`run_sweep` would still run."""
    check.choice("sweep", name, SWEEPS)
    out = Path(out)
    return [c for c in configs if not _done(out / f"{config_key(name, c)}.json", name, c)]


def _run_one(task: tuple[str, dict]) -> tuple[dict, dict, str, str]:
    name, config = task
    function = SWEEPS[name][0]
    started = provenance.now()
    result = function(**config)
    return config, result, started, provenance.now()


def run_sweep(
    name: str,
    configs: list[dict],
    out,
    *,
    scheduler: str | None = None,
    workers: int | None = None,
    progress: bool = True,
) -> list[dict]:
    """Run sweep ``name`` over ``configs``, streaming each result to ``out/<key>.json``.

    ``scheduler``: a Dask scheduler address (``tcp://host:port``) or a
    ``distributed.Client``; None runs in local processes (``workers`` of them, default the
    number of CPUs; 0 or 1 run in this process), as :func:`matrix_sensing.parallel.execute`
    does. Returns the records of every configuration (done before or now), in the order of
    ``configs``.
    """
    check.choice("sweep", name, SWEEPS)
    parallel.check_workers(workers)
    with provenance.exclusive(out) as folder:
        return _run_locked(name, configs, folder, scheduler, workers, progress)


def _run_locked(name, configs, out: Path, scheduler, workers, progress) -> list[dict]:
    todo = pending(name, configs, out)
    # The context closes the bar on Ctrl-C too, so the one-line message comes after it.
    with tqdm(
        total=len(configs),
        initial=len(configs) - len(todo),
        desc=name,
        disable=not progress,
        unit="run",
    ) as bar:

        def save(config, result, started, finished):
            meta = provenance.provenance(
                kind="sweep-point",
                name=name,
                params=config,
                seeds=[config.get("seed")],
                started=started,
                finished=finished,
                verdict=None,
            )
            provenance.write_json(
                out / f"{config_key(name, config)}.json", {"provenance": meta, "result": result}
            )
            bar.update()

        parallel.execute(
            _run_one,
            [(name, c) for c in todo],
            lambda _, outcome: save(*outcome),
            workers=workers,
            scheduler=scheduler,
        )
    return [_read_record(out / f"{config_key(name, c)}.json", name, c) for c in configs]


def records_table(records: list[dict]) -> dict[str, np.ndarray]:
    """Columns (parameter and result names) of sweep records, as arrays."""
    rows = [{**r["provenance"]["params"], **r["result"]} for r in records]

    # JSON holds non-finite floats as strings ("inf" for a diverged run).
    def column(key):
        return np.asarray(
            [float(row[key]) if isinstance(row[key], str) else row[key] for row in rows]
        )

    return {key: column(key) for key in rows[0]} if rows else {}


def write_table(records: list[dict], out) -> Path:
    """Write the columns of ``records`` (:func:`records_table`) to ``out/table.npz``, with the
    folder's lock held; returns the file."""
    with provenance.exclusive(out) as folder:
        return provenance.write_npz(folder / "table.npz", records_table(records))
