"""Serve MathJax 3 from the built site instead of a CDN, so the book renders offline.

The MathJax distribution comes from the ``django-static-mathjax`` wheel (a pinned PyPI
package; nothing is downloaded at build time). Only the combined ``tex-mml-chtml.js`` and
the component folders it loads lazily (fonts, TeX extensions, a11y) are copied.
"""

from __future__ import annotations

import shutil
from importlib.resources import files
from pathlib import Path

ENTRY = "tex-mml-chtml.js"


def mathjax_dist() -> Path:
    dist = Path(str(files("mathjax"))) / "static" / "mathjax" / "es5"
    if not (dist / ENTRY).is_file():
        raise RuntimeError(f"MathJax not found at {dist}: install django-static-mathjax")
    return dist


def _use_local_mathjax(app, config):
    config.mathjax_path = f"mathjax/{ENTRY}"


def _copy_mathjax(app, exception):
    if exception is not None or app.builder.format != "html":
        return
    dist = mathjax_dist()
    target = Path(app.outdir) / "_static" / "mathjax"
    target.mkdir(parents=True, exist_ok=True)
    shutil.copy2(dist / ENTRY, target / ENTRY)
    for folder in (p for p in dist.iterdir() if p.is_dir()):
        shutil.copytree(folder, target / folder.name, dirs_exist_ok=True)


def setup(app):
    mathjax_dist()  # fail early, before a long build, when MathJax is missing
    app.connect("config-inited", _use_local_mathjax, priority=900)
    app.connect("build-finished", _copy_mathjax)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
