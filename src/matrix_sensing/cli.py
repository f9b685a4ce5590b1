"""``python -m matrix_sensing`` (also the ``matrix-sensing`` command): list the claims, rerun
one with your own parameters, or run a sweep.

Exit status: 0 when the claim holds, 1 when it fails (or the run diverged, or a results file
is corrupt), 2 for bad usage (unknown claim or parameter, a value of the wrong type or out of
range), 130 when interrupted (Ctrl-C): one line on stderr, no traceback.

A run writes its results into the output folder only once the notebook has finished, and
``results.json`` last: a folder with a ``results.json`` holds one complete run (every file it
lists is from that run); an interrupted run leaves either the previous complete run or no
``results.json``, never a mix that looks complete.
"""

from __future__ import annotations

import argparse
import ast
import base64
import contextlib
import json
import os
import re
import shutil
import signal
import sys
import tempfile
from pathlib import Path

from . import __version__, claims, provenance
from ._resources import NotebooksMissing, notebook_path, notebooks_folder
from .parameters import ParameterError, claim_parameters

EXIT_PASS, EXIT_FAIL, EXIT_USAGE = 0, 1, 2


class UsageError(Exception):
    """Bad command-line usage: printed as one line, exit status 2."""


class Interrupted(Exception):
    """Ctrl-C, after cleaning up: the message says what was kept; exit status 130."""


EXIT_INTERRUPTED = 130


class _Parser(argparse.ArgumentParser):
    """argparse, with the one-line errors of the rest of the command line (``error:
    <message>``, exit status 2, no usage block), and values such as ``-1e-05``, ``-.5``,
    ``-inf`` or ``-Infinity`` read as values, not as options (argparse alone knows only
    ``-12`` and ``-1.5``; none of our options starts with a digit, ``.``, ``i`` or ``n``).
    The subparsers (``run``, ``sweep``) are of this class too."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._negative_number_matcher = re.compile(r"^-(\d|\.\d|inf|nan)", re.IGNORECASE)

    def error(self, message):
        self.exit(EXIT_USAGE, f"error: {message}\n")


EPILOG = """\
examples:
  %(prog)s list
  %(prog)s run M1 --seeds 0 1 2 --out results/m1
  %(prog)s run M1 -p alpha_small 1e-5 -p k 20
  %(prog)s sweep phase-transition --scale paper --workers 2

exit status:
  0    the claim holds (or the command succeeded)
  1    the claim fails, the run diverged, or a results file is corrupt
  2    bad usage: unknown claim or parameter, a value of the wrong type or out of range
  130  interrupted (Ctrl-C)
"""


def _prog() -> str:
    """The command as the reader typed it: the installed script or ``python -m``."""
    script = Path(sys.argv[0]).name == "matrix-sensing"
    return "matrix-sensing" if script else "python -m matrix_sensing"


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog=_prog(),
        description="Rerun the claims of the matrix-sensing companion.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("list", help="the claims, their notebooks and the parameters they accept")
    run = sub.add_parser("run", help="execute a claim's notebook and print its verdict")
    run.add_argument("claim", help="claim id, e.g. M1 (see `list`)")
    run.add_argument(
        "-p",
        "--param",
        nargs=2,
        action="append",
        default=[],
        metavar=("NAME", "VALUE"),
        help="set a parameter of the notebook (repeatable); lists as [1, 2] or 1,2",
    )
    run.add_argument(
        "--scale",
        choices=claims.SCALES,
        default="ci",
        help="parameter set to start from (default: ci)",
    )
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
            print(
                f"       {p.name:16s} {p.type_text():15s} default {p.default!r:14}"
                f" allowed {p.range_text()}"
            )
    try:
        folder = notebooks_folder()
    except NotebooksMissing as exc:
        raise UsageError(str(exc)) from None
    print(f"notebooks (paper-scale parameter files in params/): {folder}")
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
                return {k[len(prefix) :]: v for k, v in output.get("data", {}).items()}
    return None


def _figures(nb, folder: Path) -> list[Path]:
    """Write the notebook's PNG figures (glued ones under their glue name) into ``folder``."""
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
    values = _parameters(args)
    claim = claims.get(args.claim)
    try:
        notebook = notebook_path(claim.notebook)
    except NotebooksMissing as exc:
        raise UsageError(str(exc)) from None
    out = args.out or Path("results") / f"{args.claim}-{args.scale}"
    try:
        with provenance._exclusive(out):
            provenance._remove_partial_writes(out)
            for stale in out.glob(".run-*"):  # scratch folders of killed runs
                shutil.rmtree(stale, ignore_errors=True)
            # The notebook runs in a scratch folder: `out` keeps its previous complete run
            # (if any) untouched until this one has finished.
            with tempfile.TemporaryDirectory(prefix=".run-", dir=out) as scratch:
                return _run_and_write(args, values, claim, notebook, out, Path(scratch))
    except provenance.FolderBusy as exc:
        raise UsageError(str(exc)) from None
    except KeyboardInterrupt:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        complete = (out / "results.json").is_file()
        kept = "the previous complete run is kept there" if complete else "no results.json"
        raise Interrupted(
            f"run of {args.claim} stopped before it finished; {out}: {kept}"
        ) from None


def _stop_kernel_and_interrupt(signum, frame):
    """Ctrl-C while the notebook runs: kill the kernel first (it runs in its own session, so
    the terminal's SIGINT does not reach it), then interrupt. Left to nbclient's orderly
    shutdown, the busy kernel and the pending cell print tracebacks on their way out."""
    import logging

    import psutil  # a dependency of ipykernel

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # one Ctrl-C is enough
    for child in psutil.Process().children(recursive=True):
        with contextlib.suppress(psutil.Error):
            child.kill()
    logging.getLogger("asyncio").disabled = True  # "Task exception was never retrieved"
    raise KeyboardInterrupt


def _run_and_write(args, values, claim, notebook: Path, out: Path, scratch: Path) -> int:
    import nbformat
    import papermill

    from .kernel_settings import kernel_config

    executed = scratch / notebook.name
    started = provenance.now()
    error = None
    previous = signal.signal(signal.SIGINT, _stop_kernel_and_interrupt)
    try:
        papermill.execute_notebook(
            str(notebook),
            str(executed),
            parameters=values,
            cwd=str(notebook.parent),
            progress_bar=not args.quiet,
            kernel_name="python3",
            config=kernel_config(),
        )
    except papermill.PapermillExecutionError as exc:
        if exc.ename == "KeyboardInterrupt":  # the kernel was interrupted, not this process
            raise KeyboardInterrupt from None
        error = exc
    finally:
        if signal.getsignal(signal.SIGINT) is _stop_kernel_and_interrupt:
            signal.signal(signal.SIGINT, previous)
    finished = provenance.now()
    if error is not None and error.ename in ("ValueError", "TypeError", "ParameterError"):
        raise UsageError(f"bad parameter: {error.evalue}")
    # From here on `out` is rewritten: results.json goes first (no complete run while the
    # files change) and comes back last.
    for marker in ("results.json", "provenance.json"):
        (out / marker).unlink(missing_ok=True)
    nb = nbformat.read(executed, as_version=4)
    os.replace(executed, out / notebook.name)
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
        kind="claim-run",
        name=args.claim,
        params=effective,
        seeds=effective["seeds"],
        started=started,
        finished=finished,
        verdict={cid: v["passed"] for cid, v in verdicts.items()},
    )
    figures = _figures(nb, out / "figures")
    provenance.write_npz(out / "results.npz", _arrays(record["verdicts"]))
    provenance.write_json(out / "provenance.json", meta)
    provenance.write_json(
        out / "results.json",
        {
            "provenance": meta,
            "runtime_s": record["runtime_s"],
            "verdicts": record["verdicts"],
            "notebook": notebook.name,
            "arrays": "results.npz",
            "figures": [str(p.relative_to(out)) for p in figures],
        },
    )
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
    except SystemExit as exc:  # argparse already printed its one-line error (or the help)
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
    except provenance.CorruptResultError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_FAIL
    except Interrupted as exc:
        print(f"interrupted: {exc}", file=sys.stderr)
        return EXIT_INTERRUPTED
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED


if __name__ == "__main__":
    sys.exit(main())
