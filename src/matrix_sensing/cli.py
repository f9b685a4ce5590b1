"""``python -m matrix_sensing`` (also the ``matrix-sensing`` command): list the claims, rerun
one with your own parameters, or run a sweep.

Exit status: 0 when the claim holds, 1 when it fails (or the run diverged), 2 for bad usage
(unknown claim or parameter, a value of the wrong type or out of range): one line on stderr,
no traceback.
"""

from __future__ import annotations

import argparse
import ast
import base64
import json
import sys
from pathlib import Path

from . import claims, provenance
from .parameters import ParameterError, claim_parameters

REPO = Path(__file__).resolve().parents[2]
EXIT_PASS, EXIT_FAIL, EXIT_USAGE = 0, 1, 2


class UsageError(Exception):
    """Bad command-line usage: printed as one line, exit status 2."""


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m matrix_sensing",
        description="Rerun the claims of the matrix-sensing companion.",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("list", help="the claims, their notebooks and the parameters they accept")
    run = sub.add_parser("run", help="execute a claim's notebook and print its verdict")
    run.add_argument("claim", help="claim id, e.g. M1 (see `list`)")
    run.add_argument(
        "-p", "--param", nargs=2, action="append", default=[], metavar=("NAME", "VALUE"),
        help="set a parameter of the notebook (repeatable); lists as [1, 2] or 1,2",
    )  # fmt: skip
    run.add_argument("--scale", choices=claims.SCALES, default="ci",
                     help="parameter set to start from (default: ci)")  # fmt: skip
    run.add_argument("--seeds", nargs="+", metavar="SEED", help="seeds to run (default 0 1 2 3 4)")
    run.add_argument("--out", type=Path, help="output folder (default: results/<claim>-<scale>)")
    run.add_argument("--quiet", action="store_true", help="no progress bar")
    from .sweep import add_sweep_parser

    add_sweep_parser(sub)
    return parser


def cmd_list() -> int:
    for claim_id in claims.ids():
        claim = claims.get(claim_id)
        print(f"{claim_id:4s} {claim.title}  [{claim.source}]")
        print(f"     notebook: {claim.notebook}")
        for p in claim_parameters(claim_id):
            print(f"       {p.name:16s} {p.type_text():15s} default {p.default!r:14}"
                  f" allowed {p.range_text()}")  # fmt: skip
    return EXIT_PASS


def _parameters(args) -> dict:
    try:
        claim = claims.get(args.claim)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    specs = {p.name: p for p in claim_parameters(args.claim)}
    values = dict(claim.params(args.scale)) if args.scale != "ci" else {}
    pairs = list(args.param)
    if args.seeds is not None:
        pairs.append(("seeds", " ".join(args.seeds)))
    for name, text in pairs:
        if name not in specs:
            raise UsageError(
                f"unknown parameter {name!r} for claim {args.claim}; allowed: {sorted(specs)}"
            )
        try:
            values[name] = specs[name].parse(text)
        except ParameterError as exc:
            raise UsageError(str(exc)) from None
    return values


def _glued(nb, key: str):
    """The value a notebook glued under ``key`` (myst_nb.glue) as (mime type, data)."""
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            scrapbook = output.get("metadata", {}).get("scrapbook", {})
            if scrapbook.get("name") == key:
                prefix = scrapbook.get("mime_prefix", "")
                return {k[len(prefix):]: v for k, v in output.get("data", {}).items()}
    return None


def _figures(nb, folder: Path) -> list[Path]:
    written = []
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            name = output.get("metadata", {}).get("scrapbook", {}).get("name")
            data = _glued(nb, name) if name else output.get("data", {})
            if name and data and "image/png" in data:
                path = folder / f"{name}.png"
                provenance._atomic_write(path, base64.b64decode(data["image/png"]))
                written.append(path)
    return written


def cmd_run(args) -> int:
    import nbformat
    import papermill

    values = _parameters(args)
    claim = claims.get(args.claim)
    notebook = REPO / claim.notebook
    if not notebook.is_file():
        raise UsageError(f"notebook {claim.notebook} not found: run from a clone of the repository")
    out = args.out or Path("results") / f"{args.claim}-{args.scale}"
    out.mkdir(parents=True, exist_ok=True)
    executed = out / notebook.name
    started = provenance.now()
    error = None
    try:
        papermill.execute_notebook(
            str(notebook), str(executed), parameters=values, cwd=str(notebook.parent),
            progress_bar=not args.quiet, kernel_name="python3",
        )  # fmt: skip
    except papermill.PapermillExecutionError as exc:
        error = exc
    finished = provenance.now()
    if error is not None and error.ename in ("ValueError", "TypeError", "ParameterError"):
        raise UsageError(f"bad parameter: {error.evalue}")
    nb = nbformat.read(executed, as_version=4)
    glued = _glued(nb, "claims_record")
    if glued is None:
        detail = f"{error.ename}: {error.evalue}" if error else "no claims_record was glued"
        print(f"{args.claim} did not produce a verdict ({detail})", file=sys.stderr)
        return EXIT_FAIL
    record = json.loads(ast.literal_eval(glued["text/plain"]))
    verdicts = {v["id"]: v for v in record["verdicts"]}
    requested = verdicts.get(args.claim)
    effective = {**claim.params(args.scale), "seeds": [0, 1, 2, 3, 4], **values}
    meta = provenance.provenance(
        kind="claim-run", name=args.claim, params=effective, seeds=effective["seeds"],
        started=started, finished=finished,
        verdict={cid: v["passed"] for cid, v in verdicts.items()},
    )  # fmt: skip
    figures = _figures(nb, out / "figures")
    provenance.write_json(out / "provenance.json", meta)
    provenance.write_json(
        out / "results.json",
        {"provenance": meta, "runtime_s": record["runtime_s"], "verdicts": record["verdicts"],
         "figures": [str(p.relative_to(out)) for p in figures]},
    )  # fmt: skip
    provenance.write_npz(out / "results.npz", _arrays(record["verdicts"]))
    for verdict in record["verdicts"]:
        print(verdict["line"])
    if error is not None and error.ename not in ("ClaimFailed", "AssertionError"):
        print(f"{error.ename}: {error.evalue}", file=sys.stderr)
        return EXIT_FAIL
    print(f"results written to {out}", file=sys.stderr)
    return EXIT_PASS if requested and requested["passed"] else EXIT_FAIL


def _arrays(verdicts: list[dict]) -> dict:
    import numpy as np

    arrays = {}
    for verdict in verdicts:
        arrays[f"{verdict['id']}/seeds"] = np.asarray(verdict["seeds"])
        for quantity, values in verdict.get("measured", {}).items():
            arrays[f"{verdict['id']}/{quantity}"] = np.asarray(values, dtype=float)
    return arrays


def main(argv=None) -> int:
    parser = _parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse already printed one usage line
        return EXIT_USAGE if exc.code else EXIT_PASS
    try:
        if args.command == "list":
            return cmd_list()
        if args.command == "run":
            return cmd_run(args)
        from .sweep import cmd_sweep

        return cmd_sweep(args)
    except UsageError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
