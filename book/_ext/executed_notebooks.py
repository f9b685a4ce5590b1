"""Serve the executed notebooks from the download button.

The book's download button links to the page's source under ``_sources/``; for a notebook
that is the committed file, stripped of outputs. After the build, replace it with the
notebook as this build executed it (myst-nb keeps a copy in its output folder).
"""

from __future__ import annotations

import shutil
from pathlib import Path


def _serve_executed(app, exception):
    if exception is not None or app.builder.format != "html":
        return
    executed = Path(app.env.mystnb_config.output_folder)
    for source in (Path(app.outdir) / "_sources").rglob("*.ipynb"):
        docname = source.relative_to(Path(app.outdir) / "_sources").with_suffix("")
        candidate = executed / docname.with_suffix(".ipynb")
        if candidate.is_file():
            shutil.copyfile(candidate, source)


def setup(app):
    app.connect("build-finished", _serve_executed)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
