"""Make the built site self-contained, so that it renders with no network.

* MathJax 3 is served from the build instead of a CDN. The distribution comes from the
  pinned ``django-static-mathjax`` wheel (nothing is downloaded at build time); only the
  combined ``tex-mml-chtml.js`` and the component folders it loads lazily (fonts, TeX
  extensions, a11y) are copied.
* sphinx-thebe's scripts are dropped: live code is not offered (it would fetch thebe from a
  CDN), and Jupyter Book 1 adds its inline configuration twice, a JavaScript error on every
  page ("Identifier 'THEBE_JS_URL' has already been declared").
"""

from __future__ import annotations

import shutil
from importlib.resources import files
from pathlib import Path

MATHJAX_ENTRY = "tex-mml-chtml.js"


def mathjax_dist() -> Path:
    dist = Path(str(files("mathjax"))) / "static" / "mathjax" / "es5"
    if not (dist / MATHJAX_ENTRY).is_file():
        raise RuntimeError(f"MathJax not found at {dist}: install django-static-mathjax")
    return dist


def _use_local_mathjax(app, config):
    config.mathjax_path = f"mathjax/{MATHJAX_ENTRY}"


def _copy_mathjax(app, exception):
    if exception is not None or app.builder.format != "html":
        return
    dist = mathjax_dist()
    target = Path(app.outdir) / "_static" / "mathjax"
    target.mkdir(parents=True, exist_ok=True)
    shutil.copy2(dist / MATHJAX_ENTRY, target / MATHJAX_ENTRY)
    for folder in (p for p in dist.iterdir() if p.is_dir()):
        shutil.copytree(folder, target / folder.name, dirs_exist_ok=True)


def _is_thebe(asset) -> bool:
    filename = getattr(asset, "filename", None) or ""
    body = getattr(asset, "attributes", {}).get("body", "")
    return "thebe" in filename or "THEBE_JS_URL" in body


def _drop_thebe(app, pagename, templatename, context, doctree):
    for key in ("script_files", "css_files"):
        if key in context:
            context[key][:] = [asset for asset in context[key] if not _is_thebe(asset)]


def setup(app):
    mathjax_dist()  # fail early, before a long build, when MathJax is missing
    # Page titles with math appear in every page's navigation, so MathJax must load on
    # every page, not only on those whose body has math.
    app.set_html_assets_policy("always")
    app.connect("config-inited", _use_local_mathjax, priority=900)
    app.connect("html-page-context", _drop_thebe)
    app.connect("build-finished", _copy_mathjax)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
