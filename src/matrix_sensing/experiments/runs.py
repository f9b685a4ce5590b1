"""A claim's seeds, run side by side: :func:`run_seeds`, with checkpoints to resume from.

Both functions are also in :mod:`matrix_sensing.experiments`."""

from __future__ import annotations

import hashlib
import json
import math
import os
from collections.abc import Callable, Mapping
from pathlib import Path

import numpy as np
from tqdm import tqdm  # a text bar on stderr: papermill --log-output shows it too

from .. import parallel, provenance
from .._version import __version__
from ..solvers import GDResult
from ._common import Run, check_seeds

#: The file of a checkpoints folder that lists the keys of the runs a call asked for.
TASKS_FILE = "tasks.json"


def run_seeds(
    experiment: Callable[..., Run] | Mapping[str, Callable[..., Run]],
    params: Mapping,
    seeds,
    *,
    workers: int | None = 1,
    scheduler=None,
    checkpoints=None,
    progress: bool = True,
) -> list[Run] | dict[str, list[Run]]:
    """``experiment(**params, seed=s)`` for every seed ``s`` of ``seeds``, in worker
    processes or on a Dask cluster if asked: the runs are the same, bit for bit, wherever
    they ran (:mod:`matrix_sensing.parallel`).

    ``experiment`` is an experiment function and ``params`` its keyword parameters; the
    result is the list of runs in the order of ``seeds``. Several experiments of one notebook
    share the workers when ``experiment`` is ``{name: function}`` and ``params``
    ``{name: parameters}``: the result is then ``{name: [runs in the order of seeds]}``, and
    an error names the experiment (``"P2: m must be ..."``).

    ``workers``: local processes (0 or 1: this process; None: one per CPU); ``scheduler``: a
    Dask scheduler address (``"tcp://host:port"``) or ``distributed.Client``.
    ``checkpoints``: a folder where each finished run is kept (arrays in ``.npz`` and a
    checksummed JSON with provenance; nothing is pickled), so that a call interrupted by
    Ctrl-C or a killed process resumes with the runs it had finished; a checkpoint of other
    parameters, of another package version or damaged is not used. ``progress``: a bar
    with the time left, on stderr.
    """
    seeds = check_seeds(seeds)
    named = isinstance(experiment, Mapping)
    functions = dict(experiment) if named else {"": experiment}
    arguments = dict(params) if named else {"": params}
    for name, function in functions.items():
        if not callable(function):
            raise TypeError(f"experiment must be an experiment function, got {function!r}")
        if not isinstance(arguments.get(name), Mapping):
            where = f"params[{name!r}]" if named else "params"
            raise TypeError(f"{where} must be a dict of the experiment's parameters")
    tasks = [
        (name, functions[name], dict(arguments[name]), seed) for seed in seeds for name in functions
    ]
    names = [task[0] for task in tasks]
    runs: list[Run | None] = [None] * len(tasks)
    folder = _folder(checkpoints) if checkpoints is not None else None
    keys = [_key(*task[1:]) for task in tasks]
    if folder is not None:
        now = provenance.now()
        meta = provenance.provenance(
            kind="checkpoints", name="run_seeds", params={}, seeds=seeds, started=now, finished=now
        )
        provenance.write_json(folder / TASKS_FILE, {"provenance": meta, "keys": keys})
        for index, key in enumerate(keys):
            runs[index] = _load(folder, key)
    todo = [i for i, run in enumerate(runs) if run is None]
    with tqdm(
        total=len(tasks),
        initial=len(tasks) - len(todo),
        desc="runs",
        unit="run",
        smoothing=0,
        disable=not progress,
    ) as bar:

        def keep(position: int, outcome: tuple[Run, str, str]) -> None:
            index = todo[position]
            run, started, finished = outcome
            if folder is not None:
                _save(folder, keys[index], run, started, finished)
            runs[index] = run
            bar.update()

        parallel.execute(
            _run_task, [tasks[i] for i in todo], keep, workers=workers, scheduler=scheduler
        )
    if not named:
        return runs
    return {name: [r for r, n in zip(runs, names, strict=True) if n == name] for name in functions}


def checkpoint_progress(checkpoints) -> tuple[int, int]:
    """``(finished, asked)``: how many of the runs that the last :func:`run_seeds` call with
    this ``checkpoints`` folder asked for are kept there; ``(0, 0)`` before it starts."""
    folder = _folder(checkpoints)
    try:
        keys = provenance.read_json(folder / TASKS_FILE)["keys"]
    except (provenance.CorruptResultError, KeyError):
        return 0, 0
    return sum((folder / f"{key}.json").is_file() for key in keys), len(keys)


def _folder(checkpoints) -> Path:
    if not isinstance(checkpoints, str | os.PathLike) or not str(checkpoints):
        raise TypeError(f"checkpoints must be a folder path, got {checkpoints!r}")
    return Path(checkpoints)


def _run_task(task) -> tuple[Run, str, str]:
    name, function, params, seed = task
    started = provenance.now()
    try:
        run = function(**params, seed=seed)
    except (TypeError, ValueError) as exc:
        if not name or type(exc) not in (TypeError, ValueError):
            raise
        raise type(exc)(f"{name}: {exc}") from exc
    return run, started, provenance.now()


def _key(function, params: Mapping, seed: int) -> str:
    text = json.dumps(
        [function.__module__, function.__qualname__, params, seed, __version__],
        sort_keys=True,
        default=repr,
    )
    return f"{function.__name__}-seed{seed}-{hashlib.sha256(text.encode()).hexdigest()[:16]}"


def _save(folder: Path, key: str, run: Run, started: str, finished: str) -> None:
    arrays: dict[str, np.ndarray] = {}
    tree = _encode(run, arrays)
    npz = provenance.write_npz(folder / f"{key}.npz", arrays)
    meta = provenance.provenance(
        kind="checkpoint",
        name=run.experiment,
        params=run.params,
        seeds=[run.seed],
        started=started,
        finished=finished,
    )
    # The JSON comes last and names the digest of its arrays: a run is kept once it is there.
    digest = hashlib.sha256(npz.read_bytes()).hexdigest()
    provenance.write_json(
        folder / f"{key}.json", {"provenance": meta, "key": key, "arrays": digest, "run": tree}
    )


def _load(folder: Path, key: str) -> Run | None:
    """The run kept under ``key``, or None if it is missing, damaged or not that run."""
    record_file, npz = folder / f"{key}.json", folder / f"{key}.npz"
    if not record_file.is_file():
        return None
    try:
        record = provenance.read_json(record_file)
        if record.get("key") != key or not npz.is_file():
            return None
        if hashlib.sha256(npz.read_bytes()).hexdigest() != record.get("arrays"):
            return None
        run = _decode(record["run"], provenance.read_npz(npz))
    except (provenance.CorruptResultError, KeyError, TypeError, ValueError):
        return None
    return run if isinstance(run, Run) else None


# A run as JSON plus arrays: every value is tagged with its type, so that it comes back as
# the same type (a numpy scalar stays one, a tuple stays a tuple, NaN stays a float).
def _encode(value, arrays: dict[str, np.ndarray]):
    if isinstance(value, Run | GDResult):
        fields = {name: _encode(v, arrays) for name, v in vars(value).items()}
        return {type(value).__name__: fields}
    if isinstance(value, np.ndarray | np.generic):
        if value.dtype == object:
            raise TypeError("a run holds an object array; it cannot be kept without pickling")
        name = f"a{len(arrays)}"
        arrays[name] = np.asarray(value)
        return {"array" if isinstance(value, np.ndarray) else "scalar": name}
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else {"float": repr(value)}
    if isinstance(value, list | tuple):
        return {type(value).__name__: [_encode(v, arrays) for v in value]}
    if isinstance(value, dict):
        return {"dict": [[_encode(k, arrays), _encode(v, arrays)] for k, v in value.items()]}
    raise TypeError(f"a run holds a {type(value).__name__}, which a checkpoint cannot keep")


def _decode(tree, arrays: Mapping[str, np.ndarray]):
    if not isinstance(tree, dict):
        return tree
    ((tag, content),) = tree.items()
    if tag in ("Run", "GDResult"):
        kind = Run if tag == "Run" else GDResult
        return kind(**{name: _decode(v, arrays) for name, v in content.items()})
    if tag == "array":
        return arrays[content]
    if tag == "scalar":
        return arrays[content][()]
    if tag == "float":
        return float(content)
    if tag in ("list", "tuple"):
        items = [_decode(v, arrays) for v in content]
        return items if tag == "list" else tuple(items)
    if tag == "dict":
        return {_decode(k, arrays): _decode(v, arrays) for k, v in content}
    raise ValueError(f"unknown entry {tag!r} in a checkpoint")
