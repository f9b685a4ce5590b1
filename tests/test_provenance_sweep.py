"""Atomic, untrusting result files, and sweeps that resume and agree across executors."""

from __future__ import annotations

import numpy as np
import pytest

from matrix_sensing import provenance, sweep

TINY = {
    "n1": 8, "n2": 6, "k": 6, "kappa": 1.0, "alpha": 1e-4, "step": 0.25, "iters": 150,
    "r": [1, 2], "m": [20, 60], "seed": [0, 1],
}  # fmt: skip


def test_write_and_read_json_round_trip(tmp_path):
    meta = provenance.provenance(kind="test", name="x", params={"a": 1.5}, seeds=[0],
                                 started="s", finished="f", verdict=True)  # fmt: skip
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


def test_npz_never_unpickles(tmp_path):
    provenance.write_npz(tmp_path / "a.npz", {"x": np.arange(3.0)})
    assert provenance.read_npz(tmp_path / "a.npz")["x"].tolist() == [0.0, 1.0, 2.0]
    with pytest.raises(TypeError, match="dtype object"):
        provenance.write_npz(tmp_path / "b.npz", {"x": np.array([{"a": 1}], dtype=object)})
    np.save(tmp_path / "evil.npy", np.array([{"a": 1}], dtype=object), allow_pickle=True)
    (tmp_path / "evil.npz").write_bytes(b"not a zip")
    with pytest.raises(provenance.CorruptResultError):
        provenance.read_npz(tmp_path / "evil.npz")


def test_grid_is_the_product_in_order():
    configs = sweep.grid({"a": [1, 2], "b": 0, "c": [3, 4]})
    assert configs == [
        {"a": 1, "b": 0, "c": 3}, {"a": 1, "b": 0, "c": 4},
        {"a": 2, "b": 0, "c": 3}, {"a": 2, "b": 0, "c": 4},
    ]  # fmt: skip
    assert sweep.config_key("s", {"a": 1, "b": 2}) == sweep.config_key("s", {"b": 2, "a": 1})


def _results(records):
    return [(r["provenance"]["params"], r["result"]) for r in records]


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    configs = sweep.grid(TINY)
    out = tmp_path_factory.mktemp("ref")
    return configs, _results(sweep.run_sweep("phase-transition", configs, out, workers=0,
                                             progress=False))  # fmt: skip


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
    with distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=False,
                                  dashboard_address=None) as cluster:  # fmt: skip
        with distributed.Client(cluster) as client:
            got = sweep.run_sweep("phase-transition", configs, tmp_path, scheduler=client,
                                  progress=False)  # fmt: skip
    assert _results(got) == expected


def test_records_table_and_unknown_sweep(reference, tmp_path):
    configs, _ = reference
    records = sweep.run_sweep("phase-transition", configs[:2], tmp_path, workers=0,
                              progress=False)  # fmt: skip
    table = sweep.records_table(records)
    assert table["m"].tolist() == [20, 20] and table["test_error"].dtype == float
    with pytest.raises(ValueError, match="sweep must be one of"):
        sweep.run_sweep("nope", configs, tmp_path)
    with pytest.raises(ValueError, match="workers must be an integer >= 0"):
        sweep.run_sweep("phase-transition", configs, tmp_path, workers=-1)
