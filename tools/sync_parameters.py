"""Write every claim notebook's ``parameters`` cell and paper-scale file from the declarations
of its experiments, or check that they are up to date.

Usage: python tools/sync_parameters.py [--check]   (``make parameters``)

An experiment declares its parameters once, at the end of its module in
``src/matrix_sensing/experiments/``: type, allowed range, description, CI and paper value.
From the declarations of the experiments of the claims a notebook shows
(``matrix_sensing.parameters.claim_parameters``: their union, a shared name once, a name with
its declaration's suffix) this tool writes the notebook's cell tagged ``parameters`` (the CI
scale, what the notebook runs unless papermill overrides it) and
``notebooks/params/<notebook>_paper.yaml`` (the paper scale, for ``papermill -f``), both
with the seeds. Only the cell's source changes: it has no outputs, so nbval and the golden
values are unaffected. With ``--check`` nothing is written and the exit status is 1 when a
file differs from what would be written.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import textwrap
from pathlib import Path

import nbformat
import numpy as np

from matrix_sensing import claims
from matrix_sensing.experiments.declaration import Parameter
from matrix_sensing.parameters import EXECUTION_OPTIONS, claim_parameters

ROOT = Path(__file__).resolve().parents[1]
LINE_LENGTH = 100  # ruff's, which also checks the notebooks' code


def claim_notebooks() -> dict[str, str]:
    """``notebooks/<name>.ipynb`` -> its first claim (any of its claims names its
    parameters: :func:`~matrix_sensing.parameters.claim_parameters`)."""
    found: dict[str, str] = {}
    for claim_id in claims.ids():
        found.setdefault(claims.get(claim_id).notebook, claim_id)
    return dict(sorted(found.items()))


def _experiments(claim_id: str) -> str:
    """The experiments of the notebook of ``claim_id`` and where they are declared."""
    notebook = claims.get(claim_id).notebook
    functions = []
    for other in map(claims.get, claims.ids()):
        if other.notebook == notebook and other.experiment not in functions:
            functions.append(other.experiment)
    names = _and([f.__name__ for f in functions])
    origins = _and(list(dict.fromkeys(_origin(f) for f in functions)))
    return f"{names} (declared in {origins})"


def _and(words: list[str]) -> str:
    """``a``, ``a and b``, ``a, b and c``."""
    return " and ".join(filter(None, [", ".join(words[:-1]), words[-1]]))


def python_number(value) -> str:
    """``value`` as Python source that reads back as the same number of the same type:
    ``40``, ``0.25``, ``2.0``, ``1e-6``."""
    if isinstance(value, int):
        return str(value)
    if value != 0 and (abs(value) <= 1e-2 or abs(value) >= 1e6):
        return np.format_float_scientific(value, trim="-", exp_digits=1)
    return np.format_float_positional(value, trim="0")


def yaml_number(value) -> str:
    """``value`` as YAML that ``yaml.safe_load`` (and so papermill) reads as the same number:
    a float needs its point, ``1.0e-6`` (``1e-6`` would be a string)."""
    if isinstance(value, int):
        return str(value)
    if value != 0 and (abs(value) <= 1e-2 or abs(value) >= 1e6):
        return np.format_float_scientific(value, trim="0", exp_digits=1)
    return np.format_float_positional(value, trim="0")


def _literal(value, number) -> str:
    if isinstance(value, list):
        return "[" + ", ".join(number(v) for v in value) + "]"
    return number(value)


def _lines(assignments: list[tuple[str, Parameter]]) -> list[str]:
    """``code  # description; type and range`` per parameter, the comment on a line of its
    own above the code when both do not fit on one line or the comment holds an ``=``
    (papermill cannot read a parameter line with a second ``=``, and then warns on every
    run)."""
    lines = []
    for code, p in assignments:
        text = f"{p.description}; {p.type_text()} {p.range_text()}"
        comment = "# " + text.replace(">=", "≥").replace("<=", "≤")
        if "=" not in comment and len(f"{code}  {comment}") <= LINE_LENGTH:
            lines.append(f"{code}  {comment}")
        else:
            lines += [comment, code]
    return lines


def _comment(text: str) -> list[str]:
    return textwrap.wrap(text, LINE_LENGTH, initial_indent="# ", subsequent_indent="# ")


def _origin(experiment) -> str:
    return f"src/{experiment.__module__.replace('.', '/')}.py"


def cell_source(claim_id: str) -> str:
    """The source of the ``parameters`` cell of the notebook of ``claim_id``: the CI scale
    of its experiments' declarations, the seeds and where the runs are computed."""
    header = _comment(
        f"CI scale of {_experiments(claim_id)}, written by tools/sync_parameters.py: change "
        "the declaration, then `make parameters`."
    )
    assignments = [
        (f"{p.name} = {_literal(p.default, python_number)}", p) for p in claim_parameters(claim_id)
    ]
    options = [f"{name} = {value!r}  # {text}" for name, (value, text) in EXECUTION_OPTIONS.items()]
    return "\n".join(header + _lines(assignments) + options)


def paper_yaml(claim_id: str) -> str:
    """The text of the paper-scale file of the notebook of ``claim_id``: the paper scale of
    its experiments' declarations and the seeds."""
    header = _comment(
        f"Paper scale of {claims.get(claim_id).notebook} (papermill -f) for "
        f"{_experiments(claim_id)}, written by tools/sync_parameters.py: change the "
        "declaration, then `make parameters`."
    )
    assignments = [
        (f"{p.name}: {_literal(p.paper, yaml_number)}", p) for p in claim_parameters(claim_id)
    ]
    return "\n".join(header + _lines(assignments)) + "\n"


def paper_path(notebook: str) -> Path:
    return ROOT / "notebooks" / "params" / f"{Path(notebook).stem}_paper.yaml"


def parameters_cell(nb):
    (cell,) = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
    return cell


def _write(path: Path, write) -> None:
    """Replace ``path`` atomically (never a half-written file), keeping its mode."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=path.suffix)
    os.close(fd)
    write(tmp)
    if path.exists():
        shutil.copymode(path, tmp)
    os.replace(tmp, path)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="change nothing; exit 1 if stale")
    args = parser.parse_args(argv)
    stale = []
    for notebook, claim_id in claim_notebooks().items():
        path = ROOT / notebook
        nb = nbformat.read(path, as_version=4)
        cell = parameters_cell(nb)
        source = cell_source(claim_id)
        if cell.source != source:
            stale.append(path)
            if not args.check:
                cell.source = source
                _write(path, lambda tmp, nb=nb: nbformat.write(nb, tmp))
        yaml_path, text = paper_path(notebook), paper_yaml(claim_id)
        if not yaml_path.exists() or yaml_path.read_text(encoding="utf-8") != text:
            stale.append(yaml_path)
            if not args.check:
                _write(yaml_path, lambda tmp, text=text: Path(tmp).write_text(text, "utf-8"))
    verb = "differs from its declaration" if args.check else "written"
    for path in stale:
        print(f"{path.relative_to(ROOT)}: {verb}", file=sys.stderr)
    return 1 if stale and args.check else 0


if __name__ == "__main__":
    sys.exit(main())
