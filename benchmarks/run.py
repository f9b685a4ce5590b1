"""Benchmark the factorized gradient-descent solver against the physical limit and its peers.

    .venv/bin/python benchmarks/run.py            # full run (a few minutes), writes results/
    .venv/bin/python benchmarks/run.py --quick    # CI size only, a few seconds, nothing written

The physical limit of one iteration on a dense (m, n1*n2) operator is one streaming pass over
its array: every workload is timed side by side with ``A @ x`` on the same array, in the same
process, and reported as ms/iteration and as a ratio to that pass (the unit of the issue's
targets), next to a compiled read of every entry (numpy's ``A @ x`` does not reach the
memory's speed on this machine; the lower bound uses the faster of the two). Peers (the
plain numpy loop, an einsum over the (m, n1, n2) tensor, PyTorch autograd on CPU when
importable) run on the same data and are checked to give the same iterates before they are
timed. Timings are interleaved (one repetition of every candidate, then the next) so that a
change of machine load hits all candidates alike; each number is the median of the
repetitions.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import statistics
import subprocess
import sys
import time
import tracemalloc
import warnings
from dataclasses import asdict, dataclass, fields
from pathlib import Path

import numpy as np
from numba import njit

from matrix_sensing import GaussianSensing, factorized_gd
from matrix_sensing.operators import EntrySampling, RankOneSensing
from matrix_sensing.provenance import now, provenance, read_json, write_json

RESULTS = Path(__file__).resolve().parent / "results"
SEED = 0
#: Relative agreement required between the package's iterates and each peer's (float64).
RTOL = 1e-10
#: The same for float32 peers (their rounding differs in the order of the sums).
RTOL32 = 1e-4
#: Targets of issue 5, as ratios to one pass over A (``kind``: what the ratio measures).
TARGETS = [
    ("ci", "package", 1.3, "fused GD iteration / pass, CI size"),
    ("large", "package", 1.2, "fused GD iteration / pass, large dense"),
    ("ci-batch8", "package", 0.35, "batched GD iteration per run / pass, B=8, CI size"),
    ("large-batch8", "package", 0.35, "batched GD iteration per run / pass, B=8, large"),
]
MEMORY_TARGET = 1.3


@dataclass(frozen=True)
class Workload:
    """A dense problem: ``batch`` = 0 for a single run, else B stacked runs."""

    name: str
    n1: int
    n2: int
    m: int
    k: int
    batch: int = 0
    dtype: str = "float64"

    @property
    def runs(self) -> int:
        return max(1, self.batch)


CI = Workload("ci", 40, 30, 560, 40)
LARGE = Workload("large", 100, 100, 4000, 10)
TABLE = [
    CI,
    LARGE,
    Workload("ci-batch8", 40, 30, 560, 40, batch=8),
    Workload("large-batch8", 100, 100, 4000, 10, batch=8),
    Workload("large-float32", 100, 100, 4000, 10, dtype="float32"),
]
SMOKE = [
    Workload("tiny", 6, 5, 40, 3),
    Workload("tiny-batch3", 6, 5, 40, 3, batch=3),
    Workload("tiny-float32", 6, 5, 40, 3, dtype="float32"),
]


# --- problems and peers ----------------------------------------------------------------------


def problem(w: Workload, op=None):
    """Operator, measurements, initial factors and step of a workload (rank-2 truth of unit
    spectral scale, α = 1e-3, μ = 0.2): deterministic in :data:`SEED`."""
    op = op if op is not None else GaussianSensing(w.m, (w.n1, w.n2), seed=SEED)
    rng = np.random.default_rng(SEED + 1)
    L = rng.standard_normal((w.n1, 2)) / np.sqrt(w.n1)
    R = rng.standard_normal((w.n2, 2)) / np.sqrt(w.n2)
    y = op.matrix @ (L @ R.T).reshape(-1)
    U0 = 1e-3 * rng.standard_normal((w.runs, w.n1, w.k))
    V0 = 1e-3 * rng.standard_normal((w.runs, w.n2, w.k))
    if not w.batch:
        U0, V0 = U0[0], V0[0]
    return op, y, U0, V0, 0.2


def package_gd(op, y, U0, V0, step, iters, dtype="float64"):
    """The package's solver; returns the last iterates as stacks (B, n, k)."""
    out = factorized_gd(op, y, U0, V0, step, iters, record_every=max(1, iters), dtype=dtype)
    out = out if isinstance(out, list) else [out]
    return np.stack([r.U for r in out]), np.stack([r.V for r in out])


def plain_gd(A, y, U, V, step, iters):
    """The natural numpy loop: forward ``A @ vec(U V^T)``, then adjoint ``A.T @ r``."""
    n1, n2 = U.shape[0], V.shape[0]
    for _ in range(iters):
        r = A @ (U @ V.T).reshape(-1) - y
        E = (A.T @ r).reshape(n1, n2)
        U, V = U - step * (E @ V), V - step * (E.T @ U)
    return U, V


def einsum_gd(A3, y, U, V, step, iters):
    """The style of public numpy code for this problem: einsum over the (m, n1, n2) tensor."""
    for _ in range(iters):
        r = np.einsum("mij,ij->m", A3, U @ V.T) - y
        E = np.einsum("m,mij->ij", r, A3)
        U, V = U - step * (E @ V), V - step * (E.T @ U)
    return U, V


def torch_module():
    """``torch`` when importable (the optional CPU peer), else None. With
    OPENBLAS_NUM_THREADS set, torch gets as many threads as numpy's BLAS."""
    try:
        import torch
    except ImportError:
        return None
    threads = os.environ.get("OPENBLAS_NUM_THREADS")
    if threads and threads.isdigit() and torch.get_num_threads() != int(threads):
        torch.set_num_threads(int(threads))
    return torch


def torch_gd(A, y, U, V, step, iters):
    """PyTorch autograd on CPU: the loss ``0.5 ||A vec(U V^T) - y||^2`` differentiated."""
    torch = torch_module()
    with warnings.catch_warnings():  # A is read-only; torch warns though it never writes it
        warnings.simplefilter("ignore", UserWarning)
        At, yt = torch.from_numpy(A), torch.from_numpy(np.asarray(y, dtype=A.dtype))
    U, V = torch.tensor(U, requires_grad=True), torch.tensor(V, requires_grad=True)
    for _ in range(iters):
        r = At @ (U @ V.T).reshape(-1) - yt
        grad_U, grad_V = torch.autograd.grad(0.5 * (r @ r), (U, V))
        with torch.no_grad():
            U, V = U - step * grad_U, V - step * grad_V
        U.requires_grad_(), V.requires_grad_()
    return U.detach().numpy(), V.detach().numpy()


def peers(w: Workload, op, y, U0, V0, step):
    """``name -> (iters -> (U, V) stacks)`` for the package and each peer on this workload.
    For a batch the peers make the B runs one after the other."""
    A = op.matrix
    dtype = np.dtype(w.dtype)
    if dtype != A.dtype:
        op = op.astype(dtype)
        A = op.matrix
    y_run = y.astype(dtype)
    U0s, V0s = (U0, V0) if w.batch else (U0[None], V0[None])
    U0s, V0s = U0s.astype(dtype), V0s.astype(dtype)

    def each(fn, data):
        def go(iters):
            out = [
                fn(data, y_run, U, V, dtype.type(step), iters)
                for U, V in zip(U0s, V0s, strict=True)
            ]
            return np.stack([u for u, _ in out]), np.stack([v for _, v in out])

        return go

    out = {"package": lambda iters: package_gd(op, y_run, U0, V0, step, iters, dtype=dtype)}
    if w.batch:

        def separate(iters):
            runs = [
                package_gd(op, y_run, U, V, step, iters, dtype=dtype)
                for U, V in zip(U0s, V0s, strict=True)
            ]
            return np.concatenate([u for u, _ in runs]), np.concatenate([v for _, v in runs])

        out["separate"] = separate
    out["plain"] = each(plain_gd, A)
    if not w.batch and dtype == np.float64:
        out["einsum"] = each(einsum_gd, A.reshape(w.m, w.n1, w.n2))
        if torch_module() is not None:
            out["torch"] = each(torch_gd, A)
    return out, op


def agreement(candidates, iters: int = 3) -> dict[str, float]:
    """Max relative deviation of each peer's iterates from the package's after ``iters``
    steps (relative to the largest entry); raises if one exceeds the tolerance."""
    U, V = candidates["package"](iters)
    tol = RTOL if U.dtype == np.float64 else RTOL32
    scale = max(np.abs(U).max(), np.abs(V).max())
    out = {}
    for name, run in candidates.items():
        if name == "package":
            continue
        Up, Vp = run(iters)
        out[name] = float(max(np.abs(Up - U).max(), np.abs(Vp - V).max()) / scale)
        if not out[name] <= tol:
            raise AssertionError(f"{name} iterates differ from the package's: {out[name]:.2e}")
    return out


# --- timing ----------------------------------------------------------------------------------


def interleaved(timers: dict, reps: int) -> dict[str, list[float]]:
    """Run every timer once per repetition, round robin; each returns seconds/iteration."""
    for timer in timers.values():  # warm-up: caches, BLAS buffers, torch's first call
        timer()
    samples = {name: [] for name in timers}
    for _ in range(reps):
        for name, timer in timers.items():
            samples[name].append(timer())
    return samples


def per_iteration(fn, evaluations: int):
    def timer():
        start = time.perf_counter()
        fn()
        return (time.perf_counter() - start) / evaluations

    return timer


def pass_timer(A, iters: int):
    """One pass ``A @ x`` over the array (numpy's BLAS): the unit of every ratio."""
    x = np.random.default_rng(SEED).standard_normal(A.shape[1]).astype(A.dtype)

    def passes():
        for _ in range(iters):
            A @ x

    return per_iteration(passes, iters)


@njit(fastmath=True, nogil=True, boundscheck=False)
def read_every_entry(A):  # pragma: no cover - compiled
    """The sum of all entries of the C-contiguous ``A``: the least work that reads every
    entry once, vectorized at the machine's full width (``fastmath`` reassociates the sum)."""
    flat = A.reshape(-1)
    total = A.dtype.type(0)
    for c in range(flat.shape[0]):
        total += flat[c]
    return total


def read_timer(A, iters: int):
    """One compiled read of every entry of ``A``: the memory limit of an iteration. numpy's
    ``A @ x`` is slower here (its OpenBLAS runs AVX2 kernels on this AVX-512 machine; the
    read took 0.64-0.78 of its time at the large size on 2026-12-02), so it is not the
    limit it looks like."""
    read_every_entry(A)  # compile outside the timing (not cached: this module has several names)

    def reads():
        for _ in range(iters):
            read_every_entry(A)

    return per_iteration(reads, iters)


#: Size of the square matrix product that measures the machine's arithmetic rate.
GEMM_N = 512


def gemm_timer(dtype):
    """Seconds per fused multiply-add of a square matrix product: BLAS's best rate, which
    is not the machine's (the OpenBLAS of numpy's wheel runs AVX2 kernels on this AVX-512
    machine), so it is reported beside :func:`peak_timer`, not used for the bound."""
    rng = np.random.default_rng(SEED)
    P, Q = (rng.standard_normal((GEMM_N, GEMM_N)).astype(dtype) for _ in range(2))
    return per_iteration(lambda: P @ Q, GEMM_N**3)


#: Independent chains of vector multiply-adds in :func:`peak_timer`: enough to cover the
#: latency of the FMA units (4 cycles x 2 units), few enough to stay in 16 registers.
PEAK_CHAINS = 12
PEAK_ITERS = 2_000_000


def peak_timer(dtype):
    """Seconds per fused multiply-add at the machine's peak: a loop of independent
    ``llvm.fma`` chains on the widest vectors the CPU has (AVX-512: 8 doubles), compiled
    for this CPU by llvmlite (numba's back end). The arithmetic limit, as one pass over A
    is the memory limit."""
    import ctypes

    import llvmlite.binding as llvm

    llvm.initialize_native_target()
    llvm.initialize_native_asmprinter()
    features = llvm.get_host_cpu_features()
    doubles = 8 if features.get("avx512f") else 4 if features.get("avx") else 2
    ty, suffix, lanes, ctype = (
        ("double", "f64", doubles, ctypes.c_double)
        if np.dtype(dtype) == np.float64
        else ("float", "f32", 2 * doubles, ctypes.c_float)
    )
    vec = f"<{lanes} x {ty}>"
    fma = f"@llvm.fma.v{lanes}{suffix}"

    def splat(value: str) -> str:
        return "<" + ", ".join([f"{ty} {value}"] * lanes) + ">"

    chains = range(PEAK_CHAINS)
    lines = [
        f"declare {vec} {fma}({vec}, {vec}, {vec})",
        f"define {ty} @peak(i64 %n) {{",
        "entry:",
        "  br label %loop",
        "loop:",
        "  %i = phi i64 [0, %entry], [%i1, %loop]",
    ]
    lines += [f"  %a{c} = phi {vec} [{splat(f'{c}.0')}, %entry], [%b{c}, %loop]" for c in chains]
    # a <- a * (1 - 2^-24) + 2^-30 stays bounded: no overflow, no denormals
    lines += [
        f"  %b{c} = call {vec} {fma}({vec} %a{c}, {vec} {splat('0x3FEFFFFFE0000000')},"
        f" {vec} {splat('0x3E10000000000000')})"
        for c in chains
    ]
    lines += [
        "  %i1 = add i64 %i, 1",
        "  %more = icmp ult i64 %i1, %n",
        "  br i1 %more, label %loop, label %exit",
        "exit:",
    ]
    # every chain feeds the result, or LLVM would delete it
    lines += [f"  %s{c} = fadd {vec} %{'b' if c == 1 else 's'}{c - 1}, %b{c}" for c in chains if c]
    lines += [f"  %e = extractelement {vec} %s{PEAK_CHAINS - 1}, i32 0", f"  ret {ty} %e", "}"]
    module = llvm.parse_assembly("\n".join(lines))
    module.verify()
    machine = llvm.Target.from_default_triple().create_target_machine(
        cpu=llvm.get_host_cpu_name(), features=features.flatten(), opt=2
    )
    engine = llvm.create_mcjit_compiler(module, machine)
    engine.finalize_object()
    peak = ctypes.CFUNCTYPE(ctype, ctypes.c_int64)(engine.get_function_address("peak"))
    timer = per_iteration(lambda: peak(PEAK_ITERS), PEAK_ITERS * PEAK_CHAINS * lanes)
    timer.engine = engine  # the compiled code lives as long as the timer
    return timer


def fmas_per_run(w: Workload) -> int:
    """Multiply-adds of one GD iteration of one run: ``vec(U V^T)``, ``A x``, ``A^T r``,
    ``G V`` and ``G^T U``."""
    n = w.n1 * w.n2
    return 2 * w.m * n + 3 * w.k * n


def lower_bound(w: Workload, ms: dict, fma_seconds: float, blas_fma_seconds: float) -> dict:
    """What no implementation can beat on this machine with one thread, per run and
    iteration: reading A once (shared by the B runs of a batch; the faster of numpy's pass
    and the compiled read ``ms["read"]`` of the array the run uses) and doing the run's
    multiply-adds at the machine's peak rate, whichever takes longer; as a ratio to the
    float64 pass."""
    pass_ms = ms.get(f"pass_{w.dtype}", ms["pass"])
    memory_ms, arithmetic_ms = memory_and_arithmetic_ms(
        w, min(pass_ms, ms.get("read", pass_ms)), fma_seconds
    )
    return {
        "fmas_per_run": fmas_per_run(w),
        "gfma_per_s": 1e-9 / fma_seconds,
        "blas_gfma_per_s": 1e-9 / blas_fma_seconds,
        "memory_ms": memory_ms,
        "arithmetic_ms": arithmetic_ms,
        "ratio_bound": max(memory_ms, arithmetic_ms) / ms["pass"],
    }


def memory_and_arithmetic_ms(w: Workload, read_ms: float, fma_seconds: float):
    """The two limits of one run's iteration, in ms: a read of A taking ``read_ms`` shared by
    the ``w.runs`` runs, and the run's multiply-adds at ``fma_seconds`` each."""
    return read_ms / w.runs, 1e3 * fmas_per_run(w) * fma_seconds


def sample_iters(A, iters: int, runs: int, min_seconds: float) -> int:
    """At least ``iters``, and enough iterations that one timed sample of the package lasts
    about ``min_seconds`` (a sample of a few microseconds would measure the scheduler)."""
    x = np.ones(A.shape[1], dtype=A.dtype)
    start = time.perf_counter()
    for _ in range(10):
        A @ x
    pass_seconds = (time.perf_counter() - start) / 10
    return max(iters, int(min_seconds / (2 * pass_seconds * runs)))


def measure(w: Workload, reps: int, iters: int, min_seconds: float = 0.0) -> dict:
    """ms/iteration (per run for a batch) of the pass, the package and each peer."""
    op, y, U0, V0, step = problem(w)
    candidates, op_run = peers(w, op, y, U0, V0, step)
    agree = agreement(candidates)
    iters = sample_iters(op.matrix, iters, w.runs, min_seconds)
    dtype = np.dtype(w.dtype)
    timers = {"pass": pass_timer(op.matrix, iters), "read": read_timer(op_run.matrix, iters)}
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
    samples = interleaved(timers, reps)
    blas_fma_seconds = statistics.median(samples.pop("gemm"))
    fma_seconds = statistics.median(samples.pop("peak"))
    ms = {name: 1e3 * statistics.median(values) for name, values in samples.items()}
    return {
        **asdict(w),
        "min_ms": {name: 1e3 * min(values) for name, values in samples.items()},
        "a_bytes": int(op.matrix.nbytes),
        "iters": iters,
        "reps": reps,
        "ms": ms,
        "samples_ms": {name: [1e3 * v for v in values] for name, values in samples.items()},
        "ratio_to_pass": {name: ms[name] / ms["pass"] for name in ms},
        "bound": lower_bound(w, ms, fma_seconds, blas_fma_seconds),
        "speedup": {name: ms[name] / ms["package"] for name in candidates if name != "package"},
        "agreement": agree,
    }


def table(workloads, reps: int, iters: int, min_seconds: float, progress=print) -> list[dict]:
    rows = []
    for w in workloads:
        rows.append(measure(w, reps, iters, min_seconds))
        progress(format_row(rows[-1]))
    return rows


def format_row(row: dict) -> str:
    ratios = " ".join(f"{k}={v:.2f}" for k, v in row["ratio_to_pass"].items() if k != "pass")
    return (
        f"{row['name']:>14}: pass {row['ms']['pass']:.3f} ms; ratio to pass: {ratios}; "
        f"lower bound {row['bound']['ratio_bound']:.2f}"
    )


# --- scaling ---------------------------------------------------------------------------------


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
            samples = interleaved(
                {
                    "pass": pass_timer(op.matrix, iters),
                    "read": read_timer(op.matrix, iters),
                    "package": per_iteration(
                        lambda op=op, y=y, U0=U0, V0=V0: package_gd(op, y, U0, V0, 0.2, iters),
                        (iters + 1) * w.runs,
                    ),
                },
                reps,
            )
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


# --- memory ----------------------------------------------------------------------------------


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
        text = subprocess.run(
            [sys.executable, __file__, "--memory-child", json.dumps(spec)],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
        out.append(json.loads(text))
    return out


# --- machine, targets, output ----------------------------------------------------------------


def machine() -> dict:
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
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "load_average": list(os.getloadavg()),
        "OPENBLAS_NUM_THREADS": os.environ.get("OPENBLAS_NUM_THREADS"),
        "numpy_blas": blas,
        "torch": None if torch is None else torch.__version__,
        "torch_threads": None if torch is None else torch.get_num_threads(),
        "python": platform.python_version(),
        "numpy": np.__version__,
    }


def _read(path: str) -> str:
    try:
        return Path(path).read_text()
    except OSError:
        return ""


def targets(rows: list[dict], mem: list[dict]) -> list[dict]:
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


def run(args, progress=print) -> dict:
    started = now()
    load_before = list(os.getloadavg())
    workloads = SMOKE if args.smoke else TABLE[:1] + TABLE[2:3] if args.quick else TABLE
    rows = table(workloads, args.reps, args.iters, args.min_seconds, progress)
    data = {"machine": {**machine(), "load_average_before": load_before}, "table": rows}
    data["targets"] = targets(rows, [])
    if not (args.table_only or args.quick):
        data["memory"] = memory(args.smoke, args.iters)
        data["targets"] = targets(rows, data["memory"])
        data["scaling"] = dense_series(args.reps, args.iters, args.smoke)
        data["factored"] = factored_series(args.reps, args.iters, args.smoke)
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
    if args.compare_threads:
        cmd = [
            sys.executable,
            __file__,
            "--table-only",
            "--json",
            "-",
            "--reps",
            str(args.reps),
            "--iters",
            str(args.iters),
            "--min-seconds",
            str(args.min_seconds),
        ]
        cmd += ["--smoke"] if args.smoke else ["--quick"] if args.quick else []
        text = subprocess.run(
            cmd, check=True, capture_output=True, text=True, env=other_threads_env()
        ).stdout
        other = json.loads(text)
        data["other_threads"] = {"machine": other["machine"], "table": other["table"]}
    data["machine"]["load_average_after"] = list(os.getloadavg())
    params = {
        "reps": args.reps,
        "iters": args.iters,
        "min_seconds": args.min_seconds,
        "quick": args.quick,
        "smoke": args.smoke,
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


# --- plots and tables (also used by the book's Performance page) -----------------------------


def latest(folder: Path = RESULTS) -> tuple[Path, dict] | None:
    """The newest results file in ``folder`` and its content (checksum verified), or None."""
    files = sorted(folder.glob("*.json"))
    return (files[-1], read_json(files[-1])) if files else None


def markdown_table(rows: list[dict], ratios_only: bool = False) -> str:
    """The table of a run as Markdown: ms/iteration, ratio to the pass, speed-up over peers."""
    peer_names = ["separate", "plain", "einsum", "torch"]
    present = [p for p in peer_names if any(p in r["speedup"] for r in rows)]
    head = ["workload", "A (MB)"]
    head += [] if ratios_only else ["pass (ms)", "package (ms/iter)"]
    head += ["package / pass", "kernel / pass", "read / pass", "lower bound / pass"]
    head += [f"× over {p}" for p in present]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in rows:
        cells = [
            r["name"] + (f" (per run of {r['batch']})" if r["batch"] else ""),
            f"{r['a_bytes'] / 1e6:.1f}",
        ]
        if not ratios_only:
            cells += [f"{r['ms']['pass']:.3f}", f"{r['ms']['package']:.3f}"]
        cells += [
            f"{r['ratio_to_pass'][c]:.2f}" if c in r["ratio_to_pass"] else "–"
            for c in ("package", "kernel", "read")
        ]  # older files have no read
        cells += [f"{r['bound']['ratio_bound']:.2f}" if "bound" in r else "–"]
        cells += [f"{r['speedup'][p]:.1f}" if p in r["speedup"] else "–" for p in present]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def bound_cell(target: dict) -> str:
    """The lower-bound cell of a target's row (memory targets and older files have none)."""
    if "bound" not in target:
        return "–"
    return f"{target['bound']:.2f}" + ("" if target["reachable"] else " (out of reach)")


def series_bound_ms(point: dict, gfma_per_s: float) -> float:
    """The lower bound of a scaling point, per run (as :func:`lower_bound`): the compiled read
    of A shared by the point's runs, or its multiply-adds at ``gfma_per_s``."""
    w = Workload(**{f.name: point[f.name] for f in fields(Workload)})
    return max(memory_and_arithmetic_ms(w, point["ms"]["read"], 1e-9 / gfma_per_s))


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


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--quick", action="store_true", help="CI size only (a few seconds); for the book page"
    )
    parser.add_argument("--smoke", action="store_true", help="tiny sizes (for the tests)")
    parser.add_argument("--reps", type=int, default=None, help="repetitions (median; >= 5)")
    parser.add_argument("--iters", type=int, default=None, help="GD iterations per repetition")
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
        "full run, none with --quick/--smoke",
    )
    parser.add_argument(
        "--compare-threads",
        action=argparse.BooleanOptionalAction,
        help="also time the table under the other OPENBLAS_NUM_THREADS setting "
        "(default: on for a full run)",
    )
    parser.add_argument("--table-only", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--memory-child", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    small = args.quick or args.smoke
    args.reps = args.reps if args.reps is not None else 5
    args.iters = args.iters if args.iters is not None else (5 if small else 20)
    if args.min_seconds is None:
        args.min_seconds = 0.0 if args.smoke else 0.02 if args.quick else 0.1
    if args.reps < 1 or args.iters < 1:
        parser.error("--reps and --iters must be integers >= 1")
    if args.compare_threads is None:
        args.compare_threads = not (small or args.table_only)
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    if args.memory_child is not None:
        print(json.dumps(memory_child(json.loads(args.memory_child))))
        return 0
    quiet = args.json == "-"
    data = run(args, progress=(lambda *_: None) if quiet else print)
    if quiet:
        print(json.dumps(data))
        return 0
    path = args.json
    if path is None and not (args.quick or args.smoke):
        path = RESULTS / f"{data['provenance']['started'][:10]}.json"
    if path is not None:
        path = write_json(path, data)
        for name, fig in figures(data).items() if "scaling" in data else ():  # a table only
            fig.savefig(Path(path).with_name(f"{Path(path).stem}-{name}.png"), dpi=120)
        print(f"wrote {path}")
    print(markdown_table(data["table"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
