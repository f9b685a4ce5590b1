"""The results of a run as the Performance page (book/performance.md) and the command line
show them: Markdown tables and matplotlib figures."""

from __future__ import annotations

import sys
from pathlib import Path

from ..provenance import read_json
from ._timers import series_bound_ms


def latest(folder) -> tuple[Path, dict] | None:
    """The newest benchmark results file (``<date>.json``) in ``folder`` and its content
    (checksum verified), or None. (The folder also holds the recorded runs of every claim,
    ``claims-<scale>-<date>.json``: :mod:`matrix_sensing.summary`.)"""
    files = sorted(Path(folder).glob("[0-9]*.json"))
    return (files[-1], read_json(files[-1])) if files else None


def markdown_table(rows: list[dict], ratios_only: bool = False) -> str:
    """The table of a run as Markdown: ms/iteration, ratios to the pass, the lower bound (with
    what sets it) and the package's ratio to it, speed-up over peers. Columns a file does not
    have (older runs: no ``recorded``, no bound's witness, no JAX) are left out or shown
    as "–"."""
    peer_names = ["separate", "plain", "einsum", "torch", "jax"]
    present = [p for p in peer_names if any(p in r["speedup"] for r in rows)]
    recorded = any("recorded" in r["ratio_to_pass"] for r in rows)
    to_bound = any("ratio_to_bound" in r for r in rows)
    head = ["workload", "A (MB)"]
    head += [] if ratios_only else ["pass (ms)", "package (ms/iter)"]
    head += ["package / pass"] + (["recorded / pass"] if recorded else [])
    head += ["kernel / pass", "read / pass", "lower bound / pass"]
    head += ["package / bound"] if to_bound else []
    head += [f"× over {p}" for p in present]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in rows:
        cells = [
            r["name"] + (f" (per run of {r['batch']})" if r["batch"] else ""),
            f"{r['a_bytes'] / 1e6:.1f}",
        ]
        if not ratios_only:
            cells += [f"{r['ms']['pass']:.3f}", f"{r['ms']['package']:.3f}"]
        columns = ["package", *(["recorded"] if recorded else []), "kernel", "read"]
        cells += [
            f"{r['ratio_to_pass'][c]:.2f}" if c in r["ratio_to_pass"] else "–" for c in columns
        ]  # older files have no read, no recorded
        cells += [_bound(r["bound"]) if "bound" in r else "–"]
        if to_bound:
            cells += [f"{r['ratio_to_bound']['package']:.2f}" if "ratio_to_bound" in r else "–"]
        cells += [f"{r['speedup'][p]:.1f}" if p in r["speedup"] else "–" for p in present]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _bound(bound: dict) -> str:
    """The lower bound's cell: the ratio, and what sets it (files with ``memory_witness``):
    the multiply-adds at the peak rate, or the fastest read of A ("read_12_segments" shows
    as "read, 12 segments")."""
    cell = f"{bound['ratio_bound']:.2f}"
    if "memory_witness" not in bound:
        return cell
    if bound["arithmetic_ms"] > bound["memory_ms"]:
        return cell + " (FMAs at peak)"
    witness = bound["memory_witness"]
    if witness.startswith("pass"):
        witness = "pass"
    elif witness.endswith("_segments"):
        witness = f"read, {witness.split('_')[1]} segments"
    elif witness == "read_jax":
        witness = "JAX's A @ x"
    return f"{cell} ({witness})"


def bound_cell(target: dict) -> str:
    """The lower-bound cell of a target's row (memory targets and older files have none)."""
    if "bound" not in target:
        return "–"
    return f"{target['bound']:.2f}" + ("" if target["reachable"] else " (out of reach)")


def readable_log_ticks(ax) -> None:
    """Plain-number ticks ("12", "14") on a log y axis; a panel spanning less than a decade
    gets evenly spaced ones (the log locator would leave it with one or two)."""
    from matplotlib.ticker import LogFormatter, MaxNLocator, NullLocator

    low, high = ax.get_ylim()
    if high < 10 * low:
        ticks = [t for t in MaxNLocator(5).tick_values(low, high) if low <= t <= high]
        ax.set_yticks(ticks, [f"{t:g}" for t in ticks])
        ax.yaxis.set_minor_locator(NullLocator())
    else:
        ax.yaxis.set_major_formatter(LogFormatter())
        ax.yaxis.set_minor_formatter(LogFormatter(labelOnlyBase=False))


def figures(data: dict) -> dict:
    """``name -> matplotlib Figure``: cost against m, n, k, B (dense) and against
    m·k·(n1 + n2) (factored operators), log scales."""
    import matplotlib

    matplotlib.use("Agg") if "matplotlib.pyplot" not in sys.modules else None
    import matplotlib.pyplot as plt
    from matplotlib.ticker import NullLocator

    labels = {"m": "measurements m", "n": "n1 = n2", "k": "width k", "B": "runs in the batch B"}
    # the float64 peak multiply-add rate measured by the same run (with the table)
    peak = next(
        (
            r["bound"]["gfma_per_s"]
            for r in data.get("table", [])
            if r["dtype"] == "float64" and "bound" in r
        ),
        None,
    )
    figs = {}
    fig, axes = plt.subplots(2, 2, figsize=(10, 7), layout="constrained")
    for ax, (axis, label) in zip(axes.flat, labels.items(), strict=True):
        points = data["scaling"][axis]
        x = [p["batch"] if axis == "B" else p["n1" if axis == "n" else axis] for p in points]
        ax.loglog(x, [p["ms"]["package"] for p in points], "o-", label="GD iteration (per run)")
        ax.loglog(x, [p["ms"]["pass"] for p in points], "s--", label="one pass A @ x")
        if all("read" in p["ms"] for p in points) and peak:  # older files have no read
            bound = [series_bound_ms(p, peak) for p in points]
            ax.loglog(x, bound, "^:", label="lower bound per run: max(read / B, FMAs at peak)")
        ax.set_xticks(x, [str(v) for v in x])
        ax.xaxis.set_minor_locator(NullLocator())
        readable_log_ticks(ax)
        ax.set_xlabel(label)
        ax.set_ylabel("ms")
    axes.flat[0].legend(fontsize=8)
    fig.suptitle("Dense operator, varied around n1 = n2 = 100, m = 4000, k = 10, B = 1")
    figs["cost_dense"] = fig
    fig, ax = plt.subplots(figsize=(5.5, 3.8), layout="constrained")
    for kind, marker in (("RankOneSensing", "o-"), ("EntrySampling", "s-")):
        rows = [p for p in data["factored"] if p["operator"] == kind]
        slopes = f"log-log slope {rows[0]['loglog_slope']:.2f}"
        if kind == "EntrySampling":
            slopes += f"; {rows[0]['loglog_slope_mk']:.2f} against m·k"
        ax.loglog(
            [p["work"] for p in rows], [p["ms"] for p in rows], marker, label=f"{kind} ({slopes})"
        )
    ax.set_xlabel("m · k · (n1 + n2)")
    ax.set_ylabel("ms per GD iteration")
    fig.legend(loc="outside lower center", fontsize=8)  # inside, it hid the rank-one line
    figs["cost_factored"] = fig
    return figs
