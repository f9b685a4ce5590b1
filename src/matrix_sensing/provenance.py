"""Provenance of results, and writing/reading them safely.

Every result this package writes to disk is a pair: a JSON file with the metadata (what was
run, with which parameters and seeds, by which code, when, and with what verdict) and, when
there are arrays, an ``.npz`` beside it. Writes are atomic (a temporary file in the same
folder, then ``os.replace``), so an interrupted run never leaves a half-written result; a
temporary file left by a killed process (``.<name>.*.tmp``) is removed by the next run in
that folder. Files are byte-for-byte reproducible: JSON with sorted keys, ``.npz`` archives
with fixed member timestamps. Arrays are read with ``allow_pickle=False`` after checking the
archive's checksums, so loading a results file never runs code and a corrupted one is refused
(:class:`CorruptResultError`), not trusted.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import functools
import hashlib
import io
import json
import os
import platform
import struct
import subprocess
import tempfile
import zipfile
import zlib
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import scipy

SCHEMA = "matrix-sensing/result/1"
#: Key of the checksum :func:`write_json` adds and :func:`read_json` verifies (and drops).
CHECKSUM = "sha256"
# mkstemp creates files readable by the owner only; results get the usual umask instead.
_UMASK = os.umask(0o022)
os.umask(_UMASK)
# Fixed member timestamps make an .npz depend on its arrays only (zip's earliest date).
_ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)


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
            ["git", "rev-parse", "HEAD"], cwd=where, capture_output=True, text=True, timeout=60
        )
        if commit.returncode != 0:
            return {"commit": None, "dirty": None}
        status = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=where,
            capture_output=True,
            text=True,
            timeout=60,
        )
    except (OSError, subprocess.TimeoutExpired):
        return {"commit": None, "dirty": None}
    return {"commit": commit.stdout.strip(), "dirty": bool(status.stdout.strip())}


#: Environment variables that set thread counts or pick BLAS kernels; they change speed and,
#: for the kernel choice, the rounding of every result.
THREAD_VARIABLES = (
    "OMP_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "MKL_NUM_THREADS",
    "NUMBA_NUM_THREADS",
    "OPENBLAS_CORETYPE",
    "OPENBLAS_L2_SIZE",
)
#: The full lock of a clone, beside ``src/``; an installed wheel has none.
LOCK_FILE = Path(__file__).resolve().parents[2] / "requirements.txt"


def lock_sha256(path: Path = LOCK_FILE) -> str | None:
    """The sha256 of the full lock ``requirements.txt`` the environment was installed from,
    or None where the package does not run from a clone (no lock beside it)."""
    try:
        return hashlib.sha256(Path(path).read_bytes()).hexdigest()
    except OSError:
        return None


def blas() -> list[dict]:
    """The BLAS/OpenMP libraries loaded in this process, with version and thread count
    (threadpoolctl)."""
    from threadpoolctl import threadpool_info

    keys = ("user_api", "internal_api", "version", "num_threads", "threading_layer", "architecture")
    found = [{key: info.get(key) for key in keys} for info in threadpool_info()]
    # Sorted: the order in which numpy's and scipy's copies of OpenBLAS were loaded varies
    # between runs, and the same environment must give the same provenance.
    return sorted(found, key=lambda lib: [str(lib[key]) for key in keys])


def _numba_threads() -> int:
    """The threads of numba's parallel target, ``numba.config.NUMBA_NUM_THREADS``, found by
    numba's rule without importing numba (a quarter of a second, in every command-line run
    that records provenance): the variable ``NUMBA_NUM_THREADS`` if it is an integer, else
    the CPUs this process may run on. The package's kernels are serial: this records the
    setting, it does not change a result."""
    try:
        return int(os.environ["NUMBA_NUM_THREADS"])
    except (KeyError, ValueError):
        pass
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on every platform
        return max(1, os.cpu_count() or 1)


def environment() -> dict:
    """Versions of what computed a result (the compiled kernels' numba and llvmlite
    included), the BLAS and thread settings, the lock's hash, and the machine it ran on."""
    from importlib.metadata import version

    from ._version import __version__

    return {
        "package": "matrix-sensing",
        "package_version": __version__,
        "python": platform.python_version(),
        "numpy": np.__version__,
        "scipy": scipy.__version__,
        # From the installed distributions: importing numba takes a quarter of a second.
        "numba": version("numba"),
        "llvmlite": version("llvmlite"),
        "numba_threads": _numba_threads(),
        "blas": blas(),
        "thread_variables": {name: os.environ.get(name) for name in THREAD_VARIABLES},
        "requirements_sha256": lock_sha256(),
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
            os.fchmod(f.fileno(), 0o666 & ~_UMASK)
            f.write(payload)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_bytes(path, payload: bytes) -> Path:
    """Write ``payload`` (a figure, a page's data) to ``path`` atomically: a reader sees the
    previous file or the new one, never a part."""
    path = _as_path(path)
    if not isinstance(payload, bytes | bytearray | memoryview):
        raise TypeError(f"payload must be bytes, got {type(payload).__name__}")
    _atomic_write(path, bytes(payload))
    return path


def write_json(path, data: dict) -> Path:
    """Write ``data`` as JSON, atomically, with a ``sha256`` of its content (so that
    :func:`read_json` notices a changed digit, not only a broken syntax). Non-finite floats
    are written as strings."""
    path = _as_path(path)
    _atomic_write(path, _checksummed_json(data, "data"))
    return path


def _checksummed_json(data, name: str) -> bytes:
    """``data`` (a dict, called ``name`` in errors) as canonical JSON with its ``sha256``."""
    if not isinstance(data, dict):
        raise TypeError(f"{name} must be a dict, got {type(data).__name__}")
    content = _jsonable({k: v for k, v in data.items() if k != CHECKSUM})
    try:
        text = _canonical({**content, CHECKSUM: _digest(content)})
    except (TypeError, ValueError) as exc:  # an object JSON cannot hold, or a cycle
        raise TypeError(
            f"{name} must hold only numbers, strings, lists, dicts and numpy arrays: {exc}"
        ) from None
    return text.encode("utf-8")


def write_archive(path, members: Mapping[str, dict]) -> Path:
    """Write a zip archive of JSON files (member name -> data), atomically. Each member is
    written as :func:`write_json` would write it (sorted keys, its own ``sha256``), with
    fixed timestamps and in sorted order, so the archive depends on its content only."""
    path = _as_path(path)
    if not isinstance(members, Mapping) or not members:
        raise TypeError(f"members must map file names to dicts, got {members!r:.80}")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name in sorted(members):
            payload = _checksummed_json(members[name], f"members[{name!r}]")
            info = zipfile.ZipInfo(name, date_time=_ZIP_EPOCH)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            archive.writestr(info, payload)
    _atomic_write(path, buffer.getvalue())
    return path


def _canonical(data) -> str:
    return json.dumps(data, indent=2, sort_keys=True, allow_nan=False) + "\n"


def _digest(content: dict) -> str:
    return hashlib.sha256(_canonical(content).encode("utf-8")).hexdigest()


def write_npz(path, arrays: dict[str, np.ndarray]) -> Path:
    """Write numeric arrays to ``.npz``, atomically (no object arrays: they would pickle)."""
    path = _as_path(path)
    if not isinstance(arrays, Mapping):
        raise TypeError(f"arrays must map names to arrays, got {type(arrays).__name__}")
    clean = {}
    for key, value in arrays.items():
        try:
            array = np.asarray(value)
        except ValueError:  # ragged nested lists
            array = np.empty(0, dtype=object)
        if array.dtype == object:
            raise TypeError(
                f"arrays[{key!r}] is not a numeric array (dtype object); only numeric arrays "
                "are written"
            )
        clean[key] = array
    buffer = io.BytesIO()
    # np.savez's layout (one .npy member per array), without its wall-clock timestamps.
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as archive:
        for key, array in clean.items():
            member = zipfile.ZipInfo(f"{key}.npy", date_time=_ZIP_EPOCH)
            with archive.open(member, "w", force_zip64=True) as f:
                np.lib.format.write_array(f, array, allow_pickle=False)
    _atomic_write(path, buffer.getvalue())
    return path


def read_json(path) -> dict:
    """Read a results JSON written by :func:`write_json`; raise :class:`CorruptResultError`
    for anything truncated, unparsable or without our schema."""
    path = _as_path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise CorruptResultError(f"{path}: not a readable results file ({exc})") from exc
    except RecursionError as exc:
        raise CorruptResultError(
            f"{path}: not a readable results file (nested too deeply)"
        ) from exc
    meta = data.get("provenance") if isinstance(data, dict) else None
    if not isinstance(meta, dict) or meta.get("schema") != SCHEMA:
        raise CorruptResultError(f"{path}: no {SCHEMA!r} provenance block; not a results file")
    content = {k: v for k, v in data.items() if k != CHECKSUM}
    try:
        digest = _digest(content)
    except ValueError:  # NaN or Infinity literals: never written by write_json
        digest = None
    if digest is None or data.get(CHECKSUM) != digest:
        raise CorruptResultError(
            f"{path}: its content does not match its {CHECKSUM} checksum "
            "(altered or damaged); not trusted"
        )
    return content


def read_npz(path) -> dict[str, np.ndarray]:
    """Read arrays written by :func:`write_npz` without unpickling anything; raise
    :class:`CorruptResultError` for a truncated or altered archive (checksums are verified)
    and for object arrays (their data is a pickle)."""
    path = _as_path(path)
    try:
        # np.load reads each member's bytes without checking its CRC: verify them first.
        with zipfile.ZipFile(path) as archive:
            _members_fill_the_archive(archive)
            damaged = archive.testzip()
        if damaged is not None:
            raise ValueError(f"checksum mismatch in member {damaged!r}")
        with np.load(path, allow_pickle=False) as data:
            return {key: data[key] for key in data.files}
    except (
        OSError,
        ValueError,
        EOFError,
        KeyError,
        NotImplementedError,
        MemoryError,
        zipfile.BadZipFile,
        zlib.error,
    ) as exc:
        raise CorruptResultError(f"{path}: not a readable array file ({exc})") from exc


def _members_fill_the_archive(archive: zipfile.ZipFile) -> None:
    """Every byte before the zip's central directory belongs to a member it lists. A damaged
    directory can list fewer members, each with a valid checksum: the gap it leaves is what
    shows that an array is missing, so the archive is refused rather than read short."""
    position = 0
    for info in sorted(archive.infolist(), key=lambda i: i.header_offset):
        if info.header_offset != position:
            raise ValueError(f"member {info.filename!r} does not follow the previous one")
        archive.fp.seek(info.header_offset)
        header = archive.fp.read(30)
        if len(header) != 30 or header[:4] != b"PK\x03\x04":
            raise ValueError(f"member {info.filename!r} has no local header")
        name_length, extra_length = struct.unpack("<HH", header[26:30])
        position = info.header_offset + 30 + name_length + extra_length + info.compress_size
        if info.flag_bits & 0x08:  # a data descriptor follows the data
            position += 24 if info.file_size >= 0xFFFFFFFF else 16
    if position != archive.start_dir:
        raise ValueError("the archive holds data that no listed member accounts for")


def _as_path(path, name: str = "path", what: str = "file") -> Path:
    """``path`` as a :class:`~pathlib.Path`, or a TypeError naming it (as ``name``, a path
    of a ``what``)."""
    if not isinstance(path, str | os.PathLike) or not str(path):
        raise TypeError(f"{name} must be a {what} path (a string or a Path), got {path!r}")
    return Path(path)


def _remove_partial_writes(folder) -> list[Path]:
    """Delete the temporary files (``.<name>.*.tmp``) that a killed :func:`_atomic_write`
    left in ``folder`` (recursively); returns them. Only :func:`exclusive` calls it, with the
    folder's lock held."""
    leftovers = [p for p in Path(folder).rglob(".*.tmp") if p.is_file()]
    for leftover in leftovers:
        leftover.unlink(missing_ok=True)
    return leftovers


class FolderBusy(RuntimeError):
    """Another process is writing results to the same folder."""


def exclusive(folder):
    """A context manager that holds an exclusive lock on ``folder`` (created if missing; a
    ``.lock`` file in it) while results are written into it, and yields it as a
    :class:`~pathlib.Path`: ``with exclusive(out) as folder: ...``.

    Entering raises :class:`FolderBusy` at once if another process holds the lock, then
    removes the temporary files that a killed writer left in the folder (``.<name>.*.tmp``,
    recursively): with the lock held, no live writer owns them. Leaving removes them again,
    for the writers that the holder started and killed (the notebook's kernel of an
    interrupted ``run``); the holder waits for their end before it leaves. The lock dies
    with the process, even a killed one, so it never needs cleaning up.
    """
    return _locked(_as_path(folder, "folder", what="folder"))


@contextlib.contextmanager
def _locked(folder: Path):
    import fcntl

    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / ".lock", "a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise FolderBusy(f"another process is writing results to {folder}") from None
        _remove_partial_writes(folder)
        try:
            yield folder
        finally:
            _remove_partial_writes(folder)


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
