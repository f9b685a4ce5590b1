"""A progress bar for work done in other processes (a notebook's kernel, worker processes),
moved by polling what they have written: the runs kept in a checkpoints folder."""

from __future__ import annotations

import contextlib
import sys
import threading
from collections.abc import Callable

from tqdm import tqdm


@contextlib.contextmanager
def polled_bar(
    measure: Callable[[], tuple[float, float]],
    *,
    desc: str,
    unit: str,
    disable: bool = False,
    interval: float = 1.0,
    bar_format: str | None = None,
):
    """A tqdm bar on stderr that a background thread sets to ``measure() -> (done, total)``
    every ``interval`` seconds while the block runs; yields the bar (for ``bar.write``).

    What was already done at the first measurement (a resumed run) does not count towards
    the rate, so the time left is that of the work still to do at this run's pace.
    """
    bar = tqdm(
        total=0,
        desc=desc,
        unit=unit,
        disable=disable,
        smoothing=0,  # the average since the start: runs of one claim take alike long
        file=sys.stderr,
        bar_format=bar_format,
    )
    stop = threading.Event()
    first = True

    def poll() -> None:
        nonlocal first
        try:
            done, total = measure()
        except OSError:  # a file being replaced; the next poll reads it
            return
        if not total:
            return
        if first:
            bar.total, bar.n, bar.initial, first = total, done, done, False
            bar.refresh()
        else:
            bar.total = total
            if done > bar.n:
                bar.update(done - bar.n)
            else:
                bar.refresh()

    def loop() -> None:
        while not stop.wait(interval):
            poll()

    thread = threading.Thread(target=loop, daemon=True, name="progress")
    if not disable:
        thread.start()
    try:
        yield bar
        poll()
    finally:
        stop.set()
        if not disable:
            thread.join()
        bar.close()
