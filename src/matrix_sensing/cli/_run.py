"""``matrix-sensing run``: execute a claim's notebook with papermill, print its verdict and
write the run's results folder (see :mod:`matrix_sensing.cli` for what a folder holds when);
``run --all`` is :mod:`._all`.

The notebook keeps each finished run in ``<out>/checkpoints`` while it works
(:func:`matrix_sensing.experiments.run_seeds`): the progress bar counts them, and the same
command after an interruption resumes from them. They are removed once the notebook has
finished."""

from __future__ import annotations

import ast
import base64
import contextlib
import json
import os
import shutil
import signal
import sys
import tempfile
from pathlib import Path

from .. import claims, experiments, provenance, summary
from .._resources import NotebooksMissing, notebook_path
from ..parameters import ParameterError, claim_parameters, notebook_values
from ._base import EXIT_FAIL, EXIT_PASS, Interrupted, UsageError
from ._progress import polled_bar

CHECKPOINTS = "checkpoints"


def add_parser(sub) -> None:
    run = sub.add_parser("run", help="execute a claim's notebook and print its verdict")
    run.add_argument("claim", nargs="?", help="claim id, e.g. M1 (see `list`)")
    run.add_argument(
        "--all",
        action="store_true",
        help="every claim: one folder per notebook and a summary table (resumes)",
    )
    run.add_argument(
        "--only",
        nargs="+",
        metavar="CLAIM",
        help="with --all: only the notebooks of these claims",
    )
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
    run.add_argument(
        "--workers",
        type=int,
        help="processes running the seeds side by side (default 1); with --all: notebooks "
        "side by side",
    )
    run.add_argument("--scheduler", help="Dask scheduler address for the seeds, tcp://host:port")
    run.add_argument(
        "--out",
        type=Path,
        help="output folder (default: results/<claim>-<scale>, with --all results/all-<scale>)",
    )
    run.add_argument("--quiet", action="store_true", help="no progress bar")


def _parameters(args) -> dict:
    try:
        claim = claims.get(args.claim)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    if getattr(args, "workers", None) is not None:
        args.param = [*args.param, ("workers", str(args.workers))]
    specs = {p.name: p for p in claim_parameters(claim.id)}
    # The notebook's parameters cell holds the CI scale: only another scale is passed in full.
    values = notebook_values(claim.id, args.scale) if args.scale != "ci" else {}
    pairs = list(args.param)
    if args.seeds is not None:
        pairs.append(("seeds", " ".join(args.seeds)))
    for name, text in pairs:
        if name not in specs:
            suffixed = [
                name + c.declaration.suffix
                for c in map(claims.get, claims.ids())
                if c.notebook == claim.notebook and name + c.declaration.suffix in specs
            ]
            hint = f" (its notebook takes {' or '.join(suffixed)})" if suffixed else ""
            raise UsageError(
                f"unknown parameter {name!r} for claim {args.claim}{hint}; allowed: {sorted(specs)}"
            )
        try:
            values[name] = specs[name].parse(text)
        except ParameterError as exc:
            raise UsageError(str(exc)) from None
    return values


def _announce(args, claim, values: dict) -> None:
    """What the run will cost, from the recorded run of every claim at this scale."""
    if args.quiet:
        return
    recorded = summary.recorded(args.scale)
    per_seed = summary.cost_per_seed(recorded, Path(claim.notebook).stem)
    if per_seed is None:
        return
    seeds = len(values.get("seeds", notebook_values(claim.id, args.scale)["seeds"]))
    workers = values.get("workers", 1) if args.scheduler is None else None
    side = f"; {workers} workers share that" if workers and workers > 1 else ""
    print(
        f"{claim.notebook}: {seeds} seeds at {args.scale} scale, about "
        f"{summary.duration(per_seed * seeds)} of work when measured "
        f"({summary.measured_on(recorded)}){side}",
        file=sys.stderr,
    )


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
                written.append(provenance.write_bytes(path, base64.b64decode(data["image/png"])))
    return written


def command(args) -> int:
    if args.all:
        if args.claim is not None:
            raise UsageError(f"give a claim id or --all, not both (got {args.claim} and --all)")
        from . import _all

        return _all.command(args)
    if args.claim is None:
        raise UsageError("give a claim id (see `list`) or --all")
    if args.only is not None:
        raise UsageError("--only chooses claims for --all; for one claim give its id alone")
    values = _parameters(args)
    claim = claims.get(args.claim)
    try:
        notebook = notebook_path(claim.notebook)
    except NotebooksMissing as exc:
        raise UsageError(str(exc)) from None
    out = args.out or Path("results") / f"{args.claim}-{args.scale}"
    try:
        with provenance.exclusive(out):
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
        done, asked = experiments.checkpoint_progress(out / CHECKPOINTS)
        resume = (
            f"; {done} of {asked} runs are kept in {out / CHECKPOINTS}, the same command "
            "resumes from them"
            if done
            else ""
        )
        raise Interrupted(
            f"run of {args.claim} stopped before it finished; {out}: {kept}{resume}"
        ) from None


def _stop_kernel_and_interrupt(signum, frame):
    """Ctrl-C while the notebook runs: kill the kernel first (it runs in its own session, so
    the terminal's SIGINT does not reach it), then interrupt. Left to nbclient's orderly
    shutdown, the busy kernel and the pending cell print tracebacks on their way out."""
    import logging

    import psutil  # a dependency of ipykernel

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # one Ctrl-C is enough
    children = psutil.Process().children(recursive=True)
    for child in children:
        with contextlib.suppress(psutil.Error):
            child.kill()
    # Gone before the results folder is left: a kernel killed while it wrote a checkpoint
    # leaves a temporary file, which provenance.exclusive removes on the way out.
    psutil.wait_procs(children, timeout=10)
    logging.getLogger("asyncio").disabled = True  # "Task exception was never retrieved"
    raise KeyboardInterrupt


def _run_and_write(args, values, claim, notebook: Path, out: Path, scratch: Path) -> int:
    import nbformat
    import papermill

    from ..kernel_settings import kernel_config

    executed = scratch / notebook.name
    checkpoints = (out / CHECKPOINTS).resolve()
    options = {"checkpoints": str(checkpoints)}
    if args.scheduler is not None:
        options["scheduler"] = args.scheduler
    _announce(args, claim, values)
    started = provenance.now()
    error = None
    previous = signal.signal(signal.SIGINT, _stop_kernel_and_interrupt)
    try:
        with polled_bar(
            lambda: experiments.checkpoint_progress(checkpoints),
            desc=f"{args.claim} ({args.scale} scale)",
            unit="run",
            disable=args.quiet,
        ):
            papermill.execute_notebook(
                str(notebook),
                str(executed),
                parameters={**values, **options},
                cwd=str(notebook.parent),
                progress_bar=False,
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
    # Kept only to resume an interrupted run: a finished one (even failed) starts afresh.
    shutil.rmtree(checkpoints, ignore_errors=True)
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
    effective = {**notebook_values(claim.id, args.scale), **values}
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
