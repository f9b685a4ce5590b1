"""Run independent tasks in this process, in local worker processes or on a Dask cluster.

The one execution layer of the package: a sweep's configurations
(:mod:`matrix_sensing.sweep`) and a claim's seeds
(:func:`matrix_sensing.experiments.run_seeds`) both go through :func:`execute`. Every task
is a deterministic function of its arguments, so where it runs changes nothing in its
result: a worker process or a Dask worker computes the same bits as this process (each
worker uses one BLAS thread, as ``make`` sets for this process, so that a sum is never split
differently between threads).

Ctrl-C in this process stops the workers at once (they ignore it themselves, so no
traceback is printed per worker) and raises ``KeyboardInterrupt`` here; results delivered
before it have been handed to ``on_result``, which is how callers save them as they come
and resume later.
"""

from __future__ import annotations

import contextlib
import os
import signal
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed

from . import _validation as check

#: The most worker processes :func:`execute` starts (a mistyped ``--workers 1000`` would
#: otherwise fork a thousand interpreters).
MAX_WORKERS = 256


def check_workers(workers: int | None) -> int:
    """``workers`` as the number of processes to use: ``None`` is the number of CPUs, 0 and 1
    run in this process."""
    if workers is None:
        return os.cpu_count() or 1
    return check.integer("workers", workers, minimum=0, maximum=MAX_WORKERS)


def execute(
    function: Callable,
    items: Sequence,
    on_result: Callable[[int, object], None],
    *,
    workers: int | None = 1,
    scheduler=None,
) -> None:
    """Call ``function(item)`` for every item and ``on_result(index, result)`` in this
    process as each result arrives (in the order they finish, not of ``items``).

    ``function`` must be importable by name (a module-level function) when it runs
    elsewhere. ``scheduler``: a Dask scheduler address (``"tcp://host:port"``) or a
    ``distributed.Client``; otherwise ``workers`` local processes (``None``: one per CPU;
    0 or 1: in this process, one item after another). An exception raised by a task is
    raised here, after the workers have been stopped.
    """
    workers = check_workers(workers)
    if scheduler is not None:
        _on_dask(function, items, on_result, scheduler)
    elif workers <= 1 or len(items) <= 1:
        for index, item in enumerate(items):
            on_result(index, function(item))
    else:
        _in_processes(function, items, on_result, min(workers, len(items)))


def _one_blas_thread() -> None:
    from threadpoolctl import threadpool_limits

    threadpool_limits(1)


def _start_worker() -> None:
    # Workers leave Ctrl-C to the parent, which stops them (no traceback per worker). They are
    # born with SIGINT blocked (see _sigint_blocked): a Ctrl-C that arrived in between is
    # pending, and ignoring it discards it.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})
    _one_blas_thread()


@contextlib.contextmanager
def _sigint_blocked():
    """Hold SIGINT while worker processes are created. Between fork and the initializer a
    child runs Python code (e.g. ``random``'s at-fork reseeding); a Ctrl-C landing there
    printed an "Exception ignored ... KeyboardInterrupt" traceback. Children inherit the
    mask; the parent gets a pending Ctrl-C when the block ends."""
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


def _stop_workers(pool: ProcessPoolExecutor) -> None:
    """Stop a process pool now, running tasks included (interrupt or error in the parent)."""
    pool.shutdown(wait=False, cancel_futures=True)
    # The executor has no public way to stop a running task: terminate its processes.
    processes = list((getattr(pool, "_processes", None) or {}).values())
    for process in processes:
        process.terminate()
    for process in processes:
        process.join()


def _in_processes(function, items, on_result, workers: int) -> None:
    pool = ProcessPoolExecutor(max_workers=workers, initializer=_start_worker)
    try:
        with _sigint_blocked():  # the pool starts its processes on submit
            futures = {pool.submit(function, item): index for index, item in enumerate(items)}
        for future in as_completed(futures):
            on_result(futures[future], future.result())
    except BaseException:
        _stop_workers(pool)
        raise
    pool.shutdown()


def _with_one_blas_thread(function, item):
    from threadpoolctl import threadpool_limits

    with threadpool_limits(1):
        return function(item)


def _on_dask(function, items, on_result, scheduler) -> None:
    from distributed import Client
    from distributed import as_completed as dask_completed

    client = scheduler if isinstance(scheduler, Client) else Client(scheduler)
    try:
        futures = [
            client.submit(_with_one_blas_thread, function, item, pure=False) for item in items
        ]
        index = {future.key: i for i, future in enumerate(futures)}
        try:
            for future in dask_completed(futures):
                on_result(index[future.key], future.result())
        except BaseException:
            client.cancel(futures)
            raise
    finally:
        if client is not scheduler:
            client.close()
