"""``matrix-sensing run --all``: every claim notebook, each into its own folder, and a summary.

Each notebook is run by its own ``run`` command (a child process, as if typed), so a folder
``<out>/<notebook>`` holds exactly what ``run`` writes; ``--workers N`` runs N notebooks
side by side, longest first by the recorded costs (:mod:`matrix_sensing.summary`), each
with one BLAS thread. A notebook whose folder already holds a finished run of the same
parameters is not run again: after an interruption the same command resumes, and the
notebooks it stopped in resume from their checkpoints. ``<out>/summary.json`` and
``summary.md`` (claim, verdict, worst value, margin, wall time) are written at the end.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from .. import claims, experiments, parallel, provenance, summary
from ..parameters import notebook_values
from ._base import EXIT_FAIL, EXIT_PASS, Interrupted, UsageError
from ._progress import polled_bar
from ._run import CHECKPOINTS

#: How the notebooks' parameters may differ from a finished run that is kept: not at all,
#: but for where its runs were computed.
_PLACE = ("workers", "scheduler")
_ONE_THREAD = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")


def command(args) -> int:
    if args.param:
        raise UsageError("-p sets a parameter of one claim's notebook; --all runs each as declared")
    try:
        workers = max(parallel.check_workers(1 if args.workers is None else args.workers), 1)
    except ValueError as exc:
        raise UsageError(f"--{exc}") from None
    notebooks = _notebooks(args.only)
    out = args.out or Path("results") / f"all-{args.scale}"
    recorded = summary.recorded(args.scale)
    expected = {stem: _expected(recorded, stem, claim, args) for stem, claim in notebooks.items()}
    try:
        with provenance.exclusive(out) as folder:
            return _run_all(args, notebooks, folder, workers, expected)
    except provenance.FolderBusy as exc:
        raise UsageError(str(exc)) from None


def _notebooks(only) -> dict[str, str]:
    """``notebook stem -> its first claim`` (which names it to ``run``), in the order of the
    claims: every notebook, or those of the claims ``only``."""
    for claim_id in only or ():
        try:
            claims.get(claim_id)
        except ValueError as exc:
            raise UsageError(f"--only: {exc}") from None
    chosen = {Path(claims.get(c).notebook).stem for c in only} if only else None
    found: dict[str, str] = {}
    for claim_id in claims.ids():
        stem = Path(claims.get(claim_id).notebook).stem
        if chosen is None or stem in chosen:
            found.setdefault(stem, claim_id)
    return found


def _seeds(args, claim_id: str) -> list[int]:
    if args.seeds is not None:
        return [int(s) for s in args.seeds]
    return notebook_values(claim_id, args.scale)["seeds"]


def _expected(recorded, stem: str, claim_id: str, args) -> float:
    """Seconds the notebook took when recorded (1 s per seed when unknown): its weight in
    the progress bar and in the order of the runs."""
    try:
        seeds = len(_seeds(args, claim_id))
    except ValueError:
        seeds = 1
    per_seed = summary.cost_per_seed(recorded, stem)
    return seeds * (per_seed if per_seed is not None else 1.0)


def _finished(folder: Path, claim_id: str, args) -> dict | None:
    """The ``results.json`` of a finished run of this notebook with these parameters."""
    try:
        record = provenance.read_json(folder / "results.json")
    except provenance.CorruptResultError:
        return None
    expected = {**notebook_values(claim_id, args.scale), "seeds": _seeds(args, claim_id)}
    expected = json.loads(json.dumps(expected))
    kept = record["provenance"].get("params", {})
    same = {k: v for k, v in kept.items() if k not in _PLACE} == {
        k: v for k, v in expected.items() if k not in _PLACE
    }
    return record if same and record.get("verdicts") else None


def _run_all(args, notebooks: dict[str, str], out: Path, workers: int, expected) -> int:
    started = provenance.now()
    entries: dict[str, dict] = {}
    for stem, claim_id in notebooks.items():
        record = _finished(out / stem, claim_id, args)
        if record is not None:
            entries[stem] = summary.entry(stem, record, summary.wall_time(record), "done before")
    todo = sorted((s for s in notebooks if s not in entries), key=lambda s: -expected[s])
    running: dict[str, subprocess.Popen] = {}
    lock = threading.Lock()
    total = sum(expected.values())

    def measure() -> tuple[float, float]:
        done = sum(expected[s] for s in entries)
        with lock:
            busy = list(running)
        for stem in busy:
            finished, asked = experiments.checkpoint_progress(out / stem / CHECKPOINTS)
            done += expected[stem] * finished / asked if asked else 0.0
        return done, total

    if not args.quiet and entries:
        print(
            f"{len(entries)} of {len(notebooks)} notebooks finished before: kept", file=sys.stderr
        )
    env = dict(os.environ)
    if workers > 1:  # notebooks side by side: one BLAS thread each
        env.update({name: "1" for name in _ONE_THREAD})
    with polled_bar(
        measure,
        desc=f"every claim ({args.scale} scale)",
        unit="s",
        disable=args.quiet,
        bar_format="{desc}: {percentage:3.0f}%|{bar}| [{elapsed}<{remaining}]",
    ) as bar:

        def run(stem: str) -> None:
            claim_id = notebooks[stem]
            claim = claims.get(claim_id)
            command = [sys.executable, "-m", "matrix_sensing", "run", claim_id, "--scale"]
            command += [args.scale, "--out", str(out / stem), "--quiet"]
            if args.seeds is not None:
                command += ["--seeds", *args.seeds]
            if args.scheduler is not None:
                command += ["--scheduler", args.scheduler]
            clock = time.perf_counter()
            with lock:
                proc = running[stem] = subprocess.Popen(
                    command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
                )
            stdout, stderr = proc.communicate()
            wall = time.perf_counter() - clock
            with lock:
                del running[stem]
            if (
                proc.returncode in (EXIT_PASS, EXIT_FAIL)
                and (out / stem / "results.json").is_file()
            ):
                record = provenance.read_json(out / stem / "results.json")
                entries[stem] = summary.entry(stem, record, wall, "run")
                bar.write(f"{stem} ({summary.duration(wall)}):\n" + stdout.rstrip())
            elif proc.returncode == -signal.SIGINT or proc.returncode == 130:
                return
            else:
                message = (stderr.strip().splitlines() or ["no output"])[-1]
                shown = [c for c in claims.ids() if claims.get(c).notebook == claim.notebook]
                entries[stem] = summary.failed_entry(
                    stem, shown, wall, f"exit {proc.returncode}: {message}"
                )
                bar.write(f"{stem} ({summary.duration(wall)}): no verdict, {message}")

        pool = ThreadPoolExecutor(max_workers=workers)
        try:
            for future in [pool.submit(run, stem) for stem in todo]:
                future.result()
        except KeyboardInterrupt:
            signal.signal(signal.SIGINT, signal.SIG_IGN)
            with lock:
                for proc in running.values():  # those not in this terminal's process group
                    proc.send_signal(signal.SIGINT)
            pool.shutdown(wait=True, cancel_futures=True)
            raise Interrupted(
                f"{len(entries)} of {len(notebooks)} notebooks are finished in {out}; the same "
                "command resumes (notebooks it stopped in resume from their checkpoints)"
            ) from None
        pool.shutdown()
    ordered = [entries[stem] for stem in notebooks]
    seeds = [int(s) for s in args.seeds] if args.seeds is not None else None
    options = {"workers": workers, "scheduler": args.scheduler, "seeds": seeds}
    written = summary.write(out, ordered, scale=args.scale, options=options, started=started)
    data = provenance.read_json(written)
    print(summary.table(data))
    print(f"summary written to {written} and {out / 'summary.md'}", file=sys.stderr)
    passed = all(v["passed"] for e in ordered for v in e["verdicts"])
    return EXIT_PASS if passed and all(e["verdicts"] for e in ordered) else EXIT_FAIL
