"""Benchmark of the factorized gradient-descent solver against the physical limit and its
peers: the library behind ``benchmarks/run.py`` (its command line) and the book's Performance
page (book/performance.md, which describes what is measured and shows the recorded runs).

The physical limit of one iteration on a dense (m, n1*n2) operator is one streaming pass over
its array: every workload is timed side by side with ``A @ x`` on the same array, in the same
process, and reported as ms/iteration and as a ratio to that pass, next to the fastest of
several reads of every entry (compiled reads, JAX's ``A @ x``) and the machine's peak
multiply-add rate, which together bound what any code can reach on one core. Peers (the plain
numpy loop, an einsum over the (m, n1, n2) tensor, PyTorch autograd on CPU and the loop
compiled by JAX, each of the last two when importable) run on the same data and are checked to
give the same iterates before they are timed. Timings are interleaved (one repetition of every
candidate, then the next) so that a change of machine load hits all candidates alike; each
number is the median of the repetitions. With one BLAS thread, the table runs with the process
pinned to one CPU (:func:`one_cpu`), so that every candidate, JAX too, has one core.

Importing this module costs numba (the compiled reads); torch, jax, llvmlite's JIT and
matplotlib are imported only by the functions that use them. ``import matrix_sensing`` does
not import this module.
"""

from __future__ import annotations

from ._affinity import one_cpu
from ._memory import memory, memory_child
from ._peak import PEAK_CHAINS, PEAK_ITERS, host_lanes, peak_ir, peak_timer
from ._peers import (
    RTOL,
    RTOL32,
    agreement,
    einsum_gd,
    jax_backend_cpus,
    jax_gd,
    jax_gd_batch,
    jax_module,
    package_gd,
    peers,
    plain_gd,
    torch_gd,
    torch_module,
)
from ._report import bound_cell, figures, latest, markdown_table
from ._suite import (
    MEMORY_TARGET,
    RELATIVE_TARGETS,
    TARGETS,
    dense_series,
    factored_series,
    machine,
    measure,
    other_threads_env,
    run,
    table,
    targets,
)
from ._timers import (
    READ_WITNESSES,
    SEGMENTS,
    cpu_per_wall,
    gemm_timer,
    interleaved,
    jax_read_timer,
    lower_bound,
    memory_and_arithmetic_ms,
    pass_timer,
    per_iteration,
    read_every_entry,
    read_in_segments,
    read_timer,
    read_witnesses,
    series_bound_ms,
)
from ._workloads import CI, LARGE, SEED, SMOKE, TABLE, Workload, fmas_per_run, problem, truth

__all__ = [
    "CI",
    "LARGE",
    "MEMORY_TARGET",
    "PEAK_CHAINS",
    "PEAK_ITERS",
    "READ_WITNESSES",
    "RELATIVE_TARGETS",
    "RTOL",
    "RTOL32",
    "SEED",
    "SEGMENTS",
    "SMOKE",
    "TABLE",
    "TARGETS",
    "Workload",
    "agreement",
    "bound_cell",
    "cpu_per_wall",
    "dense_series",
    "einsum_gd",
    "factored_series",
    "figures",
    "fmas_per_run",
    "gemm_timer",
    "host_lanes",
    "interleaved",
    "jax_backend_cpus",
    "jax_gd",
    "jax_gd_batch",
    "jax_module",
    "jax_read_timer",
    "latest",
    "lower_bound",
    "machine",
    "markdown_table",
    "measure",
    "memory",
    "memory_and_arithmetic_ms",
    "memory_child",
    "one_cpu",
    "other_threads_env",
    "package_gd",
    "pass_timer",
    "peak_ir",
    "peak_timer",
    "peers",
    "per_iteration",
    "plain_gd",
    "problem",
    "read_every_entry",
    "read_in_segments",
    "read_timer",
    "read_witnesses",
    "run",
    "series_bound_ms",
    "table",
    "targets",
    "torch_gd",
    "torch_module",
    "truth",
]
