"""Execute the book's notebooks on every core before Sphinx reads them.

myst-nb executes notebooks one after the other while Sphinx reads the pages, on one core.
With ``execute_notebooks: cache`` it takes a notebook's outputs from a jupyter-cache
instead, when the cache holds an execution of the same code. This extension fills that
cache at the start of every build: it empties it (so nothing executed by an earlier build
or before a change in ``src/`` is ever reused), then executes every notebook Sphinx is
about to read (``.ipynb`` files and MyST text notebooks) in a pool of one process per
core, each in the notebook's folder with the book's timeout, as myst-nb would, and with
the package's kernel settings (matrix_sensing.kernel_settings). myst-nb then finds every
successful execution in the cache. A notebook that fails is not cached: myst-nb executes
it once more, on its own, and reports the failure, which fails a build run with warnings
as errors.
"""

from __future__ import annotations

import multiprocessing
import os
import shutil
import time
from pathlib import Path

from sphinx.util import logging

logger = logging.getLogger(__name__)


def _execute(task: tuple[str, str, int | None]) -> tuple[str, dict | None, float, str | None]:
    """Worker: execute the notebook (JSON text) read from ``path``; returns it (None on
    failure) with the time and the error."""
    import nbformat
    from jupyter_cache.executors.utils import single_nb_execution

    from matrix_sensing.kernel_settings import kernel_config

    path, text, timeout = task
    nb = nbformat.reads(text, as_version=4)
    result = single_nb_execution(
        nb,
        cwd=str(Path(path).parent),
        timeout=timeout,
        allow_errors=False,
        meta_override=True,
        config=kernel_config(),
    )
    if result.err is not None:
        return path, None, result.time, f"{type(result.err).__name__}: {result.err}"
    return path, nb, result.time, None


def _notebooks(app, env, docnames) -> list[tuple[str, str]]:
    """(path, notebook as JSON text) of every page to read that myst-nb reads as a notebook:
    ``.ipynb`` files and MyST text notebooks, read by myst-nb's own reader so that the cache
    finds the same notebook when myst-nb reads the page."""
    import nbformat
    from myst_nb.core.read import create_nb_reader

    found = []
    for name in docnames:
        path = Path(app.env.doc2path(name))
        content = path.read_text(encoding="utf-8")
        reader = create_nb_reader(str(path), env.myst_config, env.mystnb_config, content)
        if reader is not None:
            found.append((str(path), nbformat.writes(reader.read(content))))
    return sorted(found)


def _execute_into_cache(app, env, docnames) -> None:
    config = env.mystnb_config
    if config.execution_mode != "cache":
        return
    from jupyter_cache import get_cache
    from jupyter_cache.base import CacheBundleIn

    cache_path = Path(config.execution_cache_path)
    shutil.rmtree(cache_path, ignore_errors=True)
    notebooks = _notebooks(app, env, docnames)
    if not notebooks:
        return
    cache = get_cache(str(cache_path))
    workers = min(len(notebooks), os.cpu_count() or 1)
    logger.info(f"executing {len(notebooks)} notebooks in {workers} processes")
    started = time.perf_counter()
    # spawn: the workers start from a clean interpreter, not a fork of Sphinx.
    context = multiprocessing.get_context("spawn")
    tasks = [(path, text, config.execution_timeout) for path, text in notebooks]
    with context.Pool(workers) as pool:
        for path, nb, seconds, error in pool.imap_unordered(_execute, tasks):
            name = Path(path).relative_to(app.srcdir)
            if error is not None:
                logger.info(f"  {name}: failed after {seconds:.1f} s ({error})")
                continue
            cache.cache_notebook_bundle(
                CacheBundleIn(nb, path, data={"execution_seconds": seconds}),
                check_validity=False,
                overwrite=True,
            )
            logger.info(f"  {name}: {seconds:.1f} s")
    logger.info(f"executed in {time.perf_counter() - started:.1f} s")


def setup(app):
    app.connect("env-before-read-docs", _execute_into_cache)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
