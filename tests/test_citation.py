"""Licence and citation metadata: CITATION.cff is valid (checked offline by cffconvert) and
agrees with pyproject.toml, _config.yml, book/references.bib and the "How to cite" page."""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
import yaml
from _offline import offline_prefix
from markdown_it import MarkdownIt
from myst_parser.parsers.options import options_to_items
from pybtex.database import parse_file, parse_string
from pybtex.richtext import Text
from sphinx.directives.code import LiteralIncludeReader

ROOT = Path(__file__).resolve().parents[1]
CFFCONVERT = Path(sys.executable).parent.parent / "cffconvert" / "bin" / "cffconvert"
CITE_PAGE = ROOT / "book" / "cite.md"
BIBLIOGRAPHY = ROOT / "book" / "references.bib"
PAPER = "soltanolkotabi2023implicit"
JOURNAL_VERSION = "soltanolkotabi2025implicit"
CC_BY = "https://creativecommons.org/licenses/by/4.0/"


def _citation() -> dict:
    return yaml.safe_load((ROOT / "CITATION.cff").read_text(encoding="utf-8"))


def _config() -> dict:
    return yaml.safe_load((ROOT / "_config.yml").read_text(encoding="utf-8"))


def _project() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]


def _plain(latex: str) -> str:
    """A BibTeX field as a reader sees it: braces and accents resolved, spaces collapsed."""
    return " ".join(Text.from_latex(latex).render_as("text").split())


def _fences(name: str) -> list[tuple[str, str]]:
    """(argument, content) of each fenced block of ``name`` ("bibtex", "{literalinclude}")."""
    tokens = MarkdownIt().parse(CITE_PAGE.read_text(encoding="utf-8"))
    return [
        (t.info.strip().removeprefix(name).strip(), t.content)
        for t in tokens
        if t.type == "fence" and t.info.split(maxsplit=1)[:1] == [name]
    ]


def _source_entry(bib_text: str, key: str) -> str:
    """The text of the entry ``key`` in a .bib file, from "@" to its closing brace."""
    start = re.search(rf"^@\w+\{{{re.escape(key)},", bib_text, re.M)
    assert start, f"no entry {key} in the bibliography"
    depth = 0
    for end in range(start.start(), len(bib_text)):
        depth += {"{": 1, "}": -1}.get(bib_text[end], 0)
        if depth == 0 and bib_text[end] == "}":
            return bib_text[start.start() : end + 1]
    raise AssertionError(f"the entry {key} is not closed")


def test_citation_file_is_valid_and_validated_offline():
    assert CFFCONVERT.is_file(), f"{CFFCONVERT} is missing: the Makefile's env target makes it"
    # cffconvert bundles the CFF schemas; run it with no network where a namespace can be
    # made, so a validator that fetched its schema would fail here.
    prefix, _ = offline_prefix()
    command = [*(prefix or ()), str(CFFCONVERT), "--validate", "-i", str(ROOT / "CITATION.cff")]
    proc = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "valid according to schema version 1.2.0" in proc.stdout


def test_the_validator_rejects_a_broken_citation_file(tmp_path):
    broken = tmp_path / "CITATION.cff"
    broken.write_text(
        (ROOT / "CITATION.cff").read_text(encoding="utf-8").replace("license: MIT", "license: 7")
    )
    proc = subprocess.run(
        [str(CFFCONVERT), "--validate", "-i", str(broken)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode != 0


def test_citation_file_agrees_with_the_project_and_the_book_configuration():
    citation, config, project = _citation(), _config(), _project()
    assert citation["cff-version"] == "1.2.0"
    assert citation["type"] == "software"
    assert citation["version"] == project["version"]
    assert citation["repository-code"] == config["repository"]["url"]
    assert citation["license"] == project["license"] == "MIT"
    assert citation["title"] == config["title"]
    assert citation["authors"] == [{"name": config["author"]}]


def test_licence_file_is_mit_with_the_book_authors():
    text = (ROOT / "LICENSE").read_text(encoding="utf-8")
    assert text.startswith("MIT License\n")
    config = _config()
    assert f"Copyright (c) {config['copyright']} {config['author']}\n" in text


def test_footer_and_cite_page_give_the_text_licence():
    assert CC_BY in _config()["html"]["extra_footer"]
    assert "CC BY 4.0" in _config()["html"]["extra_footer"]
    page = CITE_PAGE.read_text(encoding="utf-8")
    assert CC_BY in page and "MIT licence" in page


def test_companion_bibtex_on_the_cite_page_agrees_with_the_citation_file():
    citation = _citation()
    ((_, fence),) = _fences("bibtex")
    entries = parse_string(fence, "bibtex").entries
    assert len(entries) == 1
    (entry,) = entries.values()
    assert entry.type == "software"
    assert _plain(entry.fields["title"]) == citation["title"]
    assert entry.fields["version"] == citation["version"]
    assert entry.fields["url"] == citation["repository-code"]
    assert entry.fields["license"] == citation["license"]
    assert entry.fields["year"] == str(citation["date-released"])[:4]
    # One corporate author, braced so that BibTeX does not split it into names.
    assert entry.persons["author"][0].last_names == [f"{{{citation['authors'][0]['name']}}}"]


def test_cite_page_shows_the_bibliography_entries_verbatim():
    """The page includes the paper's entries from references.bib (literalinclude): reading
    its options as Sphinx does gives back each whole entry, character for character."""
    bib_text = BIBLIOGRAPHY.read_text(encoding="utf-8")
    shown = {}
    for argument, content in _fences("{literalinclude}"):
        assert argument == BIBLIOGRAPHY.name, argument
        lines = content.splitlines()
        options = dict(options_to_items("\n".join(x.removeprefix(":") for x in lines))[0])
        config = type("Config", (), {"source_encoding": "utf-8"})()
        text, _ = LiteralIncludeReader(str(BIBLIOGRAPHY), options, config).read()
        key = re.match(r"@\w+\{([^,]+),", text).group(1)
        shown[key] = text
        assert text.rstrip("\n") == _source_entry(bib_text, key)
    assert set(shown) == {PAPER, JOURNAL_VERSION}


def _bib_reference(key: str) -> dict:
    entry = parse_file(str(BIBLIOGRAPHY)).entries[key]
    start, end = entry.fields["pages"].split("--")
    return {
        "title": _plain(entry.fields["title"]),
        "authors": [
            (_plain(" ".join(p.last_names)), " ".join(p.first_names))
            for p in entry.persons["author"]
        ],
        "year": int(entry.fields["year"]),
        "volume": int(entry.fields["volume"]),
        "start": int(start),
        "end": int(end),
    }


def _cff_reference(reference: dict) -> dict:
    return {
        "title": " ".join(reference["title"].split()),
        "authors": [(a["family-names"], a["given-names"]) for a in reference["authors"]],
        **{key: reference[key] for key in ("year", "volume", "start", "end")},
    }


def test_the_paper_in_the_citation_file_matches_the_bibliography():
    paper, journal = _citation()["references"]
    assert paper["type"] == "conference-paper"
    assert _cff_reference(paper) == _bib_reference(PAPER)
    eprint = parse_file(str(BIBLIOGRAPHY)).entries[PAPER].fields["eprint"]
    assert f"https://arxiv.org/abs/{eprint}" in [i["value"] for i in paper["identifiers"]]
    assert journal["type"] == "article"
    assert _cff_reference(journal) == _bib_reference(JOURNAL_VERSION)
    assert journal["doi"] == parse_file(str(BIBLIOGRAPHY)).entries[JOURNAL_VERSION].fields["doi"]


@pytest.mark.book
def test_every_page_carries_the_licence_footer(built_book):
    if built_book.returncode != 0:
        pytest.fail("the book did not build; see test_book_builds_without_warnings")
    pages = [p for p in built_book.html.rglob("*.html") if "_static" not in p.parts]
    assert len(pages) > 10
    redirect = re.compile(r'<meta http-equiv="refresh"', re.I)  # index.html -> first page
    lacking = [
        str(p.relative_to(built_book.html))
        for p in pages
        if f'<a href="{CC_BY}">CC BY 4.0</a>' not in (text := p.read_text(encoding="utf-8"))
        and not redirect.search(text)
    ]
    assert not lacking, f"pages without the licence footer: {lacking}"
