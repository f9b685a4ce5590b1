"""The book builds with no network and its pages load nothing from elsewhere; rebuilding after
a change in the package's code re-executes the notebooks (no stale outputs).

Offline: the ``built_book`` fixture builds inside a network namespace with only a loopback
interface (see ``_offline.py``), so a build that succeeds needed no request off the machine;
the browser test (test_book.py) aborts and reports any off-machine request while pages load;
here the built HTML and CSS are scanned for references to scripts, styles, fonts, images and
frames elsewhere (plain ``<a href>`` links to the web are fine: they load nothing).
"""

from __future__ import annotations

import html.parser
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
import yaml
from _capabilities import missing
from _notebook_helpers import tiny_book
from _offline import offline_prefix

ROOT = Path(__file__).resolve().parents[1]
JUPYTER_BOOK = Path(sys.executable).with_name("jupyter-book")
EXTERNAL = re.compile(r"^\s*(?:https?:)?//", re.I)
CSS_EXTERNAL = re.compile(
    r"""(?:@import\s+(?:url\()?|url\()\s*['"]?\s*((?:https?:)?//[^'")\s;]+)""", re.I
)
# Tag -> attributes whose URL the browser fetches when the page loads.
LOADED = {
    "script": ("src",),
    "link": ("href",),
    "img": ("src", "srcset"),
    "source": ("src", "srcset"),
    "iframe": ("src",),
    "frame": ("src",),
    "embed": ("src",),
    "object": ("data",),
    "video": ("src", "poster"),
    "audio": ("src",),
    "track": ("src",),
    "input": ("src",),
    "image": ("href", "xlink:href"),
    "use": ("href", "xlink:href"),
}
# <link rel=...> values that name a page rather than load a resource.
LINK_NOT_LOADED = {"canonical", "alternate", "author", "license", "me", "help", "search"}


def _no_network_or_skip():
    prefix, reason = offline_prefix()
    if prefix is None:
        missing(f"no network namespace for the offline build: {reason}")
    return prefix


def test_the_offline_namespace_has_no_network():
    prefix = _no_network_or_skip()
    # No address off the machine is ever tried: the namespace's interfaces are listed
    # (only the loopback), and the one name lookup is of a name that cannot exist (.invalid).
    probe = """
import socket
assert [name for _, name in socket.if_nameindex()] == ["lo"], socket.if_nameindex()
server = socket.create_server(("127.0.0.1", 0))  # what a Jupyter kernel needs
socket.create_connection(server.getsockname(), timeout=5).close()
try:
    socket.getaddrinfo("no-such-host.invalid", 443)
except OSError:
    print("offline")
else:
    raise SystemExit("resolved a name under .invalid")
"""
    proc = subprocess.run(
        [*prefix, sys.executable, "-c", probe], capture_output=True, text=True, timeout=120
    )
    assert (proc.returncode, proc.stdout.strip()) == (0, "offline"), proc.stderr


@pytest.mark.book
def test_the_book_builds_offline(built_book):
    prefix = _no_network_or_skip()
    assert built_book.offline == " ".join(prefix), "the book was built with the network"
    assert built_book.returncode == 0, "\n".join(built_book.log.splitlines()[-30:])


class _Scanner(html.parser.HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.found: list[str] = []
        self._in_style = False

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        rel = set((attrs.get("rel") or "").lower().split())
        if tag == "link" and rel and rel <= LINK_NOT_LOADED:
            return
        for name in LOADED.get(tag, ()):
            for url in re.split(r",\s*", attrs.get(name) or ""):
                if EXTERNAL.match(url):
                    self.found.append(f"<{tag} {name}={url.split()[0]}>")
        self.found += [
            f'<{tag} style="{m}">' for m in CSS_EXTERNAL.findall(attrs.get("style") or "")
        ]
        self._in_style = tag == "style"

    def handle_endtag(self, tag):
        self._in_style = False

    def handle_data(self, data):
        if self._in_style:
            self.found += [f"<style> {m}" for m in CSS_EXTERNAL.findall(data)]


def external_references(html_dir: Path) -> dict[str, list[str]]:
    """Page or stylesheet -> the resources it would load from elsewhere."""
    found = {}
    for path in sorted(html_dir.rglob("*")):
        if path.suffix == ".html":
            scanner = _Scanner()
            scanner.feed(path.read_text(encoding="utf-8", errors="replace"))
            refs = scanner.found
        elif path.suffix == ".css":
            refs = CSS_EXTERNAL.findall(path.read_text(encoding="utf-8", errors="replace"))
        else:
            continue
        if refs:
            found[str(path.relative_to(html_dir))] = refs
    return found


def test_the_scanner_finds_every_kind_of_external_resource(tmp_path):
    (tmp_path / "page.html").write_text(
        '<link rel="stylesheet" href="https://cdn.example/x.css">'
        '<link rel="preconnect" href="https://fonts.gstatic.com">'
        '<link rel="canonical" href="https://example.org/page.html">'
        '<script src="//cdn.example/x.js"></script><img srcset="a.png 1x, http://e.x/b.png 2x">'
        '<div style="background: url(https://e.x/bg.png)"></div>'
        '<style>@import "https://fonts.googleapis.com/css?family=Roboto";</style>'
        '<a href="https://arxiv.org/abs/2306.00000">the paper</a><img src="_images/local.png">'
    )
    (tmp_path / "site.css").write_text(
        '@font-face { src: url("https://fonts.gstatic.com/f.woff2") format("woff2"); }\n'
        "@import url(//fonts.example/x.css);\n.local { background: url(../img/a.png); }"
    )
    found = external_references(tmp_path)
    assert found == {
        "page.html": [
            "<link href=https://cdn.example/x.css>",
            "<link href=https://fonts.gstatic.com>",
            "<script src=//cdn.example/x.js>",
            "<img srcset=http://e.x/b.png>",
            '<div style="https://e.x/bg.png">',
            "<style> https://fonts.googleapis.com/css?family=Roboto",
        ],
        "site.css": ["https://fonts.gstatic.com/f.woff2", "//fonts.example/x.css"],
    }


@pytest.mark.book
def test_no_page_loads_a_script_style_font_or_image_from_elsewhere(built_book):
    if built_book.returncode != 0:
        pytest.fail("the book did not build; see test_book_builds_without_warnings")
    pages = list(built_book.html.rglob("*.html"))
    assert len(pages) > 10 and list(built_book.html.rglob("*.css"))
    found = external_references(built_book.html)
    assert not found, "\n".join(f"{page}: {refs[:3]}" for page, refs in found.items())


def _make_book_command() -> list[str]:
    """The `make book` recipe's jupyter-book command (what a reader runs locally)."""
    makefile = (ROOT / "Makefile").read_text()
    recipe = re.search(r"^book:.*\n((?:\t.*\n)+)", makefile, re.M).group(1)
    line = next(x for x in recipe.splitlines() if "jupyter-book" in x and " build " in x)
    words = shlex.split(line.strip().replace("$(BIN)/", ""))
    assert words[:3] == ["jupyter-book", "build", "."], words
    return words[3:]


def test_rebuilding_after_a_code_change_re_executes_the_notebooks(tmp_path):
    """`make book` twice into the same folder, a function of the imported code changed in
    between and the notebook not: the second build must show the new value. (Sphinx only
    re-reads changed sources unless told otherwise, and myst-nb's cache is keyed on the
    notebook's text: the parallel_execution extension empties it at every build.) CI builds
    from a clean checkout with the same _config.yml, so a stale page there would need this
    too."""
    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    assert config["execute"]["execute_notebooks"] == "cache"
    book, package = tmp_path / "book", tmp_path / "package"
    book.mkdir()
    package.mkdir()
    cells = [
        nbformat.v4.new_markdown_cell("# A page computed by the package"),
        nbformat.v4.new_code_cell("import solver_stub\nprint(solver_stub.solve())"),
    ]
    tiny_book(book, "stale", cells, config)
    env = {**os.environ, "PYTHONPATH": str(package), "PYDEVD_DISABLE_FILE_VALIDATION": "1"}
    command = [
        str(JUPYTER_BOOK),
        "build",
        str(book),
        "--path-output",
        str(tmp_path / "out"),
        *_make_book_command(),
    ]
    page = tmp_path / "out" / "_build" / "html" / "page.html"
    shown = []
    for value in ("first-solver-output", "changed-solver-output"):
        (package / "solver_stub.py").write_text(f"def solve():\n    return {value!r}\n")
        proc = subprocess.run(command, capture_output=True, text=True, timeout=600, env=env)
        assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
        shown.append(re.findall(r"(first|changed)-solver-output", page.read_text()))
    assert shown == [["first"], ["changed"]], f"the rebuilt page is stale: {shown}"
    # The cache holds this build's execution only (the extension emptied it first).
    (cache,) = (tmp_path / "out").rglob(".jupyter_cache")
    assert len(list((cache / "executed").iterdir())) == 1
