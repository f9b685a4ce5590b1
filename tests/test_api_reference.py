"""The book's API reference (book/api/, generated from the docstrings at build time by
book/_ext/api_reference.py) documents every public name: a name missing from it fails here."""

from __future__ import annotations

import html
import importlib
import inspect
import pkgutil
import re
from pathlib import Path

import pytest

import matrix_sensing
from matrix_sensing import claims, experiments

_ID = re.compile(r'\bid="([^"]+)"')


def _public_functions(module) -> list[str]:
    return [
        name
        for name, obj in vars(module).items()
        if not name.startswith("_")
        and inspect.isfunction(obj)
        and obj.__module__ == module.__name__
    ]


def expected_anchors() -> dict[str, tuple[str, ...]]:
    """Public name -> the anchor ids, any of which documents it. Sphinx gives a module the
    id ``module-<name>`` and any other object its full dotted name."""
    expected: dict[str, tuple[str, ...]] = {}
    for module in (matrix_sensing, claims, experiments):
        for name in module.__all__:
            path = f"{module.__name__}.{name}"
            is_module = inspect.ismodule(getattr(module, name))
            expected[path] = (f"module-{path}",) if is_module else (path,)
    exported = {id(getattr(experiments, name)): name for name in experiments.__all__}
    for info in pkgutil.iter_modules(experiments.__path__):
        if info.name.startswith("_"):
            continue
        submodule = importlib.import_module(f"{experiments.__name__}.{info.name}")
        for name in _public_functions(submodule):
            path = f"{submodule.__name__}.{name}"
            # A function the package re-exports may be documented under the shorter path.
            alias = exported.get(id(getattr(submodule, name)))
            expected[path] = (path, f"{experiments.__name__}.{alias}") if alias else (path,)
    return expected


def _anchors(html_dir: Path) -> set[str]:
    return {
        html.unescape(anchor)
        for page in html_dir.rglob("*.html")
        for anchor in _ID.findall(page.read_text(encoding="utf-8"))
    }


def _require_reference(built_book) -> Path:
    reference = built_book.html / "book" / "api"
    if not (reference / "package.html").is_file():
        pytest.fail(
            f"no API reference in the built book ({reference}/package.html is missing); "
            "see test_book_builds_without_warnings and _build/test-book-build.log"
        )
    return reference


@pytest.mark.book
def test_every_public_name_has_an_entry_in_the_api_reference(built_book):
    _require_reference(built_book)
    expected = expected_anchors()
    # Catches a change of this test that would make it vacuous.
    assert {"matrix_sensing.factorized_gd", "matrix_sensing.claims.check"} <= set(expected)
    assert any(path.startswith("matrix_sensing.experiments.phases.") for path in expected)
    anchors = _anchors(built_book.html)
    missing = sorted(path for path, ids in expected.items() if not anchors.intersection(ids))
    assert not missing, (
        f"{len(missing)} of {len(expected)} public names have no entry in the API reference "
        f"(no element with one of the ids expected for them): {missing}"
    )


@pytest.mark.book
def test_api_entries_show_the_signature(built_book):
    """Each exported function's entry names all its parameters in the signature line."""
    reference = _require_reference(built_book)
    page = (reference / "package.html").read_text(encoding="utf-8")
    functions = [
        name for name in matrix_sensing.__all__ if inspect.isfunction(getattr(matrix_sensing, name))
    ]
    assert functions
    for name in functions:
        entry = re.search(rf'<dt[^>]*\bid="matrix_sensing\.{name}".*?</dt>', page, re.S)
        assert entry, f"no entry for matrix_sensing.{name} on {reference / 'package.html'}"
        text = html.unescape(re.sub(r"<[^>]+>", "", entry.group(0)))
        parameters = inspect.signature(getattr(matrix_sensing, name)).parameters
        absent = [p for p in parameters if not re.search(rf"\b{re.escape(p)}\b", text)]
        assert not absent, f"the signature of matrix_sensing.{name} lacks {absent}: {text!r}"


@pytest.mark.book
def test_api_reference_writes_nothing_into_the_sources(built_book):
    """The entries are generated into the build, not as stub files beside the pages, so a
    build leaves the working tree as it was."""
    _require_reference(built_book)
    checkout = built_book.html.parents[1]  # the tree that was built: <checkout>/_build/html
    pages = checkout / "book" / "api"
    assert pages.is_dir(), f"no {pages}: is the built tree at {checkout}?"
    written = sorted(
        str(path.relative_to(checkout))
        for path in pages.rglob("*")
        if path.is_file() and path.suffix != ".md"
    )
    assert not written, f"the book build wrote files among the API pages: {written}"
