"""The commands and Python snippets of the book's other pages (the claim pages' "How to
rerun", the phase-transition page), checked through the program that would run them, up to
the point where the computation starts.

README.md and the Reproduce page are run as written (tests/test_documented_commands.py).
The other pages show variants of the same few commands, one claim and one parameter at a
time; running them all would compute every claim several times over, for the kinds of
command that the Reproduce page's runs already cover. Here each one goes through the real
parsers instead:

- ``.venv/bin/python -m matrix_sensing run|sweep ...``: the package's command line, in
  this process, until it starts the notebook (papermill) or the sweep, which are stopped
  there: the claim, the options and every ``-p`` value are accepted, and the notebook or
  sweep started is the one the command names;
- ``.venv/bin/papermill NOTEBOOK OUT ...``: papermill's own command line, until it would
  execute: the notebook and parameter file exist, and every parameter is one of the
  notebook's ``parameters`` cell with a value its declaration accepts;
- ``make book``: the README's book command;
- the Python snippets: they compile, and each call of ``claims.<function>("ID", ...)``
  names a registered claim and only parameters of its experiment.
"""

from __future__ import annotations

import ast
import shlex
from pathlib import Path

import papermill
import pytest
from _documents import PAGES, blocks, documented_commands
from conftest import BOOK_COMMAND

from matrix_sensing import claims, sweep
from matrix_sensing.cli import main
from matrix_sensing.parameters import claim_parameters, notebook_values

ROOT = Path(__file__).resolve().parents[1]
COMMANDS = documented_commands(PAGES)
PYTHON = ".venv/bin/python"
PAPERMILL = ".venv/bin/papermill"


class Started(Exception):
    """The computation was about to start: what it was given."""


def _stop(*args, **kwargs):
    raise Started(args, kwargs)


def test_the_pages_show_the_commands_this_test_knows():
    kinds = {c.words[0] for c in COMMANDS}
    assert kinds == {PYTHON, PAPERMILL, "make"}, kinds
    assert any("sweep" in c.words for c in COMMANDS)
    assert len({c.where.split(":")[0] for c in COMMANDS}) >= 15


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: c.where)
def test_page_command_is_accepted(command, monkeypatch, tmp_path):
    words = command.words
    if words[0] == "make":
        assert words == BOOK_COMMAND
    elif words[0] == PYTHON:
        _check_package_command(words, monkeypatch, tmp_path)
    else:
        _check_papermill_command(words, monkeypatch, tmp_path)


def _check_package_command(words, monkeypatch, tmp_path):
    assert words[1:3] == ("-m", "matrix_sensing"), shlex.join(words)
    monkeypatch.setattr(papermill, "execute_notebook", _stop)
    monkeypatch.setattr(sweep, "run_sweep", _stop)
    monkeypatch.chdir(tmp_path)  # where a relative --out lands
    with pytest.raises(Started) as started:
        main(list(words[3:]))
    args, kwargs = started.value.args
    if words[3] == "sweep":
        assert args[0] == words[4]
        assert kwargs["scheduler"] == _option(words, "--scheduler")
        return
    assert words[3] == "run"
    claim = claims.get(words[4])
    assert Path(args[0]).name == Path(claim.notebook).name
    specs = _specs(claim.notebook)
    scale = _option(words, "--scale") or "ci"
    # The values the notebook gets: the scale's (its parameters cell holds the CI ones), and
    # each -p in its place.
    expected = notebook_values(claim.id, scale) if scale == "paper" else {}
    expected |= {name: specs[name].parse(text) for name, text in _pairs(words, "-p")}
    assert {name: kwargs["parameters"][name] for name in expected} == expected


def _check_papermill_command(words, monkeypatch, tmp_path):
    from papermill import cli

    notebook = ROOT / words[1]
    assert notebook.is_file(), words[1]
    monkeypatch.setattr(cli, "execute_notebook", _stop)
    monkeypatch.chdir(ROOT)  # the paths are the repository's
    with pytest.raises(Started) as started:
        cli.papermill.main(
            [*words[1:2], str(tmp_path / "out.ipynb"), *words[3:]], standalone_mode=False
        )
    parameters = started.value.args[1]["parameters"]
    declared = papermill.inspect_notebook(str(notebook))
    specs = _specs(words[1])
    for name, value in parameters.items():
        assert name in declared, f"{words[1]} has no parameter {name}"
        if name in specs:
            specs[name].validate(value)


def _pairs(words, flag):
    return [(words[i + 1], words[i + 2]) for i, w in enumerate(words[:-2]) if w == flag]


def _option(words, flag):
    return words[words.index(flag) + 1] if flag in words else None


def _specs(notebook: str) -> dict:
    """The declared parameters of the claims a notebook shows (none for a showcase)."""
    name = Path(notebook).name
    owners = [cid for cid in claims.ids() if Path(claims.get(cid).notebook).name == name]
    return {p.name: p for p in claim_parameters(owners[0])} if owners else {}


SNIPPETS = [
    (f"{page}:{line}", body) for page in PAGES for line, body in blocks(ROOT / page, "python")
]


def test_the_pages_show_python_snippets():
    assert len(SNIPPETS) >= 10


@pytest.mark.parametrize(("where", "body"), SNIPPETS, ids=[w for w, _ in SNIPPETS])
def test_page_snippet_names_registered_claims_and_their_parameters(where, body):
    tree = compile(body, where, "exec", ast.PyCF_ONLY_AST)
    for call in ast.walk(tree):
        if not (
            isinstance(call, ast.Call)
            and isinstance(call.func, ast.Attribute)
            and isinstance(call.func.value, ast.Name)
            and call.func.value.id == "claims"
            and call.args
            and isinstance(call.args[0], ast.Constant)
        ):
            continue
        claim_id = call.args[0].value
        assert claim_id in claims.ids(), f"{where}: {claim_id!r} is not a registered claim"
        known = set(claims.get(claim_id).params("ci")) | {"seed", "scale"}
        for keyword in call.keywords:
            assert keyword.arg in known, f"{where}: {claim_id} has no parameter {keyword.arg}"
