"""Sweeps: map a grid of configurations over local processes or a Dask cluster.

Each configuration is one full, seeded run. Its result is written to its own file as soon as
it finishes (atomically, with provenance), named by a hash of the configuration, so an
interrupted sweep resumes where it stopped: configurations whose result file is already
there and readable are skipped. Runs are deterministic, so the results are the same whether
they ran in local processes or on a Dask cluster (``scheduler="tcp://host:port"``).
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path

import numpy as np
from tqdm import tqdm

from . import _validation as check
from . import provenance
from .experiments import spawn_seeds
from .gd import DivergenceError, factorized_gd
from .initialization import small_random_init
from .operators import GaussianSensing
from .targets import low_rank_target


def phase_point(*, n1: int, n2: int, r: int, m: int, k: int, alpha: float, step: float,
                iters: int, kappa: float, seed: int) -> dict:  # fmt: skip
    """One point of the phase-transition diagram: overparameterized GD (width ``k``) from a
    small random initialization ``alpha`` on a rank-``r`` problem with ``m`` measurements.
    Returns the final relative test error and train loss (a diverged run counts as a
    failure to recover, with ``test_error = inf``)."""
    if r > min(n1, n2):
        raise ValueError(f"r must be <= min(n1, n2) = {min(n1, n2)}, got {r}")
    target_seed, operator_seed, init_seed = spawn_seeds(seed, 3)
    truth = low_rank_target(n1, n2, r, kappa, seed=target_seed)
    op = GaussianSensing(m, (n1, n2), seed=operator_seed)
    U0, V0 = small_random_init(n1, n2, k, alpha, seed=init_seed)
    try:
        result = factorized_gd(op, op(truth), U0, V0, step, iters, truth=truth,
                               record_every=max(iters, 1))  # fmt: skip
    except DivergenceError as exc:
        inf = float("inf")
        return {"test_error": inf, "train_loss": inf, "diverged_at": exc.iteration}
    return {
        "test_error": float(result.history["test_error"][-1]),
        "train_loss": float(result.history["train_loss"][-1]),
        "diverged_at": -1,
    }


#: name -> (function, {scale: grid description}); a grid is a dict of lists (product taken)
#: and of scalars (held fixed).
SWEEPS: dict[str, tuple[Callable[..., dict], dict[str, dict]]] = {
    "phase-transition": (
        phase_point,
        {
            "ci": {
                "n1": 20, "n2": 20, "k": 20, "kappa": 1.0, "alpha": 1e-6, "step": 0.25,
                "iters": 800, "r": [1, 2, 3, 4], "m": [40, 80, 120, 160, 200, 240, 320, 400],
                "seed": [0, 1, 2],
            },
            "paper": {
                "n1": 40, "n2": 30, "k": 40, "kappa": 2.0, "alpha": 1e-6, "step": 0.25,
                "iters": 1500, "r": [1, 2, 3, 4, 5, 6],
                "m": [70, 140, 210, 280, 350, 420, 560, 700, 840, 1050], "seed": list(range(10)),
            },
        },
    ),
}  # fmt: skip


def grid(description: dict) -> list[dict]:
    """All configurations of a grid description: the product of its list values, in order."""
    configs = [{}]
    for name, value in description.items():
        values = value if isinstance(value, list) else [value]
        configs = [{**c, name: v} for c in configs for v in values]
    return configs


def config_key(name: str, config: dict) -> str:
    """A stable file name for a configuration: the sweep name and a hash of its values."""
    text = json.dumps({"sweep": name, **config}, sort_keys=True)
    return f"{name}-{hashlib.sha256(text.encode()).hexdigest()[:16]}"


def _done(path: Path) -> bool:
    try:
        provenance.read_json(path)
    except provenance.CorruptResultError:
        return False
    return True


def _run_one(name: str, config: dict) -> tuple[dict, dict, str, str]:
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
    number of CPUs; ``workers=0`` runs in this process). Returns the records of every
    configuration (done before or now), in the order of ``configs``.
    """
    if name not in SWEEPS:
        raise ValueError(f"sweep must be one of {sorted(SWEEPS)}, got {name!r}")
    if workers is not None:
        check.integer("workers", workers, minimum=0)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    todo = [c for c in configs if not _done(out / f"{config_key(name, c)}.json")]
    bar = tqdm(total=len(configs), initial=len(configs) - len(todo), desc=name,
               disable=not progress, unit="run")  # fmt: skip

    def save(config, result, started, finished):
        meta = provenance.provenance(
            kind="sweep-point", name=name, params=config, seeds=[config.get("seed")],
            started=started, finished=finished, verdict=None,
        )  # fmt: skip
        provenance.write_json(out / f"{config_key(name, config)}.json",
                              {"provenance": meta, "result": result})  # fmt: skip
        bar.update()

    if not todo:
        pass
    elif scheduler is not None:
        from distributed import Client
        from distributed import as_completed as dask_completed

        client = scheduler if isinstance(scheduler, Client) else Client(scheduler)
        try:
            futures = [client.submit(_run_one, name, c, pure=False) for c in todo]
            for future in dask_completed(futures):
                save(*future.result())
        finally:
            if client is not scheduler:
                client.close()
    elif workers == 0:
        for config in todo:
            save(*_run_one(name, config))
    else:
        with ProcessPoolExecutor(max_workers=workers or os.cpu_count()) as pool:
            futures = [pool.submit(_run_one, name, c) for c in todo]
            for future in as_completed(futures):
                save(*future.result())
    bar.close()
    return [provenance.read_json(out / f"{config_key(name, c)}.json") for c in configs]


def records_table(records: list[dict]) -> dict[str, np.ndarray]:
    """Columns (parameter and result names) of sweep records, as arrays."""
    rows = [{**r["provenance"]["params"], **r["result"]} for r in records]
    # JSON holds non-finite floats as strings ("inf" for a diverged run).
    def column(key):
        return np.asarray([float(row[key]) if isinstance(row[key], str) else row[key]
                           for row in rows])  # fmt: skip

    return {key: column(key) for key in rows[0]} if rows else {}


def add_sweep_parser(sub) -> None:
    parser = sub.add_parser("sweep", help="run a sweep over a grid (local processes or Dask)")
    parser.add_argument("name", help=f"one of {sorted(SWEEPS)}")
    parser.add_argument("--scale", choices=("ci", "paper"), default="ci")
    parser.add_argument("--out", type=Path, help="output folder (default: results/<name>-<scale>)")
    parser.add_argument("--scheduler", help="Dask scheduler address, e.g. tcp://host:8786")
    parser.add_argument("--workers", type=int, help="local processes (default: CPU count)")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")


def cmd_sweep(args) -> int:
    from .cli import EXIT_PASS, UsageError

    if args.name not in SWEEPS:
        raise UsageError(f"sweep must be one of {sorted(SWEEPS)}, got {args.name!r}")
    if args.workers is not None and args.workers < 0:
        raise UsageError(f"--workers must be an integer >= 0, got {args.workers}")
    configs = grid(SWEEPS[args.name][1][args.scale])
    out = args.out or Path("results") / f"{args.name}-{args.scale}"
    records = run_sweep(args.name, configs, out, scheduler=args.scheduler,
                        workers=args.workers, progress=not args.quiet)  # fmt: skip
    table = records_table(records)
    provenance.write_npz(out / "table.npz", table)
    print(f"{len(records)} runs in {out} (table: {out / 'table.npz'})")
    return EXIT_PASS
