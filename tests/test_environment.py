"""The lock: every package pinned with its sha256, installed with --require-hashes, and
environment.yml (conda, Binder) carrying exactly the same pins."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
LOCKS = [ROOT / "requirements.txt", ROOT / "tools" / "cffconvert.txt"]


def _pins(lines) -> dict[str, str]:
    pins = {}
    for line in lines:
        line = line.strip().removesuffix("\\").strip()
        if not line or line.startswith(("#", "-")):
            continue
        name, _, version = line.partition("==")
        assert version, f"not an exact pin: {line!r}"
        name = name.split("[")[0]  # an extra such as dask[distributed] pins the package itself
        pins[name.lower().replace("_", "-")] = version
    return pins


def _locked(path: Path) -> dict[str, list[str]]:
    """Package line of a pip-compile lock -> the sha256 hashes that follow it."""
    entries: dict[str, list[str]] = {}
    current = None
    for line in path.read_text().splitlines():
        if re.match(r"^[A-Za-z0-9]", line):
            current = line.removesuffix("\\").strip()
            entries[current] = []
        elif line.strip().startswith("--hash=") and current:
            entries[current].append(line.strip().removesuffix("\\").strip())
        elif not line.startswith(" "):
            current = None
    return entries


def test_environment_yml_matches_requirements():
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    pip_section = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    assert _pins(pip_section) == _pins((ROOT / "requirements.txt").read_text().splitlines())
    assert "python=3.11" in env["dependencies"]


def test_direct_requirements_are_in_the_lock():
    direct = _pins((ROOT / "requirements.in").read_text().splitlines())
    locked = _pins((ROOT / "requirements.txt").read_text().splitlines())
    assert direct.items() <= locked.items(), set(direct.items()) - set(locked.items())
    assert direct["jupyter-book"].startswith("1."), "Jupyter Book 2 reads neither config file"


def test_every_locked_package_carries_sha256_hashes():
    for lock in LOCKS:
        entries = _locked(lock)
        assert len(entries) > 10, lock
        for pin, hashes in entries.items():
            assert "==" in pin, (lock.name, pin)
            assert hashes, f"{lock.name}: {pin} has no --hash"
            assert all(re.fullmatch(r"--hash=sha256:[0-9a-f]{64}", h) for h in hashes), pin


def test_every_install_of_the_locks_requires_hashes():
    """The Makefile (both README commands go through it), .ci/run and the workflows install
    the locks only with --require-hashes."""
    texts = {"Makefile": (ROOT / "Makefile").read_text(), ".ci/run": (ROOT / ".ci/run").read_text()}
    texts.update(
        {
            str(p.relative_to(ROOT)): p.read_text()
            for p in (ROOT / ".github" / "workflows").glob("*.y*ml")
        }
    )
    installs = 0
    for name, text in texts.items():
        for line in text.replace("\\\n", " ").splitlines():
            if re.search(r"-r\s+(requirements\.txt|tools/cffconvert\.txt)", line):
                installs += 1
                assert "--require-hashes" in line or "$(PIP) --require-hashes" in line, (name, line)
    assert installs >= 2
