"""Put the Colab install cell first in every notebook, or check that it is there.

Usage: python tools/colab_cell.py [--check] [NOTEBOOK ...]   (default: every notebooks/*.ipynb)

On Colab (the launch buttons of the book open a notebook there without the package) the cell
installs the package with its ``notebooks`` extra from the repository that ``_config.yml``
names (``repository.url``); anywhere else (JupyterLab on a clone, Binder, papermill, nbval,
the book) the package is installed already and the cell does nothing. It is tagged
``remove-cell``, so the book does not show it, and it has no outputs, so nbval (lax: only the
tagged verdict cells are compared) and ``tools/refresh_outputs.py`` leave it alone. With
``--check`` nothing is written: the exit status is 1 when a notebook's first cell differs.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
from pathlib import Path

import nbformat
import yaml

ROOT = Path(__file__).resolve().parents[1]
CELL_ID = "colab-install"
TAGS = ["remove-cell"]

TEMPLATE = """\
# On Colab only: install the companion package with what the notebooks import. Elsewhere
# (a clone's JupyterLab, Binder, papermill, the book) it is installed and this does nothing.
import subprocess
import sys

if "google.colab" in sys.modules:
    repository = "{url}"
    package = f"matrix-sensing[notebooks] @ git+{{repository}}"
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", package], check=True)"""


def repository_url(root: Path = ROOT) -> str:
    """The repository's address, as ``_config.yml`` states it (``repository.url``)."""
    config = yaml.safe_load((root / "_config.yml").read_text(encoding="utf-8"))
    return config["repository"]["url"].rstrip("/")


def requirement(url: str) -> str:
    """What pip installs on Colab: the package from the repository, with the notebooks'
    dependencies (the ``notebooks`` extra)."""
    return f"matrix-sensing[notebooks] @ git+{url}"


def cell_source(url: str) -> str:
    return TEMPLATE.format(url=url)


def new_cell(url: str) -> nbformat.NotebookNode:
    cell = nbformat.v4.new_code_cell(cell_source(url), metadata={"tags": list(TAGS)})
    cell.id = CELL_ID
    return cell


def is_install_cell(cell) -> bool:
    return cell.get("id") == CELL_ID


def updated(nb, url: str) -> bool:
    """Put the install cell first in ``nb`` (replacing an older one); True if ``nb`` changed."""
    wanted = new_cell(url)
    if nb.cells and nb.cells[0] == wanted:
        return False
    nb.cells = [wanted, *(c for c in nb.cells if not is_install_cell(c))]
    return True


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="change nothing; exit 1 if stale")
    parser.add_argument("notebooks", nargs="*", type=Path)
    args = parser.parse_args(argv)
    url = repository_url()
    stale = []
    for path in args.notebooks or sorted((ROOT / "notebooks").glob("*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        if not updated(nb, url):
            continue
        stale.append(path)
        if not args.check:
            fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".ipynb")
            os.close(fd)
            nbformat.write(nb, tmp)
            shutil.copymode(path, tmp)
            os.replace(tmp, path)  # atomic: never leave a half-written notebook
    verb = "lacks the current install cell" if args.check else "updated"
    for path in stale:
        print(f"{path}: {verb}", file=sys.stderr)
    return 1 if stale and args.check else 0


if __name__ == "__main__":
    sys.exit(main())
