"""A claim's seeds side by side: the same runs, bit for bit, in this process, in worker
processes and on a Dask cluster; checkpoints that resume and are not trusted when damaged;
``run --workers``, ``run --all`` with its summary, and the costs ``list`` quotes."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from matrix_sensing import experiments, parallel, provenance, summary
from matrix_sensing.cli import main
from matrix_sensing.experiments.imbalance import alpha_squared_rates, equal_scale_slowdown

TINY = {
    "n1": 8,
    "n2": 6,
    "r": 2,
    "kappa": 2.0,
    "m": 80,
    "k": 6,
    "alpha_small": 1e-4,
    "alpha_large": 1.0,
    "step_small": 0.25,
    "step_large": 0.1,
    "iters_small": 200,
    "iters_large": 100,
}
SEEDS = [3, 0, 7]


def assert_identical(a, b, where="run"):
    """Same type, same values bit for bit (NaN equal to NaN), recursively."""
    assert type(a) is type(b), (where, type(a), type(b))
    if isinstance(a, np.ndarray):
        assert a.dtype == b.dtype and a.shape == b.shape, where
        assert np.array_equal(a, b, equal_nan=a.dtype.kind in "fc"), where
    elif isinstance(a, dict):
        assert list(a) == list(b), where
        for key in a:
            assert_identical(a[key], b[key], f"{where}[{key!r}]")
    elif isinstance(a, list | tuple):
        assert len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            assert_identical(x, y, f"{where}[{i}]")
    elif hasattr(a, "__dataclass_fields__"):
        assert_identical(vars(a), vars(b), where)
    elif isinstance(a, float) and a != a:
        assert b != b, where
    else:
        assert a == b, (where, a, b)


@pytest.fixture(scope="module")
def reference():
    """The runs of TINY on SEEDS, one after another in this process."""
    return experiments.run_seeds(experiments.small_vs_large_init, TINY, SEEDS, progress=False)


def test_run_seeds_is_the_plain_loop(reference):
    plain = [experiments.small_vs_large_init(**TINY, seed=s) for s in SEEDS]
    assert_identical(reference, plain)
    assert [run.seed for run in reference] == SEEDS


def test_worker_processes_give_the_same_bits(reference):
    got = experiments.run_seeds(
        experiments.small_vs_large_init, TINY, SEEDS, workers=2, progress=False
    )
    assert_identical(got, reference)


def test_a_dask_cluster_gives_the_same_bits(reference):
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(
        n_workers=1, threads_per_worker=1, processes=False, dashboard_address=None
    ) as cluster:
        with distributed.Client(cluster) as client:
            got = experiments.run_seeds(
                experiments.small_vs_large_init, TINY, SEEDS, scheduler=client, progress=False
            )
    assert_identical(got, reference)


N2_N3 = {"N2": alpha_squared_rates, "N3": equal_scale_slowdown}


def _n2_n3_params():
    from matrix_sensing import claims

    return {cid: claims.get(cid).params("ci") for cid in N2_N3}


def test_several_experiments_share_the_workers_and_come_back_by_name():
    params = _n2_n3_params()
    got = experiments.run_seeds(N2_N3, params, [0, 1], workers=2, progress=False)
    assert list(got) == ["N2", "N3"]
    for cid, function in N2_N3.items():
        assert [run.seed for run in got[cid]] == [0, 1]
        assert_identical(got[cid][1], function(**params[cid], seed=1))


def test_an_error_names_the_experiment_it_came_from():
    params = _n2_n3_params()
    params["N3"] = {**params["N3"], "m": -5}
    with pytest.raises(ValueError, match=r"^N3: m must be"):
        experiments.run_seeds(N2_N3, params, [0], workers=2, progress=False)
    with pytest.raises(ValueError, match=r"^m must be"):  # one experiment: no name to add
        experiments.run_seeds(equal_scale_slowdown, params["N3"], [0], progress=False)


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"workers": -1}, ValueError, r"workers must be an integer >= 0 and <= 256, got -1"),
        ({"workers": 1000}, ValueError, r"workers must be an integer >= 0 and <= 256, got 1000"),
        ({"workers": 1.5}, TypeError, r"workers must be an integer, got 1.5"),
        ({"seeds": []}, ValueError, r"seeds must contain at least one seed"),
        ({"params": [1, 2]}, TypeError, r"params must be a dict of the experiment's parameters"),
        ({"experiment": "M1"}, TypeError, r"experiment must be an experiment function"),
    ],
)
def test_bad_input_is_refused_naming_the_parameter(kwargs, error, message):
    arguments = {
        "experiment": experiments.small_vs_large_init,
        "params": TINY,
        "seeds": [0],
        "progress": False,
        **kwargs,
    }
    with pytest.raises(error, match=message):
        experiments.run_seeds(**arguments)


def test_execute_delivers_every_result_once_and_raises_a_tasks_error():
    got = {}
    parallel.execute(abs, [-3, 1, -2, 5], got.__setitem__, workers=2)
    assert got == {0: 3, 1: 1, 2: 2, 3: 5}
    with pytest.raises(TypeError, match="bad operand type for abs"):
        parallel.execute(abs, [1, "x", 2], lambda i, r: None, workers=2)


class Counting:
    """An experiment that counts its calls (runs in this process: workers=1)."""

    def __init__(self):
        self.calls = []
        self.__name__ = self.__qualname__ = "counting"
        self.__module__ = __name__

    def __call__(self, *, seed, **params):
        self.calls.append(seed)
        return experiments.small_vs_large_init(**params, seed=seed)


def test_checkpoints_resume_with_the_runs_kept(reference, tmp_path):
    first = Counting()
    experiments.run_seeds(first, TINY, SEEDS[:2], checkpoints=tmp_path, progress=False)
    assert first.calls == SEEDS[:2]
    assert experiments.checkpoint_progress(tmp_path) == (2, 2)
    again = Counting()
    got = experiments.run_seeds(again, TINY, SEEDS, checkpoints=tmp_path, progress=False)
    assert again.calls == SEEDS[2:]  # only the seed not kept
    assert experiments.checkpoint_progress(tmp_path) == (3, 3)
    assert_identical(got, reference)


def test_checkpoints_of_other_parameters_or_damaged_are_not_used(reference, tmp_path):
    experiments.run_seeds(Counting(), TINY, SEEDS, checkpoints=tmp_path, progress=False)
    other = Counting()
    experiments.run_seeds(
        other, {**TINY, "iters_small": 201}, SEEDS[:1], checkpoints=tmp_path, progress=False
    )
    assert other.calls == SEEDS[:1]
    kept = sorted(tmp_path.glob("counting-seed0-*.json"))
    assert len(kept) == 1
    text = kept[0].read_text()
    kept[0].write_text(text.replace('"iters": 200', '"iters": 199', 1))  # an edited record
    npz = next(tmp_path.glob("counting-seed7-*.npz"))
    npz.write_bytes(npz.read_bytes()[:-20])  # a truncated array file
    again = Counting()
    got = experiments.run_seeds(again, TINY, SEEDS, checkpoints=tmp_path, progress=False)
    assert sorted(again.calls) == [0, 7]
    assert_identical(got, reference)


def test_a_checkpoint_keeps_every_type_it_is_given(tmp_path):
    from matrix_sensing.experiments import Run

    run = Run(
        experiment="x",
        params={"alphas": [0.1, 0.2], "shape": (3, 4)},
        seed=1,
        truth=np.eye(2),
        data={
            "nan": float("nan"),
            "inf": -float("inf"),
            "np_scalar": np.float32(1.5),
            "count": np.int64(7),
            "nested": {"a": [1, None, True, "s"], 3: (np.arange(3), [])},
            "empty": np.zeros((0, 2), dtype=np.complex128),
        },
    )

    def keep(*, seed, **params):
        return run

    keep.__module__ = __name__
    experiments.run_seeds(keep, {}, [1], checkpoints=tmp_path, progress=False)
    called = []

    def again(*, seed, **params):
        called.append(seed)
        return run

    again.__module__, again.__name__, again.__qualname__ = __name__, "keep", keep.__qualname__
    (back,) = experiments.run_seeds(again, {}, [1], checkpoints=tmp_path, progress=False)
    assert called == []
    assert_identical(back, run)


def test_summary_table_and_costs(tmp_path):
    record = {
        "provenance": {"started": "2026-01-01T00:00:00+00:00"},
        "verdicts": [
            {
                "id": "M1",
                "passed": True,
                "seeds": [0, 1],
                "seeds_passed": 2,
                "checks": [
                    {
                        "quantity": "test_error",
                        "relation": "<=",
                        "threshold": 1e-3,
                        "worst": 1e-4,
                        "margin": 10.0,
                    }
                ],
            }
        ],
    }
    entries = [
        summary.entry("m1_m2_small_vs_large_init", record, 130.0, "run"),
        summary.failed_entry("n8_nystrom", ["N8"], 5.0, "exit 1: DivergenceError"),
    ]
    path = summary.write(
        tmp_path, entries, scale="paper", options={"workers": 2}, started=provenance.now()
    )
    data = provenance.read_json(path)
    table = (tmp_path / "summary.md").read_text()
    assert "| M1 | PASS 2/2 | test_error = 0.0001 (<= 0.001) | ×10 | 2 min 10 s |" in table
    assert "| N8 | ERROR | exit 1: DivergenceError | – | 5.0 s |" in table
    assert summary.total_wall_s(data) == 135.0
    recorded = tmp_path / "claims-paper-2026-01-01-workers2.json"
    recorded.write_bytes(path.read_bytes())
    assert summary.recorded("paper", tmp_path) is None  # by default, a run one at a time
    found = summary.recorded("paper", tmp_path, workers=2)
    assert summary.cost_per_seed(found, "m1_m2_small_vs_large_init") == 65.0
    assert summary.cost_per_seed(found, "n8_nystrom") is None
    assert summary.recorded("ci", tmp_path) is None
    assert [summary.duration(s) for s in (4.44, 42.4, 61, 3725)] == [
        "4.4 s",
        "42 s",
        "1 min 01 s",
        "1 h 02 min",
    ]


def test_list_quotes_the_recorded_wall_time_per_seed(capsys):
    assert main(["list"]) == 0
    out = capsys.readouterr().out
    assert out.count("wall time per seed: ci ") == 15
    for scale in ("ci", "paper"):
        found = summary.recorded(scale)
        assert found is not None, f"no recorded run of every claim at {scale} scale"
        per_seed = summary.cost_per_seed(found, "m1_m2_small_vs_large_init")
        assert f"{scale} {summary.duration(per_seed)}" in out
        assert f"wall times at {scale} scale: `run --all` of {summary.measured_on(found)}" in out


# The command line: the same numbers with --workers, and --all with its summary and resume.
def _cli(*args, cwd):
    return subprocess.run(
        [sys.executable, "-m", "matrix_sensing", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=600,
    )


def test_run_with_workers_gives_the_same_results(tmp_path):
    outs = {}
    for workers in ("1", "2"):
        out = tmp_path / f"w{workers}"
        args = ["run", "N8", "--seeds", "0", "1", "2", "--workers", workers]
        proc = _cli(*args, "--out", out, cwd=tmp_path)
        assert proc.returncode == 0, proc.stderr[-2000:]
        outs[workers] = provenance.read_npz(out / "results.npz")
        assert not (out / "checkpoints").exists()  # removed once the notebook finished
        params = provenance.read_json(out / "results.json")["provenance"]["params"]
        assert params["workers"] == int(workers)
    assert outs["1"].keys() == outs["2"].keys()
    for key in outs["1"]:
        assert np.array_equal(outs["1"][key], outs["2"][key]), key


def test_run_all_writes_a_folder_per_notebook_and_a_summary_and_resumes(tmp_path):
    out = tmp_path / "all"
    # The two quickest claim notebooks.
    args = ["run", "--all", "--only", "N8", "N10", "--seeds", "0", "--workers", "2"]
    proc = _cli(*args, "--out", out, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert sorted(p.name for p in out.iterdir() if p.is_dir()) == ["n10_nuclear_norm", "n8_nystrom"]
    data = provenance.read_json(out / "summary.json")
    assert [e["claims"] for e in data["notebooks"]] == [["N8"], ["N10"]]
    assert all(e["status"] == "run" for e in data["notebooks"])
    assert data["provenance"]["verdict"] == {"N10": True, "N8": True}
    assert "| N8 | PASS 1/1 |" in proc.stdout and "| N10 | PASS 1/1 |" in proc.stdout
    assert proc.stdout.strip().endswith((out / "summary.md").read_text().strip())
    assert "N8 PASS (1/1 seeds)" in proc.stdout  # each notebook's verdicts as it finishes
    first = (out / "n8_nystrom" / "results.json").stat().st_mtime_ns
    again = _cli(*args, "--out", out, cwd=tmp_path)
    assert again.returncode == 0, again.stderr[-2000:]
    assert "2 of 2 notebooks finished before: kept" in again.stderr
    assert (out / "n8_nystrom" / "results.json").stat().st_mtime_ns == first
    data = provenance.read_json(out / "summary.json")
    assert all(e["status"] == "done before" for e in data["notebooks"])


def test_run_all_stops_on_ctrl_c_and_resumes(tmp_path):
    out = tmp_path / "all"
    args = [sys.executable, "-m", "matrix_sensing", "run", "--all", "--only", "N8", "M1"]
    args += ["--seeds", "0", "1", "--out", str(out), "--quiet"]
    # As from a terminal: SIGINT at its default (an xdist worker ignores it, and a child
    # would inherit that).
    proc = subprocess.Popen(
        args,
        cwd=tmp_path,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    deadline = time.monotonic() + 300
    # Wait until a run of M1's notebook is kept, then interrupt.
    while not list(out.glob("m1_m2_small_vs_large_init/checkpoints/*.json"))[1:]:
        assert proc.poll() is None and time.monotonic() < deadline, proc.stderr
        time.sleep(0.2)
    os.kill(proc.pid, signal.SIGINT)
    _, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 130, stderr
    assert "the same command resumes" in stderr.splitlines()[-1], stderr
    assert not (out / "summary.json").exists()
    done = _cli(*args[3:], cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-2000:]
    data = provenance.read_json(out / "summary.json")
    assert {v["id"] for e in data["notebooks"] for v in e["verdicts"]} == {"M1", "M2", "N8"}
    assert json.loads(json.dumps(data["provenance"]["verdict"])) == {
        "M1": True,
        "M2": True,
        "N8": True,
    }


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["run"], "give a claim id (see `list`) or --all"),
        (["run", "M1", "--all"], "give a claim id or --all, not both"),
        (["run", "--all", "-p", "m", "5"], "-p sets a parameter of one claim's notebook"),
        (["run", "M1", "--only", "N8"], "--only chooses claims for --all"),
        (["run", "--all", "--only", "Q9"], "--only: claim_id must be one of"),
        (["run", "--all", "--workers", "-2"], "workers must be an integer >= 0"),
        (["run", "M1", "--workers", "-2"], "workers"),
    ],
)
def test_bad_usage_of_run_all_and_workers(args, message, capsys, tmp_path):
    assert main([*args, "--out", str(tmp_path / "x")]) == 2
    assert message in capsys.readouterr().err
