"""One CPU for the table's one-thread timings.

With ``OPENBLAS_NUM_THREADS=1`` numpy, numba and torch (given as many threads) run on one
thread, but XLA does not: it sizes its CPU thread pool from the CPUs the process may run on
when JAX's backend starts, and in JAX 0.10.2 ``XLA_FLAGS="--xla_cpu_multi_thread_eigen=false
intra_op_parallelism_threads=1"`` did not keep it on one core (``/usr/bin/time`` showed 151%
CPU on 2 cores). Setting the affinity is the way JAX's maintainers give to limit its CPU use
(jax-ml/jax issue #1539), so the table runs with the whole process pinned to one CPU.
"""

from __future__ import annotations

import contextlib
import os


def _threads() -> list[int]:
    """The thread ids of this process (Linux); ``[0]`` (the calling thread) elsewhere."""
    try:
        return [int(tid) for tid in os.listdir("/proc/self/task")]
    except OSError:
        return [0]


@contextlib.contextmanager
def one_cpu(enabled: bool = True):
    """Run the block with every thread of this process on one CPU, the lowest of those the
    calling thread may use; yields that CPU, or None when ``enabled`` is false or the system
    has no ``os.sched_setaffinity``. On exit every thread gets its affinity back (threads
    started inside the block get the calling thread's), also after an exception.

    Threads started inside the block inherit the one CPU: XLA's pool, if JAX's backend
    starts there, has one CPU to size itself from. Threads that existed before (a pool
    started earlier) are pinned too, so they share the one CPU."""
    if not enabled or not hasattr(os, "sched_setaffinity"):
        yield None
        return
    original = os.sched_getaffinity(0)
    before = {}
    for tid in _threads():
        with contextlib.suppress(OSError):  # a thread may end in the meantime
            before[tid] = os.sched_getaffinity(tid)
    cpu = min(original)
    try:
        for tid in before:
            with contextlib.suppress(OSError):
                os.sched_setaffinity(tid, {cpu})
        yield cpu
    finally:
        for tid in _threads():
            with contextlib.suppress(OSError):
                os.sched_setaffinity(tid, before.get(tid, original))
