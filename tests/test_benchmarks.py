"""Smoke test of the benchmark (matrix_sensing.benchmark and its command line
benchmarks/run.py) on tiny sizes: it runs end to end and every peer gives the package's
iterates. Correctness only: speed is measured by the benchmark itself, never asserted here.
The JAX peer is optional: its tests are skipped, with the reason, where jax is absent."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from dataclasses import asdict
from pathlib import Path

import numpy as np
import pytest

from matrix_sensing.provenance import read_json

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def bench():
    from matrix_sensing import benchmark

    return benchmark


@pytest.mark.parametrize("index", [0, 1, 2], ids=["single", "batch", "float32"])
def test_every_peer_gives_the_package_iterates(bench, index):
    w = bench.SMOKE[index]
    op, y, U0, V0, step = bench.problem(w)
    candidates, _ = bench.peers(w, op, y, U0, V0, step)
    expected = {"plain"} | ({"separate"} if w.batch else set())
    if not w.batch and w.dtype == "float64":
        expected |= {"einsum"} | ({"torch"} if bench.torch_module() else set())
    expected |= {"jax"} if bench.jax_module() else set()
    assert set(candidates) - {"package"} == expected
    deviations = bench.agreement(candidates, iters=4)
    assert set(deviations) == expected
    tol = bench.RTOL if w.dtype == "float64" else bench.RTOL32
    assert all(d <= tol for d in deviations.values()), deviations
    U, _ = candidates["package"](4)
    assert U.shape == (w.runs, w.n1, w.k)
    assert np.abs(U - U0.astype(U.dtype)).max() > 0  # the iterates moved


def test_agreement_notices_a_wrong_peer(bench):
    w = bench.SMOKE[0]
    candidates, _ = bench.peers(w, *bench.problem(w))
    right = candidates["plain"]
    candidates["plain"] = lambda iters: tuple(1.001 * x for x in right(iters))
    with pytest.raises(AssertionError, match="plain iterates differ"):
        bench.agreement(candidates)


def run_script(*argv, env=None) -> subprocess.CompletedProcess:
    script = [sys.executable, str(ROOT / "benchmarks/run.py")]
    return subprocess.run([*script, *argv], capture_output=True, text=True, timeout=600, env=env)


def test_the_harness_runs_end_to_end_and_writes_its_results(bench, tmp_path):
    out = tmp_path / "smoke.json"
    # one BLAS thread: the table is timed pinned to one CPU, as `make` runs it
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1"}
    done = run_script("--smoke", "--reps", "1", "--iters", "2", "--json", str(out), env=env)
    assert done.returncode == 0, done.stderr
    assert f"wrote {out}" in done.stdout and "| tiny |" in done.stdout
    assert "recorded / package" in done.stdout and "package / bound" in done.stdout
    data = read_json(out)  # checksum and provenance verified
    assert [row["name"] for row in data["table"]] == [w.name for w in bench.SMOKE]
    jax = bench.jax_module() is not None
    for row in data["table"]:
        assert row["ms"]["pass"] > 0 and row["ratio_to_pass"]["pass"] == 1
        bound = row["bound"]
        w = bench.Workload(**{k: row[k] for k in ("name", "n1", "n2", "m", "k", "batch", "dtype")})
        witnesses = bench.read_witnesses(w, row["ms"])
        assert set(witnesses) >= {"read", *(f"read_{n}_segments" for n in bench.SEGMENTS)}
        assert ("read_jax" in witnesses) == jax
        assert bound["memory_witness"] == min(witnesses, key=witnesses.get)
        assert bound["memory_ms"] == pytest.approx(min(witnesses.values()) / max(row["batch"], 1))
        slower = max(bound["memory_ms"], bound["arithmetic_ms"])
        assert bound["ratio_bound"] == pytest.approx(slower / row["ms"]["pass"])
        assert row["ratio_to_bound"]["package"] == pytest.approx(
            row["ms"]["package"] / (bound["ratio_bound"] * row["ms"]["pass"])
        )
        assert row["bound"]["gfma_per_s"] > 0
        assert row["ms"]["recorded"] > 0
        assert row["recorded_over_package"] == row["ms"]["recorded"] / row["ms"]["package"]
        assert row["cpu_per_wall"]["package"] > 0
        assert ("jax" in row["ms"]) == jax
    for t in data["targets"]:
        assert "bound" not in t or t["reachable"] == (t["bound"] <= t["limit"])
    assert {m["workload"]["name"] for m in data["memory"]} == {"tiny", "tiny-batch3"}
    assert set(data["scaling"]) == {"m", "n", "k", "B"}
    assert all(p["ms"]["read"] > 0 for points in data["scaling"].values() for p in points)
    assert {p["operator"] for p in data["factored"]} == {"RankOneSensing", "EntrySampling"}
    info = data["machine"]
    assert info["cores"] >= 1 and "load_average_before" in info
    assert info["table_cpu"] in info["affinity"]  # pinned for the table, then restored
    assert info["jax"] == (bench.jax_module().__version__ if jax else None)
    if jax:  # JAX's backend started in the pinned table: XLA saw one CPU
        assert info["jax_backend_cpus"] == 1
    for name in ("cost_dense", "cost_factored"):
        assert (tmp_path / f"smoke-{name}.png").stat().st_size > 0
    table = bench.markdown_table(data["table"], ratios_only=True)
    assert "| tiny |" in table and "recorded / pass" in table
    assert ("× over jax" in table) == jax


def test_table_only_times_the_table_alone(tmp_path):
    out = tmp_path / "table.json"
    done = run_script("--smoke", "--table-only", "--reps", "1", "--iters", "2", "--json", str(out))
    assert done.returncode == 0, done.stderr
    data = read_json(out)
    assert len(data["table"]) == 3
    assert not {"memory", "scaling", "factored", "other_threads"} & set(data)
    assert not list(tmp_path.glob("*.png"))


def test_the_bound_reads_A_at_the_speed_of_the_fastest_witness(bench):
    w = bench.Workload("w", 4, 3, 10, 2)
    ms = {"pass": 1.0, "read": 0.9, "read_4_segments": 0.8, "read_12_segments": 0.7}
    bound = bench.lower_bound(w, {**ms, "read_jax": 0.75}, 1e-9, 2e-9)
    assert bound["memory_witness"] == "read_12_segments" and bound["memory_ms"] == 0.7
    bound = bench.lower_bound(w, {**ms, "read_jax": 0.6}, 1e-9, 2e-9)
    assert bound["memory_witness"] == "read_jax" and bound["ratio_bound"] == 0.6
    slow = {"pass": 1.0, "read": 1.2, "read_4_segments": 1.1, "read_jax": 1.3}
    bound = bench.lower_bound(w, slow, 1e-9, 2e-9)
    assert bound["memory_witness"] == "pass" and bound["memory_ms"] == 1.0
    # a timer that is no read of A is no witness, however fast
    assert bench.lower_bound(w, {**ms, "kernel": 0.1}, 1e-9, 2e-9)["memory_ms"] == 0.7
    # float32: numpy's pass over the float32 array is the pass witness
    w32 = bench.Workload("w", 4, 3, 10, 2, dtype="float32")
    b32 = bench.lower_bound(w32, {"pass": 1.0, "pass_float32": 0.5, "read": 0.6}, 1e-9, 2e-9)
    assert b32["memory_witness"] == "pass_float32" and b32["ratio_bound"] == 0.5
    # older files: the pass and `read` alone
    assert bench.lower_bound(w, {"pass": 1.0}, 1e-9, 2e-9)["memory_witness"] == "pass"
    # the scaling series: the faster of its compiled reads
    point = {**asdict(w), "ms": {"read": 1.0, "read_4_segments": 0.5}}
    assert bench.series_bound_ms(point, gfma_per_s=1e3) == 0.5


def test_relative_targets_compare_two_columns_where_both_were_timed(bench):
    def row(name, **ms):
        ratios = {"package": ms["package"]}  # the targets against the pass read these
        return {"name": name, "ms": ms, "ratio_to_pass": ratios, "bound": {"ratio_bound": 0.1}}

    rows = [
        row("ci", package=1.0, jax=2.0, recorded=1.5),
        row("large", package=3.0, jax=2.0),
        row("ci-batch8", package=1.0),  # no JAX measured: no target
    ]
    found = {t["target"]: t for t in bench.targets(rows, []) if "bound" not in t}
    assert found["package / JAX, CI size"]["value"] == 0.5
    assert found["package / JAX, CI size"]["met"]
    assert found["package / JAX, large dense"]["value"] == 1.5
    assert not found["package / JAX, large dense"]["met"]
    recorded = found["recorded (history every iteration) / package, CI size"]
    assert recorded["value"] == 1.5 and recorded["limit"] == 1.3 and not recorded["met"]
    assert not any("B=8" in name for name in found)


def test_the_recorded_candidate_uses_the_truth_of_the_measurements(bench):
    w = bench.SMOKE[0]
    op, y = bench.problem(w)[:2]
    assert np.allclose(op(bench.truth(w)), y, rtol=1e-12, atol=0)


def test_lower_bound_is_the_slower_of_memory_and_arithmetic(bench):
    w = bench.Workload("w", 4, 3, 10, 2, batch=4)
    assert bench.fmas_per_run(w) == 2 * 10 * 12 + 3 * 2 * 12
    # pass 1 ms shared by 4 runs (0.25 ms each) against 312 multiply-adds at 1 ns each
    bound = bench.lower_bound(w, {"pass": 1.0}, fma_seconds=1e-9, blas_fma_seconds=2e-9)
    assert bound["memory_ms"] == 0.25 and bound["arithmetic_ms"] == pytest.approx(312e-6)
    assert bound["ratio_bound"] == 0.25 and bound["gfma_per_s"] == pytest.approx(1.0)
    assert bound["blas_gfma_per_s"] == pytest.approx(0.5)  # reported, not the bound
    slow = bench.lower_bound(w, {"pass": 1.0}, fma_seconds=1e-5, blas_fma_seconds=1.0)
    assert slow["ratio_bound"] == pytest.approx(3.12)  # 3.12 ms of arithmetic
    # a compiled read faster than numpy's pass lowers the memory limit; a slower one does not
    fast_read = bench.lower_bound(w, {"pass": 1.0, "read": 0.8}, 1e-9, 2e-9)
    assert fast_read["memory_ms"] == 0.2 and fast_read["ratio_bound"] == 0.2
    slow_read = bench.lower_bound(w, {"pass": 1.0, "read": 1.5}, 1e-9, 2e-9)
    assert slow_read["memory_ms"] == 0.25
    # float32: the read and the pass over the float32 array, as a ratio to the float64 pass
    w32 = bench.Workload("w", 4, 3, 10, 2, dtype="float32")
    b32 = bench.lower_bound(w32, {"pass": 1.0, "pass_float32": 0.6, "read": 0.5}, 1e-9, 2e-9)
    assert b32["memory_ms"] == 0.5 and b32["ratio_bound"] == 0.5


def test_a_scaling_point_is_bounded_by_its_read_or_its_arithmetic(bench):
    # 1 run: 2*10*12 + 3*2*12 = 312 multiply-adds; 4 runs share one read of A
    point = {**asdict(bench.Workload("w", 4, 3, 10, 2, batch=4)), "ms": {"read": 1.0}}
    assert bench.series_bound_ms(point, gfma_per_s=1.0) == 0.25  # read / B: 0.25 ms
    assert bench.series_bound_ms(point, gfma_per_s=1e-3) == pytest.approx(0.312)  # arithmetic


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("shape", [(1, 1), (3, 5), (7, 33)])
def test_the_compiled_read_sums_every_entry(bench, dtype, shape):
    A = np.random.default_rng(0).standard_normal(shape).astype(dtype)
    rtol = 1e-12 if dtype == np.float64 else 1e-5
    assert bench.read_every_entry(A) == pytest.approx(A.sum(dtype=np.float64), rel=rtol, abs=rtol)
    assert bench.read_timer(A, 3)() > 0


@pytest.mark.parametrize("segments", [1, 2, 4, 12])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("shape", [(1, 1), (3, 5), (7, 33), (12, 12)])
def test_the_read_in_segments_sums_every_entry(bench, segments, dtype, shape):
    # sizes below, at and past a multiple of the segment count: the tail is added too
    A = np.random.default_rng(1).standard_normal(shape).astype(dtype)
    read = bench.read_in_segments(segments)
    assert read is bench.read_in_segments(segments)  # compiled once per count
    rtol = 1e-12 if dtype == np.float64 else 1e-5
    assert read(A) == pytest.approx(A.sum(dtype=np.float64), rel=rtol, abs=rtol)
    ones = np.ones(shape, dtype)
    assert read(ones) == ones.size  # each entry once
    assert bench.read_timer(A, 3, read)() > 0


def test_the_witnesses_of_the_bound_include_the_reads_in_segments(bench):
    assert {f"read_{n}_segments" for n in bench.SEGMENTS} <= set(bench.READ_WITNESSES)


def test_one_cpu_pins_every_thread_and_restores_the_affinity(bench):
    if not hasattr(os, "sched_setaffinity"):
        pytest.skip("os.sched_setaffinity: Linux only")
    original = os.sched_getaffinity(0)
    started = threading.Event()
    done = threading.Event()
    seen = {}

    def worker():  # a thread started inside the block (as XLA's pool would be)
        seen["inside"] = os.sched_getaffinity(0)
        started.set()
        done.wait(30)
        seen["after"] = os.sched_getaffinity(0)

    with bench.one_cpu() as cpu:
        assert cpu == min(original) and os.sched_getaffinity(0) == {cpu}
        thread = threading.Thread(target=worker)
        thread.start()
        started.wait(30)
        assert seen["inside"] == {cpu}
    assert os.sched_getaffinity(0) == original
    done.set()
    thread.join(30)
    assert seen["after"] == original
    with pytest.raises(RuntimeError, match="inside"), bench.one_cpu():
        raise RuntimeError("inside")
    assert os.sched_getaffinity(0) == original
    with bench.one_cpu(enabled=False) as cpu:
        assert cpu is None and os.sched_getaffinity(0) == original


@pytest.fixture(scope="module")
def jax_or_skip(bench):
    jax = bench.jax_module()
    if jax is None:
        pytest.skip("jax is not importable (the optional peer: benchmarks/README.md)")
    return jax


@pytest.mark.parametrize("index", [0, 1, 2], ids=["single", "batch", "float32"])
def test_the_jax_peer_gives_the_package_iterates(bench, jax_or_skip, index):
    w = bench.SMOKE[index]
    op, y, U0, V0, step = bench.problem(w)
    dtype = np.dtype(w.dtype)
    A, y_run = op.matrix.astype(dtype), y.astype(dtype)
    U0, V0 = U0.astype(dtype), V0.astype(dtype)
    jax_gd = bench.jax_gd_batch if w.batch else bench.jax_gd
    for iters in (3, 5):  # another trip count: the same compiled loop
        U, V = jax_gd(A, y_run, U0, V0, dtype.type(step), iters)
        Up, Vp = bench.package_gd(op, y, U0, V0, step, iters, dtype=dtype)
        assert U.dtype == dtype and U.shape == (Up if w.batch else Up[0]).shape
        scale = max(np.abs(Up).max(), np.abs(Vp).max())
        tol = bench.RTOL if dtype == np.float64 else bench.RTOL32
        assert np.abs(U - (Up if w.batch else Up[0])).max() <= tol * scale
        assert np.abs(V - (Vp if w.batch else Vp[0])).max() <= tol * scale


def test_the_jax_loops_compile_once_for_every_trip_count(bench, jax_or_skip):
    from matrix_sensing.benchmark._peers import _jax_loops

    w = bench.SMOKE[0]
    op, y, U0, V0, step = bench.problem(w)
    single = _jax_loops()[0]
    bench.jax_gd(op.matrix, y, U0, V0, step, 2)
    compiled = single._cache_size()
    for iters in (1, 4, 7):
        bench.jax_gd(op.matrix, y, U0, V0, step, iters)
    assert single._cache_size() == compiled


def test_the_jax_read_witness_reads_A(bench, jax_or_skip):
    A = np.random.default_rng(2).standard_normal((7, 5))
    timer = bench.jax_read_timer(A, 3)
    assert timer() > 0 and bench.cpu_per_wall(timer) is None  # the first call is the warm-up
    timer()
    assert bench.cpu_per_wall(timer) > 0


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_peak_timer_compiles_for_this_cpu_and_times_something(bench, dtype):
    seconds = bench.peak_timer(dtype, iters=1000)()
    assert np.isfinite(seconds) and seconds > 0
    lanes = bench.host_lanes(dtype)
    ir = bench.peak_ir(dtype, lanes)
    assert ir.count("call <") == bench.PEAK_CHAINS and f"<{lanes} x " in ir


def test_run_refuses_bad_settings_naming_them(bench):
    for name, value, error in [
        ("reps", 0, ValueError),
        ("iters", 1.5, TypeError),
        ("min_seconds", -1.0, ValueError),
    ]:
        with pytest.raises(error, match=name):
            bench.run(smoke=True, **{name: value})


def test_the_script_refuses_bad_settings_in_one_line():
    script = [sys.executable, str(ROOT / "benchmarks/run.py")]
    done = subprocess.run([*script, "--reps", "0"], capture_output=True, text=True, timeout=120)
    assert done.returncode == 2 and "--reps and --iters must be integers >= 1" in done.stderr
    assert "Traceback" not in done.stderr


def test_importing_the_package_leaves_the_benchmark_and_its_peers_alone():
    code = (
        "import sys, matrix_sensing; "
        "print(sorted(m for m in ('matrix_sensing.benchmark', 'torch', 'jax', 'matplotlib') "
        "if m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.stdout.strip() == "[]", done.stderr
