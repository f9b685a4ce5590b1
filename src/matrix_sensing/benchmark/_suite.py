"""The benchmark run: the table of workloads, the scaling series, the targets and the
results file's content."""

from __future__ import annotations

import contextlib
import os
import platform
import statistics
from dataclasses import asdict
from pathlib import Path

import numpy as np

from .. import _validation as check
from ..operators import EntrySampling, RankOneSensing
from ..provenance import now, provenance
from ..solvers import factorized_gd
from ._affinity import one_cpu
from ._memory import in_subprocess, memory
from ._peak import peak_timer
from ._peers import (
    RTOL,
    RTOL32,
    agreement,
    jax_backend_cpus,
    jax_module,
    package_gd,
    peers,
    torch_module,
)
from ._timers import (
    SEGMENTS,
    cpu_per_wall,
    gemm_timer,
    interleaved,
    jax_read_timer,
    lower_bound,
    pass_timer,
    per_iteration,
    read_in_segments,
    read_timer,
    sample_iters,
)
from ._workloads import SEED, SMOKE, TABLE, Workload, problem, truth

#: Targets of issue 5, as ratios to one pass over A: (workload, column, limit, what).
TARGETS = [
    ("ci", "package", 1.3, "fused GD iteration / pass, CI size"),
    ("large", "package", 1.2, "fused GD iteration / pass, large dense"),
    ("ci-batch8", "package", 0.35, "batched GD iteration per run / pass, B=8, CI size"),
    ("large-batch8", "package", 0.35, "batched GD iteration per run / pass, B=8, large"),
]
#: Targets beside them, as ratios of two columns of a row's ms: (workload, column, over,
#: limit, what). The package against the compiled JAX peer (only where JAX was measured), and
#: the package called as the notebooks call it (history every iteration) against the package.
RELATIVE_TARGETS = [
    ("ci", "package", "jax", 1.0, "package / JAX, CI size"),
    ("large", "package", "jax", 1.0, "package / JAX, large dense"),
    ("ci-batch8", "package", "jax", 1.0, "package / JAX per run, B=8, CI size"),
    ("large-batch8", "package", "jax", 1.0, "package / JAX per run, B=8, large"),
    ("ci", "recorded", "package", 1.3, "recorded (history every iteration) / package, CI size"),
]
#: Target of the peak memory during a solve, as a multiple of the size of A.
MEMORY_TARGET = 1.3


def measure(w: Workload, reps: int, iters: int, min_seconds: float = 0.0) -> dict:
    """ms/iteration (per run for a batch) of the pass, the reads of A, the package (also
    ``recorded``: with the history of every iteration, as the notebooks call it) and each
    peer; the lower bound, and each candidate's ratios to the pass and to the bound."""
    op, y, U0, V0, step = problem(w)
    candidates, op_run = peers(w, op, y, U0, V0, step)
    agree = agreement(candidates)
    iters = sample_iters(op.matrix, iters, w.runs, min_seconds)
    dtype = np.dtype(w.dtype)
    timers = {"pass": pass_timer(op.matrix, iters), "read": read_timer(op_run.matrix, iters)}
    for n in SEGMENTS:
        timers[f"read_{n}_segments"] = read_timer(op_run.matrix, iters, read_in_segments(n))
    jax_read = jax_read_timer(op_run.matrix, iters)
    if jax_read is not None:
        timers["read_jax"] = jax_read
    if dtype != np.float64:
        timers[f"pass_{w.dtype}"] = pass_timer(op_run.matrix, iters)
    U = (U0 if w.batch else U0[None]).astype(dtype)
    V = (V0 if w.batch else V0[None]).astype(dtype)
    y_run = y.astype(dtype)
    kernel_args = (U, V) if w.batch else (U[0], V[0])

    def kernel():
        for _ in range(iters):
            op_run.residual_and_gradients(*kernel_args, y_run)

    timers["kernel"] = per_iteration(kernel, iters * w.runs)
    timers["gemm"] = gemm_timer(dtype)
    timers["peak"] = peak_timer(dtype)
    for name, run in candidates.items():
        # The package evaluates the gradient iters + 1 times (the last for the final loss).
        evaluations = (iters + (name in ("package", "separate"))) * w.runs
        timers[name] = per_iteration(lambda run=run: run(iters), evaluations)
    X = truth(w)

    def recorded():
        factorized_gd(op_run, y_run, U0, V0, step, iters, truth=X, record_every=1, dtype=dtype)

    timers["recorded"] = per_iteration(recorded, (iters + 1) * w.runs)
    samples = interleaved(timers, reps)
    blas_fma_seconds = statistics.median(samples.pop("gemm"))
    fma_seconds = statistics.median(samples.pop("peak"))
    ms = {name: 1e3 * statistics.median(values) for name, values in samples.items()}
    bound = lower_bound(w, ms, fma_seconds, blas_fma_seconds)
    ratio_to_pass = {name: ms[name] / ms["pass"] for name in ms}
    return {
        **asdict(w),
        "min_ms": {name: 1e3 * min(values) for name, values in samples.items()},
        "a_bytes": int(op.matrix.nbytes),
        "iters": iters,
        "reps": reps,
        "ms": ms,
        "samples_ms": {name: [1e3 * v for v in values] for name, values in samples.items()},
        "ratio_to_pass": ratio_to_pass,
        "bound": bound,
        "ratio_to_bound": {name: r / bound["ratio_bound"] for name, r in ratio_to_pass.items()},
        "recorded_over_package": ms["recorded"] / ms["package"],
        "speedup": {name: ms[name] / ms["package"] for name in candidates if name != "package"},
        "cpu_per_wall": {name: cpu_per_wall(timer) for name, timer in timers.items()},
        "agreement": agree,
    }


def table(workloads, reps: int, iters: int, min_seconds: float, progress=print) -> list[dict]:
    """:func:`measure` of each workload, with one progress line per row."""
    rows = []
    for w in workloads:
        rows.append(measure(w, reps, iters, min_seconds))
        progress(format_row(rows[-1]))
    return rows


def format_row(row: dict) -> str:
    ratios = " ".join(f"{k}={v:.2f}" for k, v in row["ratio_to_pass"].items() if k != "pass")
    bound = row["bound"]
    limit = (
        "multiply-adds at peak"
        if bound["arithmetic_ms"] > bound["memory_ms"]
        else f"read by {bound['memory_witness']}"
    )
    line = (
        f"{row['name']:>14}: pass {row['ms']['pass']:.3f} ms; ratio to pass: {ratios}; "
        f"lower bound {bound['ratio_bound']:.2f} ({limit}); "
        f"package / bound {row['ratio_to_bound']['package']:.2f}; "
        f"recorded / package {row['recorded_over_package']:.2f}"
    )
    if "jax" in row["ms"]:
        line += f"; package / jax {row['ms']['package'] / row['ms']['jax']:.2f}"
        line += f" (jax CPU/wall {row['cpu_per_wall']['jax']:.2f})"
    return line


def dense_series(reps: int, iters: int, smoke: bool) -> dict[str, list[dict]]:
    """Cost of the package against m, n (n1 = n2), k and B around the large workload (around
    a tiny one with ``smoke``)."""
    n, m, k = (6, 40, 3) if smoke else (100, 4000, 10)
    scale = (0.25, 0.5, 1, 2) if smoke else (0.125, 0.25, 0.5, 1, 2)
    axes = {
        "m": [Workload(f"m={int(m * s)}", n, n, int(m * s), k) for s in scale],
        "n": [
            Workload(f"n={int(n * s)}", int(n * s), int(n * s), m, k)
            for s in (0.25, 0.5, 0.75, 1, 1.25)
        ],
        "k": [Workload(f"k={int(k * s) or 1}", n, n, m, int(k * s) or 1) for s in (*scale, 4)],
        "B": [Workload(f"B={b}", n, n, m, k, batch=b) for b in (1, 2, 4, 8, 16)],
    }
    iters = max(2, iters // 4)  # 20 sizes: a shorter sample each (still >= 5 repetitions)
    out = {}
    for axis, points in axes.items():
        out[axis] = []
        for w in points:
            op, y, U0, V0, _ = problem(w)
            timers = {"pass": pass_timer(op.matrix, iters), "read": read_timer(op.matrix, iters)}
            for n in SEGMENTS:
                timers[f"read_{n}_segments"] = read_timer(op.matrix, iters, read_in_segments(n))
            timers["package"] = per_iteration(
                lambda op=op, y=y, U0=U0, V0=V0: package_gd(op, y, U0, V0, 0.2, iters),
                (iters + 1) * w.runs,
            )
            samples = interleaved(timers, reps)
            ms = {name: 1e3 * statistics.median(v) for name, v in samples.items()}
            out[axis].append(
                {
                    **asdict(w),
                    "a_bytes": int(op.matrix.nbytes),
                    "ms": ms,
                    "ratio_to_pass": ms["package"] / ms["pass"],
                }
            )
    return out


def factored_series(reps: int, iters: int, smoke: bool) -> list[dict]:
    """Time per iteration of the factored operators against m·k·(n1 + n2)."""
    k, ns = (3, (10, 20)) if smoke else (10, (250, 500, 1000))
    points = [("RankOneSensing", n, 10 * n) for n in ns]
    points += [("EntrySampling", n, min(40 * n, n * n // 4)) for n in (*ns, 2 * ns[-1], 4 * ns[-1])]
    out = []
    for kind, n, m in points:
        if kind == "RankOneSensing":
            op = RankOneSensing(m, (n, n), seed=SEED)
        else:
            op = EntrySampling((n, n), m, seed=SEED)
        rng = np.random.default_rng(SEED + 1)
        L, R = rng.standard_normal((n, 2)) / np.sqrt(n), rng.standard_normal((n, 2)) / np.sqrt(n)
        y = op.measure(L, R)
        U0, V0 = 1e-3 * rng.standard_normal((n, k)), 1e-3 * rng.standard_normal((n, k))
        samples = interleaved(
            {
                "package": per_iteration(
                    lambda op=op, y=y, U0=U0, V0=V0: factorized_gd(
                        op, y, U0, V0, 0.2, iters, record_every=iters
                    ),
                    iters + 1,
                )
            },
            reps,
        )
        out.append(
            {
                "operator": kind,
                "n1": n,
                "n2": n,
                "m": m,
                "k": k,
                "work": m * k * 2 * n,
                "op_bytes": int(op.nbytes),
                "ms": 1e3 * statistics.median(samples["package"]),
            }
        )
    for kind in ("RankOneSensing", "EntrySampling"):
        rows = [p for p in out if p["operator"] == kind]
        log_ms = np.log([p["ms"] for p in rows])
        slope = np.polyfit(np.log([p["work"] for p in rows]), log_ms, 1)[0]
        # Entry sampling costs O(m k) (gathers, then sparse products): its slope against m k.
        slope_mk = np.polyfit(np.log([p["m"] * p["k"] for p in rows]), log_ms, 1)[0]
        for p in rows:
            p["loglog_slope"], p["loglog_slope_mk"] = float(slope), float(slope_mk)
    return out


def machine() -> dict:
    """The CPU, cores, the CPUs this process may use (``affinity``), load, BLAS configuration
    and versions (torch and jax: None when absent), as the results file records them."""
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in _read("/proc/cpuinfo").splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    blas = {}
    with contextlib.suppress(Exception):
        config = np.show_config(mode="dicts")
        blas = config["Build Dependencies"]["blas"]
    torch = torch_module()
    jax = jax_module()
    affinity = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "affinity": affinity,
        "load_average": list(os.getloadavg()),
        "OPENBLAS_NUM_THREADS": os.environ.get("OPENBLAS_NUM_THREADS"),
        "numpy_blas": blas,
        "torch": None if torch is None else torch.__version__,
        "torch_threads": None if torch is None else torch.get_num_threads(),
        "jax": None if jax is None else jax.__version__,
        "jax_backend_cpus": jax_backend_cpus(),
        "python": platform.python_version(),
        "numpy": np.__version__,
    }


def _read(path: str) -> str:
    try:
        return Path(path).read_text()
    except OSError:
        return ""


def targets(rows: list[dict], mem: list[dict]) -> list[dict]:
    """Each target of :data:`TARGETS`, :data:`RELATIVE_TARGETS` and :data:`MEMORY_TARGET` met
    by the table ``rows`` and the memory rows ``mem``: the value, the limit and, for speed
    against the pass, the machine's lower bound."""
    by_name = {row["name"]: row for row in rows}
    out = []
    for name, column, limit, what in TARGETS:
        if name in by_name:
            value = by_name[name]["ratio_to_pass"][column]
            bound = by_name[name]["bound"]["ratio_bound"]
            out.append(
                {
                    "target": what,
                    "value": value,
                    "limit": limit,
                    "met": value <= limit,
                    "bound": bound,
                    "reachable": bound <= limit,
                }
            )
    for name, column, over, limit, what in RELATIVE_TARGETS:
        ms = by_name[name]["ms"] if name in by_name else {}
        if column in ms and over in ms:  # JAX: only where it was measured
            value = ms[column] / ms[over]
            out.append({"target": what, "value": value, "limit": limit, "met": value <= limit})
    for row in mem:
        if row["workload"]["dtype"] != "float64" and not row["astype"]:
            continue  # documented: a float32 solve on a float64 operator keeps a float32 copy
        value = max(row["peak_over_a_traced"], row["peak_over_a_rss"])
        w = row["workload"]
        what = f"peak memory / A, {w['name']}" + (" (astype)" if row["astype"] else "")
        out.append(
            {"target": what, "value": value, "limit": MEMORY_TARGET, "met": value <= MEMORY_TARGET}
        )
    return out


def other_threads_env() -> dict:
    """The environment of the comparison run: OPENBLAS_NUM_THREADS=1 if unset here, else
    unset (OpenBLAS then uses one thread per core)."""
    env = dict(os.environ)
    if env.pop("OPENBLAS_NUM_THREADS", None) is None:
        env["OPENBLAS_NUM_THREADS"] = "1"
    return env


def run(
    *,
    quick: bool = False,
    smoke: bool = False,
    reps: int = 5,
    iters: int | None = None,
    min_seconds: float | None = None,
    table_only: bool = False,
    compare_threads: bool | None = None,
    progress=None,
) -> dict:
    """Run the benchmark and return its results (the content of ``results/<date>.json``).

    The full run times :data:`TABLE`, then the peak memory, the scaling series and the
    factored operators; ``quick`` times the CI workload alone and as a batch of 8 (a few
    seconds), ``smoke`` the tiny workloads of :data:`SMOKE` (for the tests), ``table_only``
    only the table. Each number is the median of ``reps`` repetitions, each of at least
    ``iters`` iterations (default 5 with ``quick``/``smoke``, else 20) and at least
    ``min_seconds`` long (default 0.02 with ``quick``, 0 with ``smoke``, else 0.1).
    ``compare_threads`` (default: on for a full run) also times the table in a subprocess
    under the other ``OPENBLAS_NUM_THREADS`` setting (:func:`other_threads_env`).
    ``progress(line)`` gets one line per workload and target (default: nothing).

    With ``OPENBLAS_NUM_THREADS=1`` (one thread each), the table runs with the whole process
    on one CPU (:func:`~matrix_sensing.benchmark.one_cpu`; recorded as ``table_cpu``), so that
    JAX, when it is first used there, gets one core too; the affinity is restored after it.
    """
    small = quick or smoke
    reps = check.integer("reps", reps, minimum=1)
    iters = check.integer("iters", (5 if small else 20) if iters is None else iters, minimum=1)
    if min_seconds is None:
        min_seconds = 0.0 if smoke else 0.02 if quick else 0.1
    min_seconds = check.real("min_seconds", min_seconds, minimum=0.0)
    if compare_threads is None:
        compare_threads = not (small or table_only)
    progress = progress or (lambda *_: None)
    started = now()
    load_before = list(os.getloadavg())
    workloads = SMOKE if smoke else TABLE[:1] + TABLE[2:3] if quick else TABLE
    with one_cpu(os.environ.get("OPENBLAS_NUM_THREADS") == "1") as cpu:
        rows = table(workloads, reps, iters, min_seconds, progress)
    data = {
        "machine": {**machine(), "table_cpu": cpu, "load_average_before": load_before},
        "table": rows,
    }
    data["targets"] = targets(rows, [])
    if not (table_only or quick):
        data["memory"] = memory(smoke, iters)
        data["targets"] = targets(rows, data["memory"])
        data["scaling"] = dense_series(reps, iters, smoke)
        data["factored"] = factored_series(reps, iters, smoke)
    for t in data["targets"]:
        bound = (
            ""
            if "bound" not in t
            else f"; machine's lower bound {t['bound']:.2f}"
            + ("" if t["reachable"] else ", so the limit is out of reach here")
        )
        progress(
            f"{'met' if t['met'] else 'NOT met'}: {t['target']}: "
            f"{t['value']:.2f} (limit {t['limit']}{bound})"
        )
    if compare_threads:
        other = in_subprocess(
            run,
            env=other_threads_env(),
            quick=quick,
            smoke=smoke,
            reps=reps,
            iters=iters,
            min_seconds=min_seconds,
            table_only=True,
        )
        data["other_threads"] = {"machine": other["machine"], "table": other["table"]}
    data["machine"]["load_average_after"] = list(os.getloadavg())
    params = {
        "reps": reps,
        "iters": iters,
        "min_seconds": min_seconds,
        "quick": quick,
        "smoke": smoke,
        "rtol": RTOL,
        "rtol_float32": RTOL32,
    }
    data["provenance"] = provenance(
        kind="benchmark",
        name="solver-performance",
        params=params,
        seeds=[SEED],
        started=started,
        finished=now(),
    )
    return data
