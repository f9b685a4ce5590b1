"""The summary of a run of every claim (``matrix-sensing run --all``), and what it costs.

A summary has one entry per claim notebook: its claims' verdicts (worst value over seeds,
threshold, margin), its seeds and its wall time; it is written as ``summary.json`` (with
provenance: date, commit, machine) and ``summary.md`` (the table) in the folder of the run.
The summaries recorded in ``benchmarks/results/claims-<scale>-<date>.json`` (copies of a
``summary.json``) are what ``matrix-sensing list`` and ``run`` quote as the cost of a claim
before it starts, and what the book's Performance page shows as its *Paper scale* table.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Mapping, Sequence
from pathlib import Path

from . import _validation as check
from . import provenance
from ._resources import measurements_folder
from .experiments.declaration import SCALES

#: ``kind`` of a summary's provenance block.
KIND = "claims-summary"
_RECORDED = re.compile(r"claims-(?P<scale>[a-z]+)-(?P<label>[0-9][-0-9a-z]*)\.json")


def entry(notebook: str, record: Mapping, wall_s: float, status: str) -> dict:
    """The summary's entry for one notebook: ``record`` is the ``results.json`` of its run
    (:mod:`matrix_sensing.cli`), ``wall_s`` its wall time in seconds, ``status`` ``"run"``
    (run now) or ``"done before"`` (a finished run found in the folder and kept)."""
    check.real("wall_s", wall_s, minimum=0.0)
    verdicts = list(record["verdicts"])
    return {
        "notebook": notebook,
        "claims": [v["id"] for v in verdicts],
        "seeds": len(verdicts[0]["seeds"]) if verdicts else 0,
        "wall_s": float(wall_s),
        "status": status,
        "verdicts": verdicts,
    }


def failed_entry(notebook: str, claims: Sequence[str], wall_s: float, error: str) -> dict:
    """The entry of a notebook that produced no verdict (an error, a diverged run)."""
    return {
        "notebook": notebook,
        "claims": list(claims),
        "seeds": 0,
        "wall_s": float(wall_s),
        "status": "error",
        "error": error,
        "verdicts": [],
    }


def write(folder, entries: Sequence[dict], *, scale: str, options: dict, started: str) -> Path:
    """Write ``summary.json`` and ``summary.md`` into ``folder``; returns the JSON file.
    ``options`` (workers, scheduler, seeds) are recorded as the run's parameters."""
    folder = Path(folder)
    verdict = {v["id"]: v["passed"] for e in entries for v in e["verdicts"]}
    meta = provenance.provenance(
        kind=KIND,
        name=scale,
        params={"scale": scale, **options},
        seeds=options.get("seeds") or [],
        started=started,
        finished=provenance.now(),
        verdict=verdict,
    )
    data = {"provenance": meta, "notebooks": list(entries)}
    provenance.write_bytes(folder / "summary.md", (table(data) + "\n").encode())
    return provenance.write_json(folder / "summary.json", data)


def rows(summary: Mapping) -> list[dict]:
    """One row per claim: ``claim``, ``verdict`` (``"PASS 5/5"``), ``worst`` (each
    threshold's worst value over seeds next to it), ``margin`` (the smallest factor by which
    a worst value clears its threshold; < 1 fails), ``wall_s`` of its notebook and
    ``notebook``; a notebook that produced no verdict gives one row per claim with its
    error."""
    found = []
    for e in summary["notebooks"]:
        if not e["verdicts"]:
            for claim in e["claims"]:
                found.append(
                    {
                        "claim": claim,
                        "verdict": "ERROR",
                        "worst": e.get("error", ""),
                        "margin": math.nan,
                        "wall_s": e["wall_s"],
                        "notebook": e["notebook"],
                    }
                )
            continue
        for v in e["verdicts"]:
            margins = [_number(c["margin"]) for c in v["checks"]]
            status = "PASS" if v["passed"] else "FAIL"
            found.append(
                {
                    "claim": v["id"],
                    "verdict": f"{status} {v['seeds_passed']}/{len(v['seeds'])}",
                    "worst": "; ".join(_describe(c) for c in v["checks"]),
                    "margin": min(margins) if margins else math.nan,
                    "wall_s": e["wall_s"],
                    "notebook": e["notebook"],
                }
            )
    return found


def total_wall_s(summary: Mapping) -> float:
    """The sum of the notebooks' wall times: the cost of the run done one notebook at a time."""
    return sum(e["wall_s"] for e in summary["notebooks"])


def wall_time(record: Mapping) -> float:
    """Seconds from the start to the end of what a results file (``summary.json``, a run's
    ``results.json``) records, to the second."""
    meta = record["provenance"]
    return _seconds_between(meta["started"], meta["finished"])


def table(summary: Mapping) -> str:
    """The summary as a Markdown table: claim, verdict, worst value, margin, wall time (that
    of the claim's notebook, shown on its first claim)."""
    meta = summary["provenance"]
    lines = [
        f"Claims at {meta['name']} scale, {meta['finished'][:10]}, "
        f"{meta['environment'].get('cpus')} CPUs ({meta['environment'].get('machine')}), "
        f"workers: {meta['params'].get('workers')}",
        "",
        "| claim | verdict | worst over seeds (threshold) | margin | notebook wall time |",
        "| --- | --- | --- | --- | --- |",
    ]
    shown = set()
    for row in rows(summary):
        wall = "" if row["notebook"] in shown else duration(row["wall_s"])
        shown.add(row["notebook"])
        margin = "–" if math.isnan(row["margin"]) else f"×{row['margin']:.3g}"
        lines.append(f"| {row['claim']} | {row['verdict']} | {row['worst']} | {margin} | {wall} |")
    lines += [
        "",
        f"Notebooks one after another: {duration(total_wall_s(summary))}; this run, start "
        f"to end: {duration(wall_time(summary))}.",
    ]
    return "\n".join(lines)


def duration(seconds: float) -> str:
    """``"4.4 s"``, ``"42 s"``, ``"3 min 05 s"``, ``"1 h 02 min"``."""
    seconds = check.real("seconds", seconds, minimum=0.0)
    if seconds < 9.95:
        return f"{seconds:.1f} s"
    seconds = round(seconds)
    if seconds < 60:
        return f"{seconds} s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes} min {seconds:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


def recorded(scale: str, folder=None, *, workers: int | None = 1) -> dict | None:
    """The newest recorded summary at ``scale`` (``claims-<scale>-<date>.json`` in
    ``benchmarks/results``, or ``folder``) of a run with ``workers`` notebooks side by side
    (None: any), read with its checksum verified; None if there is none. The default, one
    at a time, is the one whose wall times are a notebook's cost alone."""
    check.choice("scale", scale, SCALES)
    if workers is not None:
        check.integer("workers", workers, minimum=1)
    if folder is not None and (not isinstance(folder, str | os.PathLike) or not str(folder)):
        raise TypeError(f"folder must be a folder path, got {folder!r}")
    folder = Path(folder) if folder is not None else measurements_folder()
    if folder is None or not folder.is_dir():
        return None
    found = sorted(
        path
        for path in folder.iterdir()
        if (match := _RECORDED.fullmatch(path.name)) and match["scale"] == scale
    )
    for path in reversed(found):
        data = provenance.read_json(path)
        meta = data["provenance"]
        ran_with = meta.get("params", {}).get("workers")
        if meta.get("kind") == KIND and meta.get("name") == scale:
            if workers is None or ran_with == workers:
                return data
    return None


def comparison(one_at_a_time: Mapping, side_by_side: Mapping) -> str:
    """How much faster the run with several notebooks side by side went than the run of the
    same claims one at a time, and whether every measured value is the same in both."""
    first, second = wall_time(one_at_a_time), wall_time(side_by_side)
    workers = side_by_side["provenance"]["params"].get("workers")
    same = _measured(one_at_a_time) == _measured(side_by_side)
    return (
        f"One notebook at a time: {duration(first)}; with `--workers {workers}`: "
        f"{duration(second)}, {first / second:.2f}× faster. Every measured value (every claim, "
        f"quantity and seed) is {'the same' if same else 'NOT the same'} in both runs."
    )


def _measured(summary: Mapping) -> dict:
    return {
        v["id"]: (v["seeds"], v.get("measured"))
        for e in summary["notebooks"]
        for v in e["verdicts"]
    }


def cost_per_seed(summary: Mapping | None, notebook: str) -> float | None:
    """Seconds per seed of ``notebook`` (its stem, e.g. ``"m1_m2_small_vs_large_init"``) in
    ``summary``, or None if it is not there with a verdict."""
    if summary is None:
        return None
    for e in summary["notebooks"]:
        if e["notebook"] == notebook and e["seeds"]:
            return e["wall_s"] / e["seeds"]
    return None


def measured_on(summary: Mapping) -> str:
    """``"2026-12-06, 2 CPUs x86_64"``: when and where ``summary`` was measured."""
    meta = summary["provenance"]
    env = meta["environment"]
    return f"{meta['finished'][:10]}, {env.get('cpus')} CPUs {env.get('machine')}"


def _describe(check_: Mapping) -> str:
    worst = _number(check_["worst"])
    threshold = check_["threshold"]
    if check_["relation"] == "in":
        bound = f"in [{threshold[0]:.3g}, {threshold[1]:.3g}]"
    else:
        bound = f"{check_['relation']} {threshold:.3g}"
    return f"{check_['quantity']} = {worst:.3g} ({bound})"


def _number(value) -> float:
    return float(value)  # JSON holds a non-finite value as the string "nan" or "inf"


def _seconds_between(start: str, end: str) -> float:
    from datetime import datetime

    return (datetime.fromisoformat(end) - datetime.fromisoformat(start)).total_seconds()
