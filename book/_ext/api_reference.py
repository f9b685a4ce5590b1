"""The API reference, generated at build time from the package's docstrings.

``.. api-members:: matrix_sensing`` (inside an ``{eval-rst}`` block of a MyST page, since
autodoc emits reStructuredText) documents a module and every name of its ``__all__``: an
autosummary table, then one autodoc entry per name. ``__all__`` is the single source of
truth, so nothing is generated on disk and a name added to it appears in the book at the
next build. A module without ``__all__`` contributes the functions, classes and constants
it defines (not those it imports) whose names do not start with an underscore. With
``:submodules:``, every public submodule gets a section of its own. An object that a
parent package exports is documented once, under the package, and linked from its module.

A name of ``__all__`` that is itself a module (``matrix_sensing.claims``) is listed in the
table and documented on its own page; if no page documents it, the link in the table is a
nitpicky warning and fails the build.

Functions are documented under their public path (``matrix_sensing.factorized_gd``) with the
path where they are defined (``matrix_sensing.factorized_gd``) as the canonical name,
as autodoc already does for classes, and a reference through any module that imports an
object resolves to the object's entry, so that docstrings and type hints may use any path.

Two adaptations keep the build free of warnings (it runs with -W -n): the package's
numpy-style fields (``name : description``, no type) are handed to napoleon as
descriptions, and autosummary's one-line summaries never stop inside inline markup.
"""

from __future__ import annotations

import ast
import dataclasses
import importlib
import inspect
import pkgutil
import re
import sys
from types import ModuleType
from typing import ClassVar

from docutils import nodes
from docutils.parsers.rst import directives
from docutils.parsers.rst.states import RSTStateMachine, state_classes
from docutils.statemachine import StringList
from docutils.utils import new_document
from sphinx.ext.autodoc import FunctionDocumenter
from sphinx.ext.autosummary import (
    WELL_KNOWN_ABBREVIATIONS,
    Autosummary,
    import_by_name,
    periods_re,
)
from sphinx.util.docutils import NullReporter, SphinxDirective
from sphinx.util.nodes import nested_parse_with_titles


def public_names(module: ModuleType) -> list[str]:
    """The names a module documents: ``__all__`` in its order, else the functions, classes
    and constants it defines at top level (imports excluded) without a leading underscore,
    in source order."""
    if hasattr(module, "__all__"):
        return list(module.__all__)
    names = []
    for node in ast.parse(inspect.getsource(module)).body:
        if isinstance(node, ast.FunctionDef | ast.ClassDef):
            targets = [node.name]
        elif isinstance(node, ast.Assign | ast.AnnAssign):
            assigned = node.targets if isinstance(node, ast.Assign) else [node.target]
            targets = [target.id for target in assigned if isinstance(target, ast.Name)]
        else:
            continue
        names += [name for name in targets if not name.startswith("_") and name not in names]
    return names


def exported_by_parents(module: ModuleType) -> dict[int, str]:
    """``id(obj)`` -> public path, for the functions and classes that a parent package of
    ``module`` exports in its ``__all__``: each is documented once, under the shortest path."""
    exported: dict[int, str] = {}
    parts = module.__name__.split(".")
    for depth in range(len(parts) - 1, 0, -1):
        parent = sys.modules[".".join(parts[:depth])]
        for name in getattr(parent, "__all__", ()):
            obj = getattr(parent, name)
            if inspect.isclass(obj) or inspect.isroutine(obj):
                exported[id(obj)] = f"{parent.__name__}.{name}"
    return exported


def public_submodules(package: ModuleType) -> list[ModuleType]:
    path = getattr(package, "__path__", None)
    if path is None:
        raise ValueError(f"{package.__name__} is not a package: it has no submodules")
    return [
        importlib.import_module(f"{package.__name__}.{info.name}")
        for info in sorted(pkgutil.iter_modules(path), key=lambda info: info.name)
        if not info.name.startswith("_")
    ]


def _autodoc_directive(obj) -> tuple[str, list[str]]:
    if inspect.isclass(obj) and issubclass(obj, BaseException):
        return "autoexception", []
    if inspect.isclass(obj):
        return "autoclass", [":members:"]
    if inspect.isroutine(obj):
        return "autofunction", []
    return "autodata", []


def module_rst(module: ModuleType) -> list[str]:
    """reStructuredText for ``module``: its docstring, a summary table of its public names
    and an autodoc entry per name; what a parent package exports is linked, not repeated."""
    skip = exported_by_parents(module)
    names = public_names(module)
    lines = [f".. automodule:: {module.__name__}", ""]
    if not names:
        return lines
    lines += [".. autosummary::", "   :nosignatures:", ""]
    lines += [f"   {name}" for name in names]  # automodule made it the current module
    lines.append("")
    elsewhere = []
    for name in names:
        obj = getattr(module, name)
        if isinstance(obj, ModuleType):
            continue  # documented on its own page; the table links there
        if id(obj) in skip:
            elsewhere.append(f":py:obj:`{skip[id(obj)]}`")
            continue
        directive, options = _autodoc_directive(obj)
        lines.append(f".. {directive}:: {module.__name__}.{name}")
        lines += [f"   {option}" for option in options]
        lines.append("")
    if elsewhere:
        lines += [f"Documented with the package: {', '.join(elsewhere)}.", ""]
    return lines


def _submodules_option(value: str | None) -> str:
    return directives.choice(value or "", ("", "only"))


class ApiMembers(SphinxDirective):
    """``.. api-members:: module``; ``:submodules:`` adds a section per public submodule
    that the module does not export (an exported module has a page of its own), and
    ``:submodules: only`` leaves out the module itself."""

    required_arguments = 1
    option_spec: ClassVar = {"submodules": _submodules_option}

    def _parse(self, module: ModuleType, lines: list[str], parent: nodes.Element) -> None:
        for name in public_names(module):
            defined_in = getattr(getattr(module, name), "__module__", None) or module.__name__
            source = getattr(sys.modules.get(defined_in), "__file__", None)
            self._sources.update(s for s in (source, module.__file__) if s)
        content = StringList(lines, source=f"<api-members {module.__name__}>")
        nested_parse_with_titles(self.state, content, parent)

    def run(self) -> list[nodes.Node]:
        try:
            module = importlib.import_module(self.arguments[0])
        except ImportError as error:
            message = f"api-members: cannot import {self.arguments[0]!r}: {error}"
            raise self.error(message) from error
        self._sources: set[str] = set()
        result: list[nodes.Node] = []
        if self.options.get("submodules") != "only":
            container = nodes.container(classes=["api-members"])
            self._parse(module, module_rst(module), container)
            result.append(container)
        if "submodules" in self.options:
            exported = {id(getattr(module, name)) for name in public_names(module)}
            for submodule in public_submodules(module):
                if id(submodule) in exported:
                    continue
                anchor = nodes.make_id(f"api-{submodule.__name__}")
                section = nodes.section(ids=[anchor], names=[anchor])
                # The short name: the page names the package, and the page's table of
                # contents has no room for the full path.
                short = submodule.__name__.rpartition(".")[2]
                section += nodes.title("", "", nodes.literal(text=short))
                self._parse(submodule, module_rst(submodule), section)
                result.append(section)
        # Sphinx re-reads a page only when its source changes; the entries follow src/.
        for source in sorted(self._sources):
            self.env.note_dependency(source)
        return result


# A field line of a numpy-style section: "name : text" or "U0, V0 : text".
_FIELD = re.compile(r"^(?P<indent> *)(?P<names>\*{0,2}\w+(?:, \*{0,2}\w+)*) : (?P<text>.*)$")
_FIELD_SECTIONS = ("parameters", "other parameters", "keyword arguments", "attributes")


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" "))


def fields_as_descriptions(app, what, name, obj, options, lines: list[str]) -> None:
    """This package's docstrings write numpy-style fields as ``name : description`` (no
    type) and may continue with prose after a single blank line. Napoleon would read the
    description as a type (a cross-reference per word under nitpicky) and the prose as more
    fields; here the description moves to the indented line napoleon expects, and the
    section is closed (two blank lines) before prose that follows it."""
    result: list[str] = []
    section_indent = None
    index = 0
    while index < len(lines):
        line = lines[index]
        underline = lines[index + 1] if index + 1 < len(lines) else ""
        if line.strip().lower() in _FIELD_SECTIONS and set(underline.strip()) == {"-"}:
            section_indent = _indent(line)
            result += [line, underline]
            index += 2
            continue
        if section_indent is not None:
            field = _FIELD.match(line)
            if field and len(field["indent"]) == section_indent:
                result.append(f"{field['indent']}{field['names']}")
                if field["text"].strip():
                    result.append(f"{field['indent']}    {field['text'].strip()}")
                index += 1
                continue
            if not line.strip():
                following = next((x for x in lines[index + 1 :] if x.strip()), None)
                ends = following is None or (
                    _indent(following) <= section_indent and not _FIELD.match(following)
                )
                if ends:
                    result += ["", ""]
                    section_indent = None
                    index += 1
                    continue
        result.append(line)
        index += 1
    lines[:] = result


def drop_docstring_of_type(app, what, name, obj, options, lines: list[str]) -> None:
    """A constant without a doc comment would show the docstring of its type (``int([x]) ->
    integer`` for ``ESCAPE_CHUNK = 20``); it shows none."""
    type_doc = getattr(type(obj), "__doc__", None)
    if what not in ("data", "attribute") or not isinstance(type_doc, str):
        return
    if [line.strip() for line in lines if line.strip()] == [
        line.strip() for line in inspect.cleandoc(type_doc).splitlines() if line.strip()
    ]:
        lines[:] = []


def dataclass_factory_defaults(app, what, name, obj, options, signature, return_annotation):
    """A dataclass field with a ``default_factory`` appears in the signature as
    ``= <factory>``, which Sphinx cannot parse (the whole signature then shows as raw
    text); it appears as the call that makes the default, ``= dict()``."""
    if what != "class" or not signature or not dataclasses.is_dataclass(obj):
        return None
    for field in dataclasses.fields(obj):
        if field.init and field.default_factory is not dataclasses.MISSING:
            factory = getattr(field.default_factory, "__qualname__", "")
            call = f"{factory}()" if factory.isidentifier() else "..."
            signature = signature.replace("<factory>", call, 1)
    return signature, return_annotation


def _parses_cleanly(text: str, document) -> bool:
    machine = RSTStateMachine(state_classes, "Body")
    tree = new_document("", document.settings)
    tree.reporter = NullReporter()
    machine.run([text], tree)
    return not any(tree.findall(nodes.system_message))


def first_sentence(paragraph: str, document) -> str:
    """The first sentence of ``paragraph`` that does not end inside inline markup."""
    sentences = periods_re.split(paragraph)
    for count in range(1, len(sentences) + 1):
        summary = ". ".join(sentences[:count]).rstrip(".") + "."
        if not summary.endswith(WELL_KNOWN_ABBREVIATIONS) and _parses_cleanly(summary, document):
            return summary
    return paragraph


class ApiSummary(Autosummary):
    """autosummary, with summaries that never stop inside a literal. Sphinx 7.4 cuts the
    first sentence at a period followed by a space and checks the markup of the whole
    paragraph instead of the cut, so ``sigma_1 >= ... >= sigma_r`` became an unterminated
    literal (a warning, hence a failed build under -W)."""

    def get_items(self, names: list[str]) -> list[tuple[str, str, str, str]]:
        items = []
        for display_name, sig, summary, real_name in super().get_items(names):
            if summary and not _parses_cleanly(summary, self.state.document):
                obj = import_by_name(real_name)[1]
                paragraph = " ".join(inspect.getdoc(obj).split("\n\n")[0].split())
                summary = first_sentence(paragraph, self.state.document)
            items.append((display_name, sig, summary, real_name))
        return items


def _loaded_object(path: str):
    """The object at a dotted path, looked up from the longest prefix that is an already
    imported module (nothing is imported), or None."""
    parts = path.split(".")
    for depth in range(len(parts), 0, -1):
        obj = sys.modules.get(".".join(parts[:depth]))
        if obj is not None:
            for part in parts[depth:]:
                obj = getattr(obj, part, None)
            return obj
    return None


def resolve_alias(app, env, node, contnode):
    """A reference to an object through a module that imports it
    (``matrix_sensing.DivergenceError``) resolves to the object's entry, found under the
    path where it is defined (its canonical name)."""
    if node.get("refdomain") != "py":
        return None
    target = node.get("reftarget", "")
    current = node.get("py:module")
    for candidate in (target, f"{current}.{target}" if current else None):
        obj = _loaded_object(candidate) if candidate else None
        defined_in = getattr(obj, "__module__", None)
        qualname = getattr(obj, "__qualname__", None)
        if isinstance(defined_in, str) and isinstance(qualname, str):
            break
    else:
        return None
    canonical = f"{defined_in}.{qualname}"
    if canonical == target:
        return None
    return env.get_domain("py").resolve_xref(
        env, node["refdoc"], app.builder, node["reftype"], canonical, node, contnode
    )


class CanonicalFunctionDocumenter(FunctionDocumenter):
    """A function documented under a re-exported path names its defining path as
    ``:canonical:``, as autodoc's ClassDocumenter does for classes."""

    def add_directive_header(self, sig: str) -> None:
        super().add_directive_header(sig)
        module = getattr(self.object, "__module__", None)
        qualname = getattr(self.object, "__qualname__", "")
        canonical = f"{module}.{qualname}"
        if module and qualname and "<locals>" not in qualname and canonical != self.fullname:
            self.add_line(f"   :canonical: {canonical}", self.get_sourcename())


def _ignore_entries_as_tuples(app, config) -> None:
    # Sphinx compares (type, target) tuples with the entries; _config.yml gives lists.
    config.nitpick_ignore = [tuple(entry) for entry in config.nitpick_ignore]
    config.nitpick_ignore_regex = [tuple(entry) for entry in config.nitpick_ignore_regex]


def setup(app):
    app.setup_extension("sphinx.ext.autodoc")
    app.setup_extension("sphinx.ext.autosummary")
    app.setup_extension("sphinx.ext.napoleon")
    app.connect("config-inited", _ignore_entries_as_tuples)
    app.add_directive("api-members", ApiMembers)
    app.add_directive("autosummary", ApiSummary, override=True)
    app.connect("missing-reference", resolve_alias)
    # Before napoleon (priority 500), which turns the sections into field lists.
    app.connect("autodoc-process-docstring", fields_as_descriptions, priority=400)
    app.connect("autodoc-process-docstring", drop_docstring_of_type, priority=400)
    app.connect("autodoc-process-signature", dataclass_factory_defaults)
    app.add_autodocumenter(CanonicalFunctionDocumenter, override=True)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
