"""Give the built book its public address.

GitHub Pages serves a project site at ``https://OWNER.github.io/REPO/``. The repository URL
is configured once, in ``_config.yml`` (``repository.url``), which Jupyter Book hands to the
theme as ``html_theme_options["repository_url"]``; this extension derives Sphinx's
``html_baseurl`` from it, so every page carries ``<link rel="canonical">`` with the address
it will have when published. An ``html_baseurl`` set explicitly (``html.baseurl`` in
``_config.yml``, e.g. for a custom domain) is left alone.

The address itself serves ``index.html``, which forwards to the book's first page. It is
written here, at every build and before sphinx-external-toc would write its one-line
redirect (which leaves an existing file alone): a complete page with the book's icon, since
without one every browser asks for ``/favicon.ico``, which is not there (an error in the
console), and with a link for a browser that does not follow the redirect.
"""

from __future__ import annotations

import html
import re
from pathlib import Path
from urllib.parse import urlsplit

# GitHub's rules: an account name is 1-39 letters, digits or single inner hyphens; a
# repository name is letters, digits, ".", "-" and "_".
_OWNER = re.compile(r"[A-Za-z0-9](?:-?[A-Za-z0-9]){0,38}")
_REPO = re.compile(r"[A-Za-z0-9._-]+")
_EXPECTED = "https://github.com/OWNER/REPO"


def pages_url(repository_url: str) -> str:
    """The GitHub Pages address of the repository at ``repository_url``, ending in "/".

    ``https://github.com/OWNER/REPO`` gives ``https://owner.github.io/REPO/`` (host names
    are lower case); the repository named ``OWNER.github.io`` is the account's own site, at
    ``https://owner.github.io/``. A trailing "/" or ".git" is accepted.
    """
    if not isinstance(repository_url, str):
        raise TypeError(
            f"repository_url must be a string like {_EXPECTED}, got {type(repository_url)}"
        )
    parts = urlsplit(repository_url.strip())
    segments = [s for s in parts.path.split("/") if s]
    if (
        parts.scheme not in ("https", "http")
        or (parts.hostname or "") not in ("github.com", "www.github.com")
        or parts.port is not None
        or parts.username is not None
        or parts.query
        or parts.fragment
        or len(segments) != 2
    ):
        raise ValueError(f"repository_url must be {_EXPECTED}, got {repository_url!r}")
    owner, repo = segments[0], segments[1].removesuffix(".git")
    if not _OWNER.fullmatch(owner) or not _REPO.fullmatch(repo) or repo in (".", ".."):
        raise ValueError(
            f"repository_url must be {_EXPECTED} with a valid GitHub account and repository "
            f"name, got {repository_url!r}"
        )
    host = f"{owner.lower()}.github.io"
    if repo.lower() == host:
        return f"https://{host}/"
    return f"https://{host}/{repo}/"


def _set_baseurl(app, config):
    if config.html_baseurl:
        return
    repository_url = (config.html_theme_options or {}).get("repository_url")
    if repository_url:
        config.html_baseurl = pages_url(repository_url)


def _front_page(app, exception):
    # Rewritten at every build (a bare redirect from an earlier build is replaced), unless
    # the root page is itself index.html.
    index = Path(app.outdir) / "index.html"
    if exception is not None or app.builder.format != "html" or app.config.root_doc == "index":
        return
    first = html.escape(app.builder.get_target_uri(app.config.root_doc))
    title = html.escape(app.config.html_title or app.config.project)
    icon = app.config.html_favicon
    icon_link = f'<link rel="icon" href="_static/{Path(icon).name}">' if icon else ""
    index.write_text(
        '<!DOCTYPE html>\n<html><head><meta charset="utf-8">'
        f'<meta http-equiv="Refresh" content="0; url={first}">{icon_link}'
        f"<title>{title}</title></head>\n"
        f'<body><p><a href="{first}">{title}</a></p></body></html>\n',
        encoding="utf-8",
    )


def setup(app):
    app.connect("config-inited", _set_baseurl)
    # Before sphinx-external-toc's handler (priority 500), which writes a bare redirect.
    app.connect("build-finished", _front_page, priority=400)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
