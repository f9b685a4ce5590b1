"""Where the claim notebooks and their parameter files are, in a clone or an installed package.

They ship inside the package, in ``_notebooks``: in a clone (and so in its editable install)
that is a symbolic link to the repository's ``notebooks/``, the one copy; in a wheel it is a
copy made when the wheel was built. A checkout made without symbolic links (git on Windows
without ``core.symlinks``) has a one-line text file there instead, and the clone's
``notebooks/`` is used directly.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

SHIPPED = "_notebooks"


class NotebooksMissing(FileNotFoundError):
    """The package was installed without its notebooks."""


def notebooks_folder() -> Path:
    """The folder holding the claim notebooks, and their paper-scale parameter files in
    ``params/``."""
    shipped = files(__package__) / SHIPPED
    # A wheel installs as plain files, so this is a real folder (papermill needs a path).
    if isinstance(shipped, Path) and shipped.is_dir():
        return shipped.resolve()
    clone = Path(__file__).resolve().parents[2] / "notebooks"
    if clone.is_dir():
        return clone
    raise NotebooksMissing(
        f"the claim notebooks are not installed with the package ({shipped} is not a "
        "folder); reinstall it from a wheel or a clone of the repository"
    )


def notebook_path(notebook: str) -> Path:
    """The file of a claim's notebook, given as the claim registry names it
    (``notebooks/<name>.ipynb``)."""
    path = notebooks_folder() / Path(notebook).name
    if not path.is_file():
        raise NotebooksMissing(f"notebook {notebook} is not in {path.parent}")
    return path


MEASUREMENTS = "_measurements"


def measurements_folder() -> Path | None:
    """The folder of recorded measurements (``benchmarks/results`` of the repository, shipped
    in the package as ``_measurements`` the way the notebooks are), or None if absent."""
    shipped = files(__package__) / MEASUREMENTS
    if isinstance(shipped, Path) and shipped.is_dir():
        return shipped.resolve()
    clone = Path(__file__).resolve().parents[2] / "benchmarks" / "results"
    return clone if clone.is_dir() else None
