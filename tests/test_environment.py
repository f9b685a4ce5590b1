"""environment.yml (conda, Binder) carries exactly the pins of requirements.txt."""

from __future__ import annotations

from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]


def _pins(lines) -> dict[str, str]:
    pins = {}
    for line in lines:
        line = line.strip()
        if not line or line.startswith(("#", "-")):
            continue
        name, _, version = line.partition("==")
        assert version, f"not an exact pin: {line!r}"
        name = name.split("[")[0]  # an extra such as dask[distributed] pins the package itself
        pins[name.lower().replace("_", "-")] = version
    return pins


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
