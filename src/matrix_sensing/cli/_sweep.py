"""``matrix-sensing sweep``: the command line of the sweep runner :mod:`matrix_sensing.sweep`."""

from __future__ import annotations

import signal
from pathlib import Path

from .. import provenance, sweep
from ._base import EXIT_PASS, Interrupted, UsageError


def add_parser(sub) -> None:
    parser = sub.add_parser("sweep", help="run a sweep over a grid (local processes or Dask)")
    parser.add_argument("name", help=f"one of {sorted(sweep.SWEEPS)}")
    scales = sorted({scale for _, grids in sweep.SWEEPS.values() for scale in grids})
    parser.add_argument(
        "--scale",
        choices=scales,
        default="ci",
        help="grid size: smoke (seconds), ci (default) or paper",
    )
    parser.add_argument("--out", type=Path, help="output folder (default: results/<name>-<scale>)")
    parser.add_argument("--scheduler", help="Dask scheduler address, e.g. tcp://host:8786")
    parser.add_argument("--workers", type=int, help="local processes (default: CPU count)")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")


def command(args) -> int:
    try:
        configs = sweep.configurations(args.name, args.scale)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    if args.workers is not None and args.workers < 0:
        raise UsageError(f"--workers must be an integer >= 0, got {args.workers}")
    out = args.out or Path("results") / f"{args.name}-{args.scale}"
    try:
        records = sweep.run_sweep(
            args.name,
            configs,
            out,
            scheduler=args.scheduler,
            workers=args.workers,
            progress=not args.quiet,
        )
        sweep.write_table(records, out)
    except provenance.FolderBusy as exc:
        raise UsageError(str(exc)) from None
    except KeyboardInterrupt:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl-C: no traceback
        done = len(configs) - len(sweep.pending(args.name, configs, out))
        raise Interrupted(
            f"{done} of {len(configs)} runs are saved in {out}; the same command resumes the sweep"
        ) from None
    print(f"{len(records)} runs in {out} (table: {out / 'table.npz'})")
    return EXIT_PASS
