"""The package as a reader installs it, away from any clone: ``pip install`` of the committed
repository (``git+file://`` of this clone's HEAD, the way the notebooks' Colab cell installs it
from GitHub) with the ``notebooks`` extra, into a fresh virtual environment in a temporary
folder. Its ``matrix-sensing`` command lists and reruns a claim, and a notebook copied out of
the repository runs there under papermill with that environment's kernel.

The environment gets nothing but what ``matrix-sensing[notebooks]`` needs (and setuptools to
build it), taken from the lock with its sha256 hashes (``--require-hashes``): the part of
``requirements.txt`` that those requirements pull in, found from the distributions of the
test's own environment (installed from the same lock). A dependency missing from the extra is
then missing from the environment, and the notebook fails. The package itself is built
without build isolation and installed with ``--no-index``, so the package index is contacted
only for the hashed lock. The working tree's uncommitted changes are not installed.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tomllib
from dataclasses import dataclass
from importlib.metadata import distribution
from pathlib import Path

import nbformat
import pytest
from _capabilities import missing
from _documents import documented_commands, install_commands
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK = "n8_nystrom.ipynb"  # the quickest claim notebook to execute
PIP = [sys.executable, "-m", "pip", "--disable-pip-version-check"]
# pip's words for an index it cannot reach (a machine without network: skipped locally, a
# failure under MATRIX_SENSING_STRICT, see _capabilities.py).
UNREACHABLE = re.compile(
    r"NewConnectionError|Failed to establish a new connection|Temporary failure in name "
    r"resolution|Network is unreachable|Could not fetch URL"
)


def _head(path: str) -> str:
    return subprocess.run(
        ["git", "show", f"HEAD:{path}"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout


def _pulled_in(requirements: list[str]) -> set[str]:
    """The distributions (canonical names) that ``requirements`` pull in, following the
    dependencies, with their markers and extras, of the distributions installed here."""
    extras_of: dict[str, set[str]] = {}
    todo = [Requirement(text) for text in requirements]
    while todo:
        requirement = todo.pop()
        name = canonicalize_name(requirement.name)
        if name in extras_of and set(requirement.extras) <= extras_of[name]:
            continue
        extras = extras_of.setdefault(name, set())
        extras.update(requirement.extras)
        for text in distribution(name).requires or []:
            dependency = Requirement(text)
            marker = dependency.marker
            if marker is None or any(marker.evaluate({"extra": e}) for e in {"", *extras}):
                todo.append(dependency)
    return set(extras_of)


def _lock_entries(lock: str) -> dict[str, str]:
    """Canonical name -> its pin with hashes, from a pip-compile lock. An extra on a pin
    (``markdown-it-py[linkify]==…``) is dropped: the subset installs the packages the
    requirements pull in, and an extra would ask for more."""
    entries: dict[str, str] = {}
    for block in re.split(r"\n(?=\S)", lock):
        pin = re.match(r"([A-Za-z0-9][A-Za-z0-9._-]*)(\[[^\]]*\])?==\S+", block)
        if pin:
            block = block.replace(pin.group(2) or "", "", 1)
            lines = [line for line in block.splitlines() if not line.strip().startswith("#")]
            entries[canonicalize_name(pin.group(1))] = "\n".join(lines).rstrip(" \\")
    return entries


@dataclass
class Installed:
    venv: Path
    work: Path  # the folder the commands run in: outside the repository
    env: dict
    version: str

    def run(self, *command, timeout=900) -> subprocess.CompletedProcess:
        program = self.venv / "bin" / command[0]
        return subprocess.run(
            [str(program), *command[1:]],
            cwd=self.work,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
        )


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Installed:
    tmp = tmp_path_factory.mktemp("installed")
    venv, work = tmp / "venv", tmp / "work"
    work.mkdir()
    project = tomllib.loads(_head("pyproject.toml"))
    needs = [
        *project["project"]["dependencies"],
        *project["project"]["optional-dependencies"]["notebooks"],
        *project["build-system"]["requires"],
    ]
    lock = _lock_entries((ROOT / "requirements.txt").read_text())
    pulled = _pulled_in(needs)
    assert pulled <= set(lock), f"not in requirements.txt: {sorted(pulled - set(lock))}"
    subset = tmp / "requirements-notebooks.txt"
    subset.write_text("\n".join(lock[name] for name in sorted(pulled)) + "\n")

    # Python caches the bytecode of what it imports, as in a reader's environment (where pip
    # compiles at install), even if this machine turns that off: otherwise every command
    # compiles numpy, matplotlib and Jupyter's modules again (8 CPU-s, not 4, for one run).
    drop = ("PYTHONPATH", "VIRTUAL_ENV", "PYTHONDONTWRITEBYTECODE")
    env = {k: v for k, v in os.environ.items() if k not in drop}
    env["PATH"] = f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    # Jupyter's user folders in tmp: a kernel spec of the reader's cannot stand in for the
    # environment's own (its python3 runs the environment's interpreter).
    for variable in ("JUPYTER_CONFIG_DIR", "JUPYTER_DATA_DIR", "JUPYTER_RUNTIME_DIR", "IPYTHONDIR"):
        env[variable] = str(tmp / variable.lower())
    env["JUPYTER_PREFER_ENV_PATH"] = "1"
    python = str(venv / "bin" / "python")
    steps = [
        [sys.executable, "-m", "venv", "--without-pip", str(venv)],
        # No byte-compiling of every module installed: Python compiles what it imports.
        [
            *PIP,
            "--python",
            python,
            "install",
            "--quiet",
            "--no-compile",
            "--require-hashes",
            "-r",
            str(subset),
        ],
        [
            *PIP,
            "--python",
            python,
            "install",
            "--quiet",
            "--no-compile",
            "--no-build-isolation",
            "--no-index",
            f"matrix-sensing[notebooks] @ git+{ROOT.as_uri()}",
        ],
        [*PIP, "--python", python, "check"],
    ]
    for step in steps:
        proc = subprocess.run(step, cwd=work, env=env, capture_output=True, text=True, timeout=1200)
        if proc.returncode != 0 and step is steps[1] and UNREACHABLE.search(proc.stderr):
            missing(f"the package index is unreachable: {proc.stderr.strip().splitlines()[-1]}")
        assert proc.returncode == 0, f"{' '.join(step)}:\n{proc.stdout}\n{proc.stderr}"
    return Installed(venv, work, env, project["project"]["version"])


def test_the_package_is_installed_in_the_environment_with_its_notebooks(installed):
    proc = installed.run("python", "-c", "import matrix_sensing; print(matrix_sensing.__file__)")
    assert proc.returncode == 0, proc.stderr
    package = Path(proc.stdout.strip()).parent
    assert package.is_relative_to(installed.venv), package
    shipped = package / "_notebooks"
    assert shipped.is_dir() and not shipped.is_symlink()
    assert {p.name for p in shipped.glob("*.ipynb")} == {
        p.name for p in (ROOT / "notebooks").glob("*.ipynb")
    }
    assert (shipped / "params" / "m1_m2_small_vs_large_init_paper.yaml").is_file()


def test_version_prints_the_package_version(installed):
    proc = installed.run("matrix-sensing", "--version")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == f"matrix-sensing {installed.version}"


def test_help_ends_with_examples_and_the_exit_codes(installed):
    proc = installed.run("matrix-sensing", "--help")
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.rstrip().splitlines()
    examples, status = lines.index("examples:"), lines.index("exit status:")
    assert examples < status
    assert any(line.strip().startswith("matrix-sensing run M1") for line in lines[examples:status])
    codes = [line.split()[0] for line in lines[status + 1 :]]
    assert codes == ["0", "1", "2", "130"]


INSTALLED_COMMANDS = [c.words for c in install_commands(documented_commands())[1]]


@pytest.fixture(scope="module")
def readme_runs(installed) -> dict[tuple[str, ...], subprocess.CompletedProcess]:
    """The README's commands of the installed program (after its `pip install` of the
    repository: tests/test_documented_commands.py), each run once, as written, in the fresh
    environment's working folder, outside any clone."""
    return {words: installed.run(*words) for words in INSTALLED_COMMANDS}


@pytest.mark.parametrize("words", INSTALLED_COMMANDS, ids=" ".join)
def test_the_readmes_installed_commands_run_as_written(readme_runs, words):
    proc = readme_runs[words]
    assert proc.returncode == 0, f"{' '.join(words)}:\n{proc.stdout[-2000:]}\n{proc.stderr[-2000:]}"
    if words[1] == "run":
        assert " PASS " in proc.stdout, proc.stdout


def test_list_shows_the_claims_and_the_installed_notebooks(installed, readme_runs):
    """The README's `matrix-sensing list`."""
    proc = readme_runs[("matrix-sensing", "list")]
    assert proc.returncode == 0, proc.stderr
    assert "M1   " in proc.stdout and "notebooks/m1_m2_small_vs_large_init.ipynb" in proc.stdout
    folder = Path(proc.stdout.rstrip().splitlines()[-1].split(": ", 1)[1])
    assert folder.is_relative_to(installed.venv) and (folder / NOTEBOOK).is_file()
    # The recorded costs ship with the package: list quotes them outside any clone.
    assert "wall time per seed: ci " in proc.stdout and "not measured" not in proc.stdout


def test_run_reruns_a_claim_outside_any_clone(installed, readme_runs):
    """The README's `matrix-sensing run M1 ... --out FOLDER`: its verdict, and the results
    it writes into the working folder."""
    (words,) = [w for w in INSTALLED_COMMANDS if w[1:3] == ("run", "M1")]
    assert "--out" in words, words
    proc = readme_runs[words]
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.splitlines()[0].startswith("M1 PASS (1/1 seeds)"), proc.stdout
    out = installed.work / words[words.index("--out") + 1]
    results = json.loads((out / "results.json").read_text())
    assert results["provenance"]["verdict"]["M1"] is True


def test_a_notebook_copied_out_of_the_repository_runs_with_the_environments_kernel(installed):
    proc = installed.run("jupyter", "kernelspec", "list", "--json")
    assert proc.returncode == 0, proc.stderr
    spec = json.loads(proc.stdout)["kernelspecs"]["python3"]
    assert Path(spec["resource_dir"]).is_relative_to(installed.venv), spec["resource_dir"]

    source, executed = installed.work / NOTEBOOK, installed.work / f"executed-{NOTEBOOK}"
    source.write_text(_head(f"notebooks/{NOTEBOOK}"))
    proc = installed.run(
        "papermill", "--no-progress-bar", "-k", "python3", str(source), str(executed)
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    verdict = nbformat.read(executed, as_version=4).cells[-1]
    printed = "".join(output.get("text", "") for output in verdict.outputs)
    assert printed.startswith("N8 PASS (5/5 seeds)"), printed
