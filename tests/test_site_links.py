"""The book works where GitHub Pages will serve it, under ``/REPO/``: its public address is
derived from the configured repository URL (book/_ext/site_address.py), every page names it
as canonical, and a crawl with the real link checker (LinkChecker) from the front page, served
under that sub-path on 127.0.0.1, finds no broken link, no missing anchor, and every page of
the table of contents. Nothing off the machine is contacted: every other URL is only
syntax-checked.
"""

from __future__ import annotations

import importlib.util
import re
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urldefrag, urlsplit

import _serve
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
LINKCHECKER = Path(sys.executable).with_name("linkchecker")
# LinkChecker as the test's user, each page parsed once (tests/_linkchecker.py says why).
RUN_LINKCHECKER = Path(__file__).with_name("_linkchecker.py")


def _site_address():
    path = ROOT / "book" / "_ext" / "site_address.py"
    spec = importlib.util.spec_from_file_location("site_address", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


pages_url = _site_address().pages_url


def _config() -> dict:
    return yaml.safe_load((ROOT / "_config.yml").read_text(encoding="utf-8"))


def _toc_pages() -> set[str]:
    """The HTML file of every page in _toc.yml, relative to the site's root."""
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text(encoding="utf-8"))
    files = {toc["root"]}

    def walk(node):
        if isinstance(node, dict):
            files.update([node["file"]] if "file" in node else [])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(toc)
    return {f"{file}.html" for file in files}


# --- the address ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("repository_url", "address"),
    [
        ("https://github.com/owner/repo", "https://owner.github.io/repo/"),
        ("https://github.com/owner/repo/", "https://owner.github.io/repo/"),
        ("https://github.com/owner/repo.git", "https://owner.github.io/repo/"),
        ("https://github.com/Some-Owner/My.Repo_2", "https://some-owner.github.io/My.Repo_2/"),
        ("http://www.github.com/owner/repo", "https://owner.github.io/repo/"),
        ("https://github.com/Owner/owner.github.io", "https://owner.github.io/"),
        (" https://github.com/owner/repo ", "https://owner.github.io/repo/"),
    ],
)
def test_pages_url(repository_url, address):
    assert pages_url(repository_url) == address


@pytest.mark.parametrize(
    "repository_url",
    [
        "https://gitlab.com/owner/repo",
        "https://github.com/owner",
        "https://github.com/owner/repo/tree/main",
        "https://github.com/owner/repo?tab=readme",
        "https://github.com/owner/repo#readme",
        "ssh://git@github.com/owner/repo",
        "https://github.com:8443/owner/repo",
        "https://github.com/-owner/repo",
        "https://github.com/owner/re po",
        "https://github.com/owner/..",
        "github.com/owner/repo",
        "",
    ],
)
def test_pages_url_rejects_what_is_not_a_github_repository(repository_url):
    with pytest.raises(ValueError, match=r"repository_url must be https://github\.com/OWNER/REPO"):
        pages_url(repository_url)


def test_pages_url_rejects_a_non_string():
    with pytest.raises(TypeError, match="repository_url must be a string"):
        pages_url(None)


def _canonical(page: Path) -> list[str]:
    text = page.read_text(encoding="utf-8")
    return re.findall(r'<link rel="canonical" href="([^"]*)"', text)


@pytest.mark.book
def test_every_page_names_its_pages_address_as_canonical(built_book):
    if built_book.returncode != 0:
        pytest.fail("the book did not build; see test_book_builds_without_warnings")
    base = pages_url(_config()["repository"]["url"])
    wrong = {}
    for page in sorted(_toc_pages()):
        found = _canonical(built_book.html / page)
        if found != [base + page]:
            wrong[page] = found
    assert not wrong, f"expected <link rel=canonical> under {base}: {wrong}"


# --- the crawl ------------------------------------------------------------------------------


@dataclass
class Checked:
    url: str  # as written in the page
    real: str  # absolute
    parent: str
    valid: bool
    result: str
    warnings: list[str]


@dataclass
class Crawl:
    start: str  # the front page: http://127.0.0.1:PORT/REPO/
    origin: str  # the local server: http://127.0.0.1:PORT/
    checked: list[Checked]
    seconds: float

    def local(self) -> list[Checked]:
        """Every URL that was fetched (the rest is off the machine: syntax-checked only)."""
        return [c for c in self.checked if c.result not in ("filtered", "ignored")]

    def broken(self) -> list[str]:
        return [f"{c.real} (in {c.parent}): {c.result}" for c in self.checked if not c.valid]

    def missing_anchors(self) -> list[str]:
        return [
            f"{c.real} (in {c.parent}): {w}"
            for c in self.checked
            for w in c.warnings
            if w.startswith("Anchor ")
        ]

    def pages(self) -> set[str]:
        """The HTML pages reached, relative to the start URL."""
        return {
            urldefrag(c.real).url.removeprefix(self.start) or "index.html"
            for c in self.local()
            if c.valid
            and urldefrag(c.real).url.startswith(self.start)
            and (urldefrag(c.real).url.endswith(".html") or urldefrag(c.real).url == self.start)
        }


# LinkChecker makes at most 3 requests a second on average to a host unless the server
# answers with a "LinkChecker" header (its documented opt-in, see maxrequestspersecond in
# linkcheckerrc(5)): the test server sends it.
UNTHROTTLED = {"LinkChecker": "local test server"}


def crawl(site: Path, prefix: str, workdir: Path) -> Crawl:
    """Serve ``site`` under ``prefix`` on 127.0.0.1 and check every link from its front page."""
    assert LINKCHECKER.is_file(), f"{LINKCHECKER} is missing: it is pinned in requirements.txt"
    with _serve.serve(site, prefix, headers=UNTHROTTLED) as start:
        origin = start.removesuffix(prefix) + "/"
        # The whole local server is internal, so a link that escapes the sub-path is fetched
        # (and fails); any other URL is external, and external URLs are only syntax-checked
        # (no --check-extern). Anchors are checked by the AnchorCheck plugin, which a
        # configuration file section enables. The report goes to stdout. With
        # AnchorCheck every URL#anchor is fetched on its own; not following the links of
        # those copies (--no-follow-url "#") saves looking for the page's links once per
        # anchor and checks the same URLs, because each page is also reached by a link without an
        # anchor (the table of contents; the test asserts it for every page of _toc.yml).
        config = workdir / "linkcheckerrc"
        config.write_text(
            "[checking]\nmaxrequestspersecond=1000\nrobotstxt=0\n"
            f"[filtering]\ninternlinks=^{re.escape(origin)}\n"
            "[AnchorCheck]\n"
        )
        began = time.monotonic()
        proc = subprocess.run(
            [
                sys.executable,
                str(RUN_LINKCHECKER),
                "--config",
                str(config),
                "--output",
                "xml",
                "--verbose",
                "--no-status",
                "--threads",
                "2",
                "--no-follow-url",
                "#",
                start,
            ],
            capture_output=True,
            text=True,
            timeout=900,
        )
        seconds = time.monotonic() - began
    assert proc.returncode in (0, 1), proc.stderr[-3000:]  # 1: errors or warnings found
    checked = []
    for node in ET.fromstring(proc.stdout).iter("urldata"):
        valid = node.find("valid")
        checked.append(
            Checked(
                url=node.findtext("url", ""),
                real=node.findtext("realurl", ""),
                parent=node.findtext("parent", ""),
                valid=valid.text == "1",
                result=valid.get("result", ""),
                warnings=[w.text or "" for w in node.iter("warning")],
            )
        )
    return Crawl(start, origin, checked, seconds)


def _page(body: str, title: str = "page") -> str:
    return f"<!DOCTYPE html><html><head><title>{title}</title></head><body>{body}</body></html>"


def test_the_crawl_finds_broken_links_missing_anchors_and_escapes_from_the_sub_path(tmp_path):
    site = tmp_path / "site"
    (site / "book").mkdir(parents=True)
    (site / "index.html").write_text(
        _page(
            '<a href="book/a.html#here">fine</a> <a href="book/a.html#nowhere">no anchor</a> '
            '<a href="book/gone.html">no page</a> <a href="/book/a.html">outside /repo/</a> '
            '<a href="https://example.invalid/x">external, never fetched</a>'
        )
    )
    (site / "book" / "a.html").write_text(_page('<h1 id="here">A</h1><a href="../">up</a>'))
    found = crawl(site, "/repo/", tmp_path)
    assert found.pages() == {"index.html", "book/a.html"}
    assert sorted(b.split(" (in ")[0] for b in found.broken()) == [
        found.start.removesuffix("/repo/") + "/book/a.html",
        found.start + "book/gone.html",
    ]
    assert [m.split(" (in ")[0] for m in found.missing_anchors()] == [
        found.start + "book/a.html#nowhere"
    ]
    assert {c.result for c in found.checked if "example.invalid" in c.real} == {"filtered"}


@pytest.mark.book
def test_the_site_under_its_pages_sub_path_has_no_broken_link_or_anchor(built_book, tmp_path):
    if built_book.returncode != 0:
        pytest.fail("the book did not build; see test_book_builds_without_warnings")
    prefix = urlsplit(pages_url(_config()["repository"]["url"])).path
    found = crawl(built_book.html, prefix, tmp_path)
    local = found.local()
    off_machine = [c.real for c in local if not c.real.startswith(found.origin)]
    anchors = [c for c in local if urldefrag(c.real).fragment]
    print(
        f"\ncrawl of {found.start}: {len(found.pages())} pages, {len(found.checked)} URLs "
        f"({len(local)} fetched, {len(found.checked) - len(local)} external or data: URLs "
        f"syntax-checked only), {len(anchors)} anchors, {found.seconds:.1f} s"
    )
    assert not off_machine, f"fetched from elsewhere than {found.origin}: {off_machine[:10]}"
    assert not found.broken(), "broken links:\n" + "\n".join(found.broken())
    assert not found.missing_anchors(), "missing anchors:\n" + "\n".join(found.missing_anchors())
    unreached = _toc_pages() - found.pages()
    assert not unreached, f"pages of _toc.yml not reached from the front page: {unreached}"
    assert anchors, "no anchor was checked: is the AnchorCheck plugin enabled?"
