"""Benchmark the factorized gradient-descent solver against the physical limit and its peers.

    .venv/bin/python benchmarks/run.py               # full run (a few minutes), writes results/
    .venv/bin/python benchmarks/run.py --quick       # CI size only, a few seconds, nothing written
    .venv/bin/python benchmarks/run.py --table-only  # the table alone, nothing written

The command line of :mod:`matrix_sensing.benchmark` (what is measured, and how: there and in
benchmarks/README.md); a full run writes ``results/<date>.json`` and its figures.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

from matrix_sensing import benchmark, provenance

RESULTS = Path(__file__).resolve().parent / "results"


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--quick", action="store_true", help="CI size only (a few seconds); for the book page"
    )
    parser.add_argument("--smoke", action="store_true", help="tiny sizes (for the tests)")
    parser.add_argument(
        "--table-only",
        action="store_true",
        help="the table alone: no peak memory, scaling, factored operators or other threading "
        "(cheap to repeat)",
    )
    parser.add_argument("--reps", type=int, default=5, help="repetitions (median; >= 5)")
    parser.add_argument(
        "--iters",
        type=int,
        default=None,
        help="GD iterations per repetition (default 5 with --quick/--smoke, else 20)",
    )
    parser.add_argument(
        "--min-seconds",
        type=float,
        default=None,
        help="least duration of one timed sample (more iterations at small "
        "sizes; default 0.1 s, 0.02 s with --quick)",
    )
    parser.add_argument(
        "--json",
        default=None,
        help="output file ('-': stdout); default results/<date>.json for a "
        "full run, none with --quick/--smoke/--table-only",
    )
    parser.add_argument(
        "--compare-threads",
        action=argparse.BooleanOptionalAction,
        help="also time the table under the other OPENBLAS_NUM_THREADS setting "
        "(default: on for a full run)",
    )
    args = parser.parse_args(argv)
    if args.reps < 1 or (args.iters is not None and args.iters < 1):
        parser.error("--reps and --iters must be integers >= 1")
    if args.min_seconds is not None and not 0 <= args.min_seconds < math.inf:
        parser.error(f"--min-seconds must be a finite number >= 0, got {args.min_seconds}")
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    quiet = args.json == "-"
    data = benchmark.run(
        quick=args.quick,
        smoke=args.smoke,
        reps=args.reps,
        iters=args.iters,
        min_seconds=args.min_seconds,
        table_only=args.table_only,
        compare_threads=args.compare_threads,
        progress=None if quiet else print,
    )
    if quiet:
        print(json.dumps(data))
        return 0
    path = args.json
    # a table alone is no full run: results/ holds full runs (the book draws its figures)
    if path is None and not (args.quick or args.smoke or args.table_only):
        path = RESULTS / f"{data['provenance']['started'][:10]}.json"
    if path is not None:
        path = provenance.write_json(path, data)
        series = "scaling" in data  # --quick and --table-only time the table only
        for name, fig in benchmark.figures(data).items() if series else ():
            fig.savefig(Path(path).with_name(f"{Path(path).stem}-{name}.png"), dpi=120)
        print(f"wrote {path}")
    print(benchmark.markdown_table(data["table"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
