"""Atomic, untrusting result files, and sweeps that resume and agree across executors."""

from __future__ import annotations

import os
import pickle
import random
import re
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from _results_compare import assert_same_results, masked_json, masked_json_bytes

from matrix_sensing import provenance, sweep
from matrix_sensing.cli import main

TINY = {
    "n1": 8,
    "n2": 6,
    "k": 6,
    "kappa": 1.0,
    "alpha": 1e-4,
    "step": 0.25,
    "iters": 150,
    "r": [1, 2],
    "m": [20, 60],
    "seed": [0, 1],
}


def test_write_and_read_json_round_trip(tmp_path):
    meta = provenance.provenance(
        kind="test", name="x", params={"a": 1.5}, seeds=[0], started="s", finished="f", verdict=True
    )
    path = provenance.write_json(tmp_path / "r.json", {"provenance": meta, "value": float("inf")})
    data = provenance.read_json(path)
    assert data["provenance"]["params"] == {"a": 1.5}
    assert data["value"] == "inf"
    assert [p.name for p in tmp_path.iterdir()] == ["r.json"]  # no temporary file left


@pytest.mark.parametrize("content", [b"", b'{"provenance": {', b"[1, 2]", b'{"a": 1}', b"\xff"])
def test_corrupt_results_are_reported_not_trusted(tmp_path, content):
    path = tmp_path / "bad.json"
    path.write_bytes(content)
    with pytest.raises(provenance.CorruptResultError, match=r"bad\.json"):
        provenance.read_json(path)


class _Payload:
    """Unpickling this runs code: it creates the folder ``marker``."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (os.mkdir, (self.marker,))


def test_npz_never_unpickles(tmp_path):
    provenance.write_npz(tmp_path / "a.npz", {"x": np.arange(3.0)})
    assert provenance.read_npz(tmp_path / "a.npz")["x"].tolist() == [0.0, 1.0, 2.0]
    with pytest.raises(TypeError, match="dtype object"):
        provenance.write_npz(tmp_path / "b.npz", {"x": np.array([{"a": 1}], dtype=object)})
    marker = tmp_path / "payload-ran"
    evil = np.array([_Payload(marker)], dtype=object)
    # an object array inside an .npz (beside an honest one), a bare pickle, a bare .npy
    np.savez(tmp_path / "object.npz", x=np.arange(3.0), y=evil)
    (tmp_path / "pickle.npz").write_bytes(pickle.dumps(evil))
    np.save(tmp_path / "bare.npy", evil, allow_pickle=True)
    os.replace(tmp_path / "bare.npy", tmp_path / "bare.npz")
    for name in ("object.npz", "pickle.npz", "bare.npz"):
        with pytest.raises(provenance.CorruptResultError, match=re.escape(name)):
            provenance.read_npz(tmp_path / name)
    assert not marker.exists(), "loading a results file ran a pickle payload"
    with open(tmp_path / "pickle.npz", "rb") as f:  # the payload is real: unpickling runs it
        pickle.load(f)
    assert marker.is_dir()


def _claim_results(folder: Path) -> dict[str, Path]:
    """One file of each type a run or a sweep writes, as the package writes them."""
    meta = provenance.provenance(
        kind="claim-run",
        name="M1",
        params={"m": 60},
        seeds=[0, 1],
        started="s",
        finished="f",
        verdict={"M1": True},
    )
    records = sweep.run_sweep(
        "phase-transition",
        sweep.grid({**TINY, "r": 1, "m": 20}),
        folder / "sweep",
        workers=0,
        progress=False,
    )
    return {
        "results.json": provenance.write_json(
            folder / "results.json",
            {"provenance": meta, "runtime_s": 1.5, "verdicts": [{"id": "M1", "passed": True}]},
        ),
        "results.npz": provenance.write_npz(
            folder / "results.npz", {"M1/seeds": np.arange(2), "M1/test_error": [1e-4, 2e-4]}
        ),
        "sweep record": next((folder / "sweep").glob("*.json")),
        "table.npz": provenance.write_npz(folder / "table.npz", sweep.records_table(records)),
    }


def _load(kind: str, path: Path):
    if path.suffix == ".npz":
        return provenance.read_npz(path)
    if kind == "sweep record":
        config = sweep.grid({**TINY, "r": 1, "m": 20})[0]
        return sweep._read_record(path, "phase-transition", config)
    return provenance.read_json(path)


def _equal(a, b) -> bool:
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(_equal(a[k], b[k]) for k in a)
    return bool(np.array_equal(a, b)) if isinstance(a, np.ndarray) else a == b


def test_damaged_results_files_are_refused_naming_the_file(tmp_path):
    """Every truncation and 100 random damages (1-8 bytes overwritten) of each results file
    type: each load either refuses the file (CorruptResultError naming it) or, when the
    damage hit bytes no reader uses (zip timestamps, JSON whitespace), returns exactly the
    original content. Never a different value."""
    rng = random.Random(7)
    cases = refused = 0
    for kind, path in _claim_results(tmp_path).items():
        original, expected = path.read_bytes(), _load(kind, path)
        damaged = [original[:n] for n in range(len(original))]
        for _ in range(100):
            data = bytearray(original)
            for _ in range(rng.randint(1, 8)):
                data[rng.randrange(len(data))] = rng.randrange(256)
            damaged.append(bytes(data))
        for data in damaged:
            path.write_bytes(data)
            cases += 1
            try:
                got = _load(kind, path)
            except provenance.CorruptResultError as exc:
                assert path.name in str(exc)
                refused += 1
            else:
                assert _equal(got, expected), f"{kind}: damaged file read as different values"
    print(f"{cases} damaged results files, {refused} refused, the rest read unchanged")
    assert refused > 0.9 * cases


def test_results_files_are_reproducible_byte_for_byte(tmp_path):
    arrays = {"a/x": np.arange(4.0), "b": np.array([1, 2])}
    first = provenance.write_npz(tmp_path / "1.npz", arrays).read_bytes()
    time.sleep(2.1)  # zip timestamps have a 2 s resolution
    assert provenance.write_npz(tmp_path / "2.npz", arrays).read_bytes() == first
    data = {"provenance": {"schema": provenance.SCHEMA}, "x": [1.5, float("nan")]}
    one = provenance.write_json(tmp_path / "1.json", data).read_bytes()
    assert provenance.write_json(tmp_path / "2.json", data).read_bytes() == one
    umask = os.umask(0)
    os.umask(umask)
    assert (tmp_path / "1.json").stat().st_mode & 0o777 == 0o666 & ~umask


def test_a_rerun_sweep_writes_the_same_files(tmp_path):
    configs = sweep.grid(TINY)[:4]
    for folder in ("a", "b"):
        sweep.run_sweep("phase-transition", configs, tmp_path / folder, workers=0, progress=False)
    assert assert_same_results(tmp_path / "a", tmp_path / "b") == 5  # 4 records and .lock


def test_one_sweep_at_a_time_per_folder(tmp_path, capsys):
    with provenance.exclusive(tmp_path):
        with pytest.raises(provenance.FolderBusy, match="another process is writing"):
            sweep.run_sweep("phase-transition", sweep.grid(TINY)[:1], tmp_path, workers=0)
        assert (
            main(
                ["sweep", "phase-transition", "--scale", "smoke", "--out", str(tmp_path), "--quiet"]
            )
            == 2
        )
    assert capsys.readouterr().err.strip() == (
        f"error: another process is writing results to {tmp_path}"
    )


def test_the_lock_removes_what_a_killed_writer_left(tmp_path):
    kept = provenance.write_bytes(tmp_path / "sub" / "figure.png", b"\x89PNG")
    leftover = tmp_path / "sub" / ".r.json.abc123.tmp"  # as a killed atomic write leaves it
    leftover.write_bytes(b'{"provenance": {')
    with provenance.exclusive(tmp_path) as folder:
        assert folder == tmp_path and not leftover.exists()
    assert kept.read_bytes() == b"\x89PNG"
    with pytest.raises(TypeError, match="folder must be a folder path"):
        provenance.exclusive(None)
    with pytest.raises(TypeError, match="payload must be bytes"):
        provenance.write_bytes(tmp_path / "x.png", "text")


def test_leaving_the_lock_removes_what_a_writer_killed_inside_it_left(tmp_path):
    """An interrupted ``run`` kills its notebook's kernel, which may be in the middle of an
    atomic write (a checkpoint): what it left goes when the folder is left, not at the next
    run. (Found by test_interruption.py, when a Ctrl-C fell on a checkpoint's write.)"""
    leftover = tmp_path / "checkpoints" / ".tasks.json.k1ll3d.tmp"
    writer = (
        "import sys, time; from pathlib import Path; p = Path(sys.argv[1]); "
        "p.parent.mkdir(); p.write_bytes(b'{\"ta'); print(flush=True); time.sleep(60)"
    )
    with pytest.raises(KeyboardInterrupt), provenance.exclusive(tmp_path):
        child = subprocess.Popen(
            [sys.executable, "-c", writer, str(leftover)], stdout=subprocess.PIPE
        )
        child.stdout.readline()  # the write has begun
        child.kill()
        child.wait()
        assert leftover.exists()
        raise KeyboardInterrupt
    assert not leftover.exists()
    assert sorted(p.name for p in tmp_path.rglob("*")) == [".lock", "checkpoints"]


def test_a_record_of_another_configuration_is_recomputed(tmp_path):
    configs = sweep.grid(TINY)[:2]
    sweep.run_sweep("phase-transition", configs, tmp_path, workers=0, progress=False)
    a, b = (tmp_path / f"{sweep.config_key('phase-transition', c)}.json" for c in configs)
    expected = b.read_bytes()
    b.write_bytes(a.read_bytes())  # valid, checksummed, but the result of configs[0]
    with pytest.raises(provenance.CorruptResultError, match="not the result of"):
        sweep._read_record(b, "phase-transition", configs[1])
    sweep.run_sweep("phase-transition", configs, tmp_path, workers=0, progress=False)
    assert masked_json(b) == masked_json_bytes(expected)


def test_grid_is_the_product_in_order():
    configs = sweep.grid({"a": [1, 2], "b": 0, "c": [3, 4]})
    assert configs == [
        {"a": 1, "b": 0, "c": 3},
        {"a": 1, "b": 0, "c": 4},
        {"a": 2, "b": 0, "c": 3},
        {"a": 2, "b": 0, "c": 4},
    ]
    assert sweep.config_key("s", {"a": 1, "b": 2}) == sweep.config_key("s", {"b": 2, "a": 1})


def _results(records):
    return [(r["provenance"]["params"], r["result"]) for r in records]


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    configs = sweep.grid(TINY)
    out = tmp_path_factory.mktemp("ref")
    return configs, _results(
        sweep.run_sweep("phase-transition", configs, out, workers=0, progress=False)
    )


def test_local_processes_give_the_same_results(reference, tmp_path):
    configs, expected = reference
    got = sweep.run_sweep("phase-transition", configs, tmp_path, workers=2, progress=False)
    assert _results(got) == expected


def test_an_interrupted_sweep_resumes_and_ends_with_the_same_results(reference, tmp_path):
    configs, expected = reference
    sweep.run_sweep("phase-transition", configs[:3], tmp_path, workers=0, progress=False)
    done = {p: p.stat().st_mtime_ns for p in tmp_path.glob("*.json")}
    # a result cut off mid-write by a crash (simulated) must be recomputed, not trusted
    victim = sorted(done)[0]
    victim.write_text('{"provenance": {"schema"')
    got = sweep.run_sweep("phase-transition", configs, tmp_path, workers=0, progress=False)
    assert _results(got) == expected
    kept = [p for p in done if p != victim]
    assert all(p.stat().st_mtime_ns == done[p] for p in kept)  # not recomputed


def test_dask_local_cluster_gives_the_same_results(reference, tmp_path):
    distributed = pytest.importorskip("distributed")
    configs, expected = reference
    with distributed.LocalCluster(
        n_workers=1, threads_per_worker=1, processes=False, dashboard_address=None
    ) as cluster:
        with distributed.Client(cluster) as client:
            got = sweep.run_sweep(
                "phase-transition", configs, tmp_path, scheduler=client, progress=False
            )
    assert _results(got) == expected


def test_records_table_and_unknown_sweep(reference, tmp_path):
    configs, _ = reference
    records = sweep.run_sweep("phase-transition", configs[:2], tmp_path, workers=0, progress=False)
    table = sweep.records_table(records)
    assert table["m"].tolist() == [20, 20] and table["test_error"].dtype == float
    with pytest.raises(ValueError, match="sweep must be one of"):
        sweep.run_sweep("nope", configs, tmp_path)
    with pytest.raises(ValueError, match="workers must be an integer >= 0"):
        sweep.run_sweep("phase-transition", configs, tmp_path, workers=-1)


def test_named_grids_what_is_pending_and_the_table(reference, tmp_path):
    configs = sweep.configurations("phase-transition", "smoke")
    assert configs == sweep.grid(sweep.SWEEPS["phase-transition"][1]["smoke"])
    with pytest.raises(ValueError, match="sweep must be one of"):
        sweep.configurations("nope", "ci")
    with pytest.raises(ValueError, match=r"scale must be one of \['ci', 'paper', 'smoke'\]"):
        sweep.configurations("phase-transition", "huge")
    tiny, _ = reference
    assert sweep.pending("phase-transition", tiny[:3], tmp_path) == tiny[:3]
    records = sweep.run_sweep("phase-transition", tiny[:2], tmp_path, workers=0, progress=False)
    assert sweep.pending("phase-transition", tiny[:3], tmp_path) == [tiny[2]]
    table = provenance.read_npz(sweep.write_table(records, tmp_path))
    assert sorted(table) == sorted(sweep.records_table(records))
    assert table["m"].tolist() == [c["m"] for c in tiny[:2]]
