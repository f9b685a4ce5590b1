"""Timers (seconds per iteration, interleaved repetitions) and the lower bound they give.

The unit of every ratio is one pass ``A @ x`` over the operator's array (numpy's BLAS); next
to it, witnesses of the fastest read of the array (compiled reads of every entry, JAX's
``A @ x``) and the machine's peak multiply-add rate (:mod:`~matrix_sensing.benchmark._peak`)
bound what any implementation can reach on one core.
"""

from __future__ import annotations

import functools
import statistics
import time
from dataclasses import fields

import numpy as np
from numba import njit

from ._peers import jax_module
from ._workloads import SEED, Workload, fmas_per_run

#: Segment counts of the reads by :func:`read_in_segments` timed as witnesses. Of 2, 4, 6, 8,
#: 12 and 16 segments, 4 read the large array (4000 x 10000) fastest in float64 in all five
#: trials, 12 the CI one (560 x 1200) in all four trials that had it; in float32 none was
#: clearly ahead (taskset -c 0 on the 2-core AMD EPYC, 2026-12-06). Both are timed.
SEGMENTS = (4, 12)
#: The timers that read every entry of A at least once, by name in a row's ``ms``: the
#: fastest is the memory side of :func:`lower_bound` ("pass" is numpy's ``A @ x``, over the
#: float32 array for a float32 workload).
READ_WITNESSES = ("pass", "read", *(f"read_{n}_segments" for n in SEGMENTS), "read_jax")


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
    """A timer of ``fn``: seconds per evaluation of one call. Each call also appends the
    process's CPU time over the wall time to ``timer.cpu_per_wall`` (about 1 for code on one
    thread, up to the core count for code on all of them)."""

    def timer():
        cpu, start = time.process_time(), time.perf_counter()
        fn()
        wall, cpu = time.perf_counter() - start, time.process_time() - cpu
        timer.cpu_per_wall.append(cpu / wall if wall > 0 else float("nan"))
        return wall / evaluations

    timer.cpu_per_wall = []
    return timer


def cpu_per_wall(timer) -> float | None:
    """The median CPU time / wall time of the timed calls of a :func:`per_iteration` timer
    (its first call, the warm-up, left out), None for another timer."""
    ratios = getattr(timer, "cpu_per_wall", [])[1:]
    return statistics.median(ratios) if ratios else None


def pass_timer(A, iters: int):
    """One pass ``A @ x`` over the array (numpy's BLAS): the unit of every ratio."""
    x = np.random.default_rng(SEED).standard_normal(A.shape[1]).astype(A.dtype)

    def passes():
        for _ in range(iters):
            A @ x

    return per_iteration(passes, iters)


@functools.cache
def read_in_segments(segments: int):
    """A compiled ``read(A)``: the sum of all entries of the C-contiguous ``A`` read as
    ``segments`` contiguous segments side by side, each with its own accumulator, so that
    that many streams come from memory at once (which the hardware prefetchers may serve
    faster than one stream, :data:`read_every_entry`); the last entries (fewer than
    ``segments``) are added after the loop."""
    # numba keeps a fixed set of scalars in registers, not an array of accumulators (that
    # form read several times slower): the loop is written out for the given count
    each = range(segments)
    source = "\n".join(
        [
            "def read(A):",
            "    flat = A.reshape(-1)",
            f"    q = flat.shape[0] // {segments}",
            *(f"    s{j} = A.dtype.type(0)" for j in each),
            "    for c in range(q):",
            *(f"        s{j} += flat[{j} * q + c]" for j in each),
            "    total = " + " + ".join(f"s{j}" for j in each),
            f"    for c in range({segments} * q, flat.shape[0]):",
            "        total += flat[c]",
            "    return total",
        ]
    )
    namespace = {}
    exec(compile(source, f"<read in {segments} segments>", "exec"), namespace)
    return njit(fastmath=True, nogil=True, boundscheck=False)(namespace["read"])


#: The sum of all entries of the C-contiguous ``A`` as one stream: the least work that reads
#: every entry once, vectorized at the machine's full width (``fastmath`` reassociates it).
read_every_entry = read_in_segments(1)


def read_timer(A, iters: int, read=read_every_entry):
    """One compiled read of every entry of ``A`` (``read``: :data:`read_every_entry` or one of
    :func:`read_in_segments`): a witness of how fast A can be read. numpy's ``A @ x`` can be
    slower (an OpenBLAS built for narrower vectors than the CPU has), so it is not always the
    limit it looks like; book/performance.md gives the measured ratio."""
    read(A)  # compile outside the timing

    def reads():
        for _ in range(iters):
            read(A)

    return per_iteration(reads, iters)


@functools.cache
def _jax_passes():
    """The jitted loop of :func:`jax_read_timer`: ``iters`` (traced) products ``A @ x``."""
    jax = jax_module()

    def passes(A, x, iters):
        # each product feeds the next one's input, so XLA cannot hoist it out of the loop;
        # the factor keeps the input x to rounding
        def body(_, s):
            return A @ (x + s[0] * A.dtype.type(1e-30))

        return jax.lax.fori_loop(0, iters, body, jax.numpy.zeros(A.shape[0], A.dtype))

    return jax.jit(passes)


def jax_read_timer(A, iters: int):
    """One product ``A @ x`` by JAX (XLA's CPU code) in a compiled loop, on a copy of ``A`` on
    JAX's CPU device: a witness of how fast A can be read; None without jax. With every
    thread of the process on one CPU (:func:`~matrix_sensing.benchmark.one_cpu`), it reads
    with one core; else XLA uses every core it may."""
    jax = jax_module()
    if jax is None:
        return None
    cpu = jax.devices("cpu")[0]
    A_j = jax.device_put(A, cpu)
    x = np.random.default_rng(SEED).standard_normal(A.shape[1]).astype(A.dtype)
    x = jax.device_put(x, cpu)
    loop = _jax_passes()
    jax.block_until_ready(loop(A_j, x, 1))  # compile outside the timing
    return per_iteration(lambda: jax.block_until_ready(loop(A_j, x, iters)), iters)


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


def read_witnesses(w: Workload, ms: dict) -> dict[str, float]:
    """ms of each read of :data:`READ_WITNESSES` present in ``ms`` (a row's), on the array
    the run uses: numpy's pass is ``ms["pass_float32"]`` for a float32 workload."""
    pass_name = f"pass_{w.dtype}" if f"pass_{w.dtype}" in ms else "pass"
    names = [pass_name, *(n for n in READ_WITNESSES[1:] if n in ms)]
    return {name: ms[name] for name in names}


def lower_bound(w: Workload, ms: dict, fma_seconds: float, blas_fma_seconds: float) -> dict:
    """What no implementation can beat on this machine with one thread, per run and
    iteration: reading A once (shared by the B runs of a batch; at the speed of the fastest
    witness of :func:`read_witnesses`, recorded as ``memory_witness``) and doing the run's
    multiply-adds at the machine's peak rate, whichever takes longer; as a ratio to the
    float64 pass."""
    witnesses = read_witnesses(w, ms)
    witness = min(witnesses, key=witnesses.get)
    memory_ms, arithmetic_ms = memory_and_arithmetic_ms(w, witnesses[witness], fma_seconds)
    return {
        "fmas_per_run": fmas_per_run(w),
        "gfma_per_s": 1e-9 / fma_seconds,
        "blas_gfma_per_s": 1e-9 / blas_fma_seconds,
        "memory_ms": memory_ms,
        "memory_witness": witness,
        "arithmetic_ms": arithmetic_ms,
        "ratio_bound": max(memory_ms, arithmetic_ms) / ms["pass"],
    }


def memory_and_arithmetic_ms(w: Workload, read_ms: float, fma_seconds: float):
    """The two limits of one run's iteration, in ms: a read of A taking ``read_ms`` shared by
    the ``w.runs`` runs, and the run's multiply-adds at ``fma_seconds`` each."""
    return read_ms / w.runs, 1e3 * fmas_per_run(w) * fma_seconds


def series_bound_ms(point: dict, gfma_per_s: float) -> float:
    """The lower bound of a scaling point, per run (as :func:`lower_bound`): the fastest
    compiled read of A (``read``, and the reads in segments where timed) shared by the
    point's runs, or its multiply-adds at ``gfma_per_s``."""
    w = Workload(**{f.name: point[f.name] for f in fields(Workload)})
    read_ms = min(v for n, v in point["ms"].items() if n.startswith("read"))
    return max(memory_and_arithmetic_ms(w, read_ms, 1e-9 / gfma_per_s))
