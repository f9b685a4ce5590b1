"""Timers (seconds per iteration, interleaved repetitions) and the lower bound they give.

The unit of every ratio is one pass ``A @ x`` over the operator's array (numpy's BLAS); next
to it, a compiled read of every entry (the least work that reads the array) and the machine's
peak multiply-add rate (:mod:`~matrix_sensing.benchmark._peak`) bound what any implementation
can reach on one core.
"""

from __future__ import annotations

import time
from dataclasses import fields

import numpy as np
from numba import njit

from ._workloads import SEED, Workload, fmas_per_run


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
    ``A @ x`` can be slower (an OpenBLAS built for narrower vectors than the CPU has), so it
    is not always the limit it looks like; book/performance.md gives the measured ratio."""
    read_every_entry(A)  # compile outside the timing

    def reads():
        for _ in range(iters):
            read_every_entry(A)

    return per_iteration(reads, iters)


#: Size of the square matrix product that measures BLAS's arithmetic rate.
GEMM_N = 512


def gemm_timer(dtype):
    """Seconds per fused multiply-add of a square matrix product: BLAS's best rate, which
    need not be the machine's (numpy's OpenBLAS may run narrower vector kernels than the CPU
    has), so it is reported beside :func:`~matrix_sensing.benchmark.peak_timer`, not used
    for the bound."""
    rng = np.random.default_rng(SEED)
    P, Q = (rng.standard_normal((GEMM_N, GEMM_N)).astype(dtype) for _ in range(2))
    return per_iteration(lambda: P @ Q, GEMM_N**3)


def sample_iters(A, iters: int, runs: int, min_seconds: float) -> int:
    """At least ``iters``, and enough iterations that one timed sample of the package lasts
    about ``min_seconds`` (a sample of a few microseconds would measure the scheduler)."""
    x = np.ones(A.shape[1], dtype=A.dtype)
    start = time.perf_counter()
    for _ in range(10):
        A @ x
    pass_seconds = (time.perf_counter() - start) / 10
    return max(iters, int(min_seconds / (2 * pass_seconds * runs)))


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


def series_bound_ms(point: dict, gfma_per_s: float) -> float:
    """The lower bound of a scaling point, per run (as :func:`lower_bound`): the compiled read
    of A shared by the point's runs, or its multiply-adds at ``gfma_per_s``."""
    w = Workload(**{f.name: point[f.name] for f in fields(Workload)})
    return max(memory_and_arithmetic_ms(w, point["ms"]["read"], 1e-9 / gfma_per_s))
