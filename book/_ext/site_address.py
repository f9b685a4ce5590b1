"""Give the built book its public address.

GitHub Pages serves a project site at ``https://OWNER.github.io/REPO/``. The repository URL
is configured once, in ``_config.yml`` (``repository.url``), which Jupyter Book hands to the
theme as ``html_theme_options["repository_url"]``; this extension derives Sphinx's
``html_baseurl`` from it, so every page carries ``<link rel="canonical">`` with the address
it will have when published. An ``html_baseurl`` set explicitly (``html.baseurl`` in
``_config.yml``, e.g. for a custom domain) is left alone.
"""

from __future__ import annotations

import re
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


def setup(app):
    app.connect("config-inited", _set_baseurl)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
