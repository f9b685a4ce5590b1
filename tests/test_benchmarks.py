"""Smoke test of the benchmark (matrix_sensing.benchmark and its command line
benchmarks/run.py) on tiny sizes: it runs end to end and every peer gives the package's
iterates. Correctness only: speed is measured by the benchmark itself, never asserted here."""

from __future__ import annotations

import subprocess
import sys
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


def test_the_harness_runs_end_to_end_and_writes_its_results(bench, tmp_path):
    out = tmp_path / "smoke.json"
    script = [sys.executable, str(ROOT / "benchmarks/run.py")]
    argv = ["--smoke", "--reps", "1", "--iters", "2", "--json", str(out)]
    done = subprocess.run(script + argv, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    assert f"wrote {out}" in done.stdout and "| tiny |" in done.stdout
    data = read_json(out)  # checksum and provenance verified
    assert [row["name"] for row in data["table"]] == [w.name for w in bench.SMOKE]
    for row in data["table"]:
        assert row["ms"]["pass"] > 0 and row["ratio_to_pass"]["pass"] == 1
        bound = row["bound"]
        pass_ms = row["ms"].get(f"pass_{row['dtype']}", row["ms"]["pass"])
        read_ms = min(pass_ms, row["ms"]["read"])
        assert bound["memory_ms"] == pytest.approx(read_ms / max(row["batch"], 1))
        slower = max(bound["memory_ms"], bound["arithmetic_ms"])
        assert bound["ratio_bound"] == pytest.approx(slower / row["ms"]["pass"])
        assert row["bound"]["gfma_per_s"] > 0
    for t in data["targets"]:
        assert "bound" not in t or t["reachable"] == (t["bound"] <= t["limit"])
    assert {m["workload"]["name"] for m in data["memory"]} == {"tiny", "tiny-batch3"}
    assert set(data["scaling"]) == {"m", "n", "k", "B"}
    assert all(p["ms"]["read"] > 0 for points in data["scaling"].values() for p in points)
    assert {p["operator"] for p in data["factored"]} == {"RankOneSensing", "EntrySampling"}
    assert data["machine"]["cores"] >= 1 and "load_average_before" in data["machine"]
    for name in ("cost_dense", "cost_factored"):
        assert (tmp_path / f"smoke-{name}.png").stat().st_size > 0
    assert "| tiny |" in bench.markdown_table(data["table"], ratios_only=True)


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
        "print(sorted(m for m in ('matrix_sensing.benchmark', 'torch', 'matplotlib') "
        "if m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.stdout.strip() == "[]", done.stderr
