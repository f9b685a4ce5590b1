"""The provenance block names what computed a result: the compiled kernels' numba and
llvmlite, the BLAS in use and its threads, the thread variables, and the lock's hash."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import llvmlite
import numba
import threadpoolctl

from matrix_sensing import provenance

ROOT = Path(__file__).resolve().parents[1]


def _environment_in_subprocess(**env) -> dict:
    """``environment()`` in a fresh process with ``env``, and, as ``"numba_config_threads"``,
    numba's own ``NUMBA_NUM_THREADS`` there (imported after: environment() must not need
    numba)."""
    code = (
        "import json, sys; from matrix_sensing import provenance as p; "
        "env = p.environment(); env['numba_imported'] = 'numba' in sys.modules; "
        "import numba; env['numba_config_threads'] = numba.config.NUMBA_NUM_THREADS; "
        "print(json.dumps(env))"
    )
    names = provenance.THREAD_VARIABLES
    clean = {k: v for k, v in os.environ.items() if k not in names}
    proc = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env={**clean, **env},
        timeout=120,
        check=True,
    )
    return json.loads(proc.stdout)


def test_kernel_versions_and_lock_hash():
    env = provenance.environment()
    assert env["numba"] == numba.__version__
    assert env["llvmlite"] == llvmlite.__version__
    assert env["numba_threads"] == numba.config.NUMBA_NUM_THREADS
    lock = hashlib.sha256((ROOT / "requirements.txt").read_bytes()).hexdigest()
    assert env["requirements_sha256"] == lock


def test_blas_is_what_threadpoolctl_sees():
    env = provenance.environment()
    info = threadpoolctl.threadpool_info()
    seen = sorted((i["internal_api"], i["version"], i["num_threads"]) for i in info)
    assert sorted((b["internal_api"], b["version"], b["num_threads"]) for b in env["blas"]) == seen
    # In an order that does not depend on the order in which the libraries were loaded.
    assert env["blas"] == sorted(env["blas"], key=lambda b: [str(v) for v in b.values()])
    assert any(b["user_api"] == "blas" for b in env["blas"])


def test_thread_variables_and_blas_threads_follow_the_environment():
    one = _environment_in_subprocess(OPENBLAS_NUM_THREADS="1", NUMBA_NUM_THREADS="1")
    assert one["thread_variables"]["OPENBLAS_NUM_THREADS"] == "1"
    assert one["thread_variables"]["OMP_NUM_THREADS"] is None
    assert one["numba_threads"] == one["numba_config_threads"] == 1
    assert not one["numba_imported"]
    assert {b["num_threads"] for b in one["blas"] if b["internal_api"] == "openblas"} == {1}
    assert set(one["thread_variables"]) == set(provenance.THREAD_VARIABLES)


def test_no_lock_outside_a_clone(tmp_path):
    assert provenance.lock_sha256(tmp_path / "requirements.txt") is None
    (tmp_path / "requirements.txt").write_bytes(b"numpy==2\n")
    assert (
        provenance.lock_sha256(tmp_path / "requirements.txt")
        == hashlib.sha256(b"numpy==2\n").hexdigest()
    )


def test_write_archive_is_deterministic_and_checksummed(tmp_path):
    import zipfile

    meta = {"schema": provenance.SCHEMA}
    members = {
        "b/results.json": {"provenance": meta, "x": [1.0, 2.5]},
        "a/results.json": {"provenance": meta, "y": "z"},
    }
    first = provenance.write_archive(tmp_path / "one.zip", members)
    second = provenance.write_archive(tmp_path / "two.zip", dict(reversed(members.items())))
    assert first.read_bytes() == second.read_bytes()
    with zipfile.ZipFile(first) as zf:
        assert zf.namelist() == ["a/results.json", "b/results.json"]
        zf.extractall(tmp_path / "out")
    read = provenance.read_json(tmp_path / "out" / "b" / "results.json")  # checks the sha256
    assert read == {"provenance": meta, "x": [1.0, 2.5]}


def test_write_archive_refuses_what_is_not_json_members(tmp_path):
    import pytest

    with pytest.raises(TypeError, match="members must map file names to dicts"):
        provenance.write_archive(tmp_path / "a.zip", {})
    with pytest.raises(TypeError, match=r"members\['a'\] must be a dict, got list"):
        provenance.write_archive(tmp_path / "a.zip", {"a": [1]})


def test_numba_threads_follow_numbas_rule_without_importing_numba():
    """What numba itself reports, for its variable unset, set, and not an integer (numba
    then warns and uses its default)."""
    for value in (None, "3", "many"):
        env = _environment_in_subprocess(**({} if value is None else {"NUMBA_NUM_THREADS": value}))
        assert env["numba_threads"] == env["numba_config_threads"], value
        assert not env["numba_imported"]
