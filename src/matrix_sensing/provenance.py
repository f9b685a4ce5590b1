"""Provenance of results, and writing/reading them safely.

Every result this package writes to disk is a pair: a JSON file with the metadata (what was
run, with which parameters and seeds, by which code, when, and with what verdict) and, when
there are arrays, an ``.npz`` beside it. Writes are atomic (a temporary file in the same
folder, then ``os.replace``), so an interrupted run never leaves a half-written result, and
arrays are read with ``allow_pickle=False``, so loading a results file never runs code.
"""

from __future__ import annotations

import datetime as _dt
import functools
import io
import json
import os
import platform
import subprocess
import tempfile
from pathlib import Path

import numpy as np
import scipy

SCHEMA = "matrix-sensing/result/1"


class CorruptResultError(ValueError):
    """A results file that cannot be trusted (unreadable, truncated, or not ours)."""


def now() -> str:
    """The current time, UTC, ISO 8601 with seconds."""
    return _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds")


@functools.lru_cache(maxsize=8)
def git_state(path: Path | None = None) -> dict:
    """``{"commit": sha or None, "dirty": bool or None}`` of the checkout holding ``path``
    (the package's source by default); ``None`` values outside a git checkout."""
    where = Path(path) if path is not None else Path(__file__).resolve().parent
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=where, capture_output=True, text=True, timeout=10
        )
        if commit.returncode != 0:
            return {"commit": None, "dirty": None}
        status = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=where, capture_output=True, text=True, timeout=10,
        )  # fmt: skip
    except (OSError, subprocess.TimeoutExpired):
        return {"commit": None, "dirty": None}
    return {"commit": commit.stdout.strip(), "dirty": bool(status.stdout.strip())}


def environment() -> dict:
    """Versions of what computed a result, and the machine it ran on."""
    from . import __version__

    return {
        "package": "matrix-sensing",
        "package_version": __version__,
        "python": platform.python_version(),
        "numpy": np.__version__,
        "scipy": scipy.__version__,
        "machine": platform.machine(),
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
    }


def provenance(
    *, kind: str, name: str, params: dict, seeds, started: str, finished: str, verdict=None
) -> dict:
    """The metadata block every results file carries."""
    return {
        "schema": SCHEMA,
        "kind": kind,
        "name": name,
        "params": params,
        "seeds": list(seeds),
        "started": started,
        "finished": finished,
        "verdict": verdict,
        "git": git_state(),
        "environment": environment(),
    }


def _atomic_write(path: Path, payload: bytes) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(payload)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_json(path, data: dict) -> Path:
    """Write ``data`` as JSON, atomically. Non-finite floats are written as strings."""
    text = json.dumps(_jsonable(data), indent=2, sort_keys=True, allow_nan=False)
    _atomic_write(Path(path), (text + "\n").encode("utf-8"))
    return Path(path)


def write_npz(path, arrays: dict[str, np.ndarray]) -> Path:
    """Write numeric arrays to ``.npz``, atomically (no object arrays: they would pickle)."""
    clean = {}
    for key, value in arrays.items():
        array = np.asarray(value)
        if array.dtype == object:
            raise TypeError(f"array {key!r} has dtype object; only numeric arrays are written")
        clean[key] = array
    buffer = io.BytesIO()
    np.savez(buffer, **clean)
    _atomic_write(Path(path), buffer.getvalue())
    return Path(path)


def read_json(path) -> dict:
    """Read a results JSON written by :func:`write_json`; raise :class:`CorruptResultError`
    for anything truncated, unparsable or without our schema."""
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise CorruptResultError(f"{path}: not a readable results file ({exc})") from exc
    if not isinstance(data, dict) or data.get("provenance", {}).get("schema") != SCHEMA:
        raise CorruptResultError(f"{path}: no {SCHEMA!r} provenance block; not a results file")
    return data


def read_npz(path) -> dict[str, np.ndarray]:
    """Read arrays written by :func:`write_npz` without unpickling anything."""
    path = Path(path)
    try:
        with np.load(path, allow_pickle=False) as data:
            return {key: data[key] for key in data.files}
    except (OSError, ValueError, EOFError) as exc:
        raise CorruptResultError(f"{path}: not a readable array file ({exc})") from exc


def _jsonable(value):
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return _jsonable(value.tolist())
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not np.isfinite(value):
        return str(value)
    return value
