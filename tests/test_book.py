"""The book builds with zero warnings, and a real browser finds every page working offline."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from _browser import guarded_page

M1_M2_PAGE = "book/claims/m1_m2.html"
M1_M2_NOTEBOOK = "notebooks/m1_m2_small_vs_large_init"


@pytest.mark.book
def test_book_builds_without_warnings(built_book):
    tail = "\n".join(built_book.log.splitlines()[-40:])
    assert built_book.returncode == 0, f"jupyter-book build failed:\n{tail}"
    lines = built_book.log.splitlines()
    warnings = [line for line in lines if re.search(r"(WARNING|ERROR):", line)]
    assert not warnings, "the build printed warnings:\n" + "\n".join(warnings)
    # Kernels run with manager-provisioned CurveZMQ keys (matrix_sensing.kernel_settings):
    # ipykernel's once-per-notebook warning about plain-text TCP must not reach the reader.
    assert "without encryption" not in built_book.log
    assert (built_book.html / "index.html").is_file()


@pytest.mark.book
def test_the_front_page_forwards_to_the_first_page_with_the_books_icon(built_book):
    front = (built_book.html / "index.html").read_text(encoding="utf-8")
    assert '<meta http-equiv="Refresh" content="0; url=book/intro.html">' in front
    assert '<a href="book/intro.html">' in front
    assert '<link rel="icon" href="_static/favicon.svg">' in front
    assert (built_book.html / "_static" / "favicon.svg").is_file()


@pytest.mark.book
def test_book_serves_mathjax_locally(built_book):
    assert (built_book.html / "_static" / "mathjax" / "tex-mml-chtml.js").is_file()
    # (test_offline_and_stale.py scans every page for anything loaded from elsewhere.)


def _pages(html: Path) -> list[str]:
    skip = ("_static", "_sources", "_images", "_sphinx_design_static")
    return sorted(
        str(p.relative_to(html))
        for p in html.rglob("*.html")
        if not any(part in skip for part in p.relative_to(html).parts)
    )


@pytest.mark.browser
def test_every_page_renders_offline(built_book, site, browser):
    pages = _pages(built_book.html)
    assert "index.html" in pages and M1_M2_PAGE in pages, pages
    problems: list[str] = []
    # One tab visits every page, as a reader follows links: it keeps its renderer process and
    # the cache of the book's shared scripts and styles from page to page.
    found: list[str] = []
    page = guarded_page(browser, site, found)
    for page_path in pages:
        # A page that forwards (the front page's meta refresh) is read once it has arrived.
        forwards = 'http-equiv="refresh"' in (built_book.html / page_path).read_text().lower()
        wait = "networkidle" if forwards else "load"
        _visit(page, f"{site}/{page_path}", wait, found)
        problems += [f"{page_path}: {p}" for p in found]
        found.clear()
    page.close()
    assert not problems, "\n".join(problems)


@pytest.mark.browser
def test_a_request_for_another_machine_is_reported_and_goes_nowhere(browser, tmp_path):
    """The harness above can fail: a page that loads an image from another machine is
    reported (the request goes to the browser's refusing proxy, not to the network)."""
    from _serve import serve

    (tmp_path / "page.html").write_text(
        '<html><body><img src="http://example.invalid/figure.png"></body></html>'
    )
    with serve(tmp_path) as url:
        problems, failures = [], []
        page = guarded_page(browser, url, problems)
        page.on("requestfailed", lambda r: failures.append((r.url, r.failure)))
        _visit(page, f"{url}page.html", "load", problems)
        page.close()
    assert failures == [("http://example.invalid/figure.png", "net::ERR_PROXY_CONNECTION_FAILED")]
    assert "request leaves the machine: http://example.invalid/figure.png" in problems
    assert "image not loaded: http://example.invalid/figure.png" in problems


@pytest.mark.browser
def test_glued_numbers_are_on_the_claim_page(built_book, site, browser):
    glue = json.loads((built_book.execute_dir / f"{M1_M2_NOTEBOOK}.glue.json").read_text())
    page = browser.new_page()
    page.goto(f"{site}/{M1_M2_PAGE}", wait_until="networkidle")
    text = page.inner_text("article")
    page.close()
    for key in ("m1_verdict", "m2_verdict"):
        line = glue[key]["data"]["text/plain"].strip("'\"")
        assert line in text, f"glued {key} ({line!r}) is not on the page"
    assert "M1 PASS (5/5 seeds)" in text
    worst = float(glue["m1_test_error_worst"]["data"]["text/plain"])
    assert f"{worst:.1e}" in text, f"glued m1_test_error_worst {worst:.1e} is not on the page"


def _visit(page, url: str, wait: str, problems: list[str]) -> None:
    """Open ``url`` in ``page`` (a :func:`guarded_page`) and add to ``problems`` what does not
    render: images that did not load, math MathJax left as TeX."""
    # "load" waits for the page's scripts, styles and images; MathJax is awaited below.
    # ("networkidle" waits half a second more per page, for nothing this test reads, except
    # on a page that forwards to another.)
    page.goto(url, wait_until=wait)
    broken = page.evaluate(
        "() => [...document.images].filter(i => !(i.complete && i.naturalWidth > 0))"
        ".map(i => i.src)"
    )
    problems += [f"image not loaded: {src}" for src in broken]
    if page.locator(".math").count():
        page.wait_for_function(
            "() => window.MathJax && MathJax.startup && MathJax.startup.promise", timeout=20000
        )
        page.evaluate("() => MathJax.startup.promise")
        raw = page.evaluate(
            "() => [...document.querySelectorAll('.math')]"
            ".filter(e => !e.querySelector('mjx-container') && !e.closest('mjx-container'))"
            ".map(e => e.textContent.slice(0, 60))"
        )
        problems += [f"math not rendered: {tex!r}" for tex in raw]
    text = page.inner_text("body")
    for marker in ("\\(", "\\[", "$$"):
        if marker in text:
            problems.append(f"raw TeX {marker!r} left in the page text")


@pytest.mark.book
def test_scoreboard_has_a_computed_row_per_claim(built_book):
    """Each registered claim has a row whose verdict is the one its notebook recorded."""
    import ast
    import html as html_lib

    from matrix_sensing import claims

    recorded = {}
    for glue_file in built_book.execute_dir.rglob("*.glue.json"):
        glue = json.loads(glue_file.read_text())
        if "claims_record" in glue:
            record = json.loads(ast.literal_eval(glue["claims_record"]["data"]["text/plain"]))
            recorded.update({v["id"]: v for v in record["verdicts"]})
    page = (built_book.html / "book" / "scoreboard.html").read_text(encoding="utf-8")
    rows = re.findall(r"<tr[^>]*>(.*?)</tr>", page, flags=re.S)
    text_rows = [html_lib.unescape(re.sub(r"<[^>]+>", " ", row)) for row in rows[1:]]
    # The registered claims in order, with the qualitative M11 row right after M10.
    expected_ids = [c for cid in claims.ids() for c in ((cid, "M11") if cid == "M10" else (cid,))]
    assert len(text_rows) == len(expected_ids)
    for claim_id, raw, row in zip(expected_ids, rows[1:], text_rows, strict=True):
        words = row.split()
        assert words[0].rstrip(":") == claim_id, row
        if claim_id == "M11":
            # A description with links to the three figures, never a verdict or a number.
            assert "qualitative" in words and "PASS" not in words and "FAIL" not in words, row
            links = re.findall(r'href="([^"]+)"', raw)
            for target in (
                "m5_m7.html#fig-m5-m7-phases",
                "m3_m4.html#fig-m3",
                "m10.html#fig-m10-error",
            ):
                assert any(link.endswith(target) for link in links), (target, links)
        elif claim_id in recorded:
            expected = "PASS" if recorded[claim_id]["passed"] else "FAIL"
            assert expected in words, row
            seeds = recorded[claim_id]
            assert f"{seeds['seeds_passed']}/{len(seeds['seeds'])}" in words, row
        else:
            assert "not run" in row, row


@pytest.mark.book
def test_a_failing_notebook_fails_the_build(tmp_path):
    """With the project's execution settings, a notebook that raises (as a verdict cell does
    when a claim fails) makes the build fail instead of publishing a stale or broken page."""
    import subprocess
    import sys

    import nbformat
    import yaml
    from _notebook_helpers import tiny_book

    root = Path(__file__).resolve().parents[1]
    config = yaml.safe_load((root / "_config.yml").read_text())
    cells = [
        nbformat.v4.new_markdown_cell("# A claim that fails"),
        nbformat.v4.new_code_cell("raise AssertionError('claim X failed: FAIL line')"),
    ]
    tiny_book(tmp_path, "failing", cells, config)
    jupyter_book = Path(sys.executable).with_name("jupyter-book")
    proc = subprocess.run(
        [str(jupyter_book), "build", str(tmp_path), "-W", "-n", "--keep-going"],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert config["execute"]["execute_notebooks"] == "cache"
    assert proc.returncode != 0
    assert "claim X failed" in proc.stdout + proc.stderr or "Executing notebook failed" in (
        proc.stdout + proc.stderr
    )


@pytest.mark.book
def test_results_archive_holds_every_claim_with_its_provenance(built_book, tmp_path):
    """The build writes claims-results.zip, linked from the scoreboard: one results.json per
    claim notebook, checksummed, whose verdicts are the ones the notebook glued."""
    import ast
    import zipfile

    from matrix_sensing import claims, provenance
    from matrix_sensing.parameters import notebook_values

    archive = built_book.html / "claims-results.zip"
    scoreboard = (built_book.html / "book" / "scoreboard.html").read_text(encoding="utf-8")
    assert 'href="../claims-results.zip"' in scoreboard
    with zipfile.ZipFile(archive) as zf:
        zf.extractall(tmp_path)
        names = sorted(zf.namelist())
    notebooks = sorted({Path(claims.get(c).notebook).stem for c in claims.ids()})
    assert names == [f"{stem}/results.json" for stem in notebooks]
    for stem in notebooks:
        results = provenance.read_json(tmp_path / stem / "results.json")  # checks the sha256
        glue_file = next(built_book.execute_dir.rglob(f"{stem}.glue.json"))
        glue = json.loads(glue_file.read_text())
        record = json.loads(ast.literal_eval(glue["claims_record"]["data"]["text/plain"]))
        assert results["verdicts"] == record["verdicts"]
        meta = results["provenance"]
        assert meta["kind"] == "book-build" and meta["name"].endswith(stem)
        assert meta["verdict"] == {v["id"]: v["passed"] for v in record["verdicts"]}
        assert meta["params"] == notebook_values(record["verdicts"][0]["id"], "ci")
        assert meta["environment"]["requirements_sha256"]
