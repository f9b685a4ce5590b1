"""Peak memory of a solve, measured in a fresh process per workload."""

from __future__ import annotations

import json
import subprocess
import sys
import tracemalloc
from dataclasses import asdict
from pathlib import Path

from ..operators import GaussianSensing
from ._peers import package_gd
from ._workloads import LARGE, SEED, SMOKE, TABLE, Workload, problem

# A child process runs one function of the benchmark and prints its result as JSON.
_CHILD = """\
import importlib, json, sys
function = getattr(importlib.import_module(sys.argv[1]), sys.argv[2])
payload = json.loads(sys.argv[3])
print(json.dumps(function(*payload["args"], **payload["kwargs"])))
"""


def in_subprocess(function, *args, env: dict | None = None, **kwargs):
    """``function(*args, **kwargs)`` (a module-level function of the package, arguments and
    result JSON) in a fresh Python process with environment ``env`` (default: this one's)."""
    payload = json.dumps({"args": args, "kwargs": kwargs})
    argv = [sys.executable, "-c", _CHILD, function.__module__, function.__name__, payload]
    done = subprocess.run(argv, check=True, capture_output=True, text=True, env=env)
    return json.loads(done.stdout)


def _status_kib(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise KeyError(field)


def memory_child(spec: dict) -> dict:
    """In a fresh process: build the operator, then run the solver and measure (1) the peak
    of numpy allocations during the run (tracemalloc: numpy reports every array buffer to
    it) and (2) the rise of the peak resident set over the RSS before the run (Linux: the
    peak is reset through /proc/self/clear_refs, so it measures the run alone). Before
    that, a tiny solve of the same kind loads the compiled kernel (numba and its cached
    machine code: a fixed cost per process, whatever the size of A, reported apart as
    ``runtime_bytes``)."""
    w = Workload(**spec["workload"])
    rss_start = _status_kib("VmRSS")
    tiny = Workload("warm-up", 3, 2, 8, 1, batch=w.batch, dtype=w.dtype)
    package_gd(*problem(tiny), 2, dtype=w.dtype)
    runtime_bytes = 1024 * (_status_kib("VmRSS") - rss_start)
    op = GaussianSensing(w.m, (w.n1, w.n2), seed=SEED)
    if spec.get("astype"):
        op = op.astype(w.dtype)
    op, y, U0, V0, step = problem(w, op=op)
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")  # reset VmHWM to the current RSS
    rss_before = _status_kib("VmRSS")
    tracemalloc.start()
    package_gd(op, y, U0, V0, step, spec["iters"], dtype=w.dtype)
    _, traced_peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    rss_rise = 1024 * (_status_kib("VmHWM") - rss_before)
    a = op.matrix.nbytes
    return {
        "workload": asdict(w),
        "astype": bool(spec.get("astype")),
        "a_bytes": int(a),
        "traced_peak_bytes": int(traced_peak),
        "rss_rise_bytes": int(rss_rise),
        "runtime_bytes": int(runtime_bytes),
        "peak_over_a_traced": (a + traced_peak) / a,
        "peak_over_a_rss": (a + rss_rise) / a,
    }


def memory(smoke: bool, iters: int) -> list[dict]:
    """:func:`memory_child` of the large single run, the large batch and the float32 solve
    (on a float32 operator, ``astype``, and on the float64 one), each in a fresh process;
    with ``smoke``, of the tiny single run and batch."""
    specs = [
        {"workload": asdict(LARGE)},
        {"workload": asdict(TABLE[3])},
        {"workload": asdict(TABLE[4]), "astype": True},
        {"workload": asdict(TABLE[4])},
    ]
    if smoke:
        specs = [{"workload": asdict(w)} for w in SMOKE[:2]]
    out = []
    for spec in specs:
        spec["iters"] = iters
        out.append(in_subprocess(memory_child, spec))
    return out
