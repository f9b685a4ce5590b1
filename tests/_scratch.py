"""A scratch copy of the checkout: every file git tracks or would track (as the working tree
has it, timestamps kept), with ``.venv`` linked to the checkout's. Commands a reader types
are run there, so the tests write nothing into the checkout. Timestamps are kept so that
make sees the linked ``.venv`` as up to date (its stamp is newer than the pins)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def scratch_copy(dest: Path) -> Path:
    """Copy the checkout into ``dest`` (see the module docstring); returns ``dest``."""
    # make in the copy must find .venv up to date: rebuilding it from there would point the
    # editable install at the copy.
    stale = subprocess.run(["make", "-q", "env"], cwd=ROOT, capture_output=True, timeout=60)
    if stale.returncode != 0:
        raise RuntimeError(".venv is older than the pins or pyproject.toml: run `make env`")
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        check=True,
        timeout=60,
    ).stdout
    for name in filter(None, listed.decode().split("\0")):
        source = ROOT / name
        if source.is_file():  # a tracked file deleted in the working tree is not copied
            target = dest / name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
    (dest / ".venv").symlink_to(ROOT / ".venv")
    return dest
