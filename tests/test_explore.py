"""The page "Explore the dynamics": its data (book/_ext/explore_data.py) are the package's
runs to the last digit, and its controls, moved with the keyboard in a real browser, plot
the runs of the grid point they name."""

from __future__ import annotations

import dataclasses
import importlib.util
import math
import sys
from pathlib import Path

import numpy as np
import pytest
from _browser import guarded_page
from _numerics import rel_diff

import matrix_sensing as ms
from matrix_sensing import claims, metrics
from matrix_sensing.experiments._common import sensing_problem, spawn_seeds
from matrix_sensing.experiments.initialization_scale import small_vs_large_init
from matrix_sensing.fits import loglog_fit

ROOT = Path(__file__).resolve().parents[1]
PAGE = "book/explore.html"
CONTROLS = ("alpha", "k", "m", "seed")


def _extension():
    name = "explore_data"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, ROOT / "book" / "_ext" / f"{name}.py")
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module  # dataclasses look the module up while it loads
        spec.loader.exec_module(module)
    return sys.modules[name]


explore = _extension()

# A reduced grid on the page's configuration: a run that diverges (α = 1 at k = r), one
# that interpolates without generalizing (α = 1, k = n1) and small initializations.
SMALL = dict(
    alphas=(1.0, 1e-2, 1e-6),
    widths=(2, 40),
    measurements=(560,),
    seeds=(1,),
    iters=200,
    record_every=10,
)


@pytest.fixture(scope="module")
def small_data(tmp_path_factory):
    grid = dataclasses.replace(explore.default_grid(), **SMALL)
    data = explore.compute(grid, workers=2)
    # Through the file, as the page gets it.
    path = explore.write(tmp_path_factory.mktemp("explore") / explore.FILENAME, data)
    return grid, explore.read(path)


def test_the_grid_is_the_one_the_page_promises():
    base, grid = explore.configuration(), explore.default_grid()
    ci = claims.get("M3").params("ci")
    assert {key: base[key] for key in ("n1", "n2", "r", "kappa", "m", "k", "step")} == {
        key: ci[key] for key in ("n1", "n2", "r", "kappa", "m", "k", "step")
    }
    assert len(grid.alphas) >= 8 and max(grid.alphas) == 1.0 and min(grid.alphas) == 1e-8
    assert list(grid.alphas) == sorted(grid.alphas, reverse=True)
    r, n1 = base["r"], base["n1"]
    assert grid.widths[:2] == (r, 2 * r) and grid.widths[-1] == n1 and len(grid.widths) == 4
    assert 2 * r < grid.widths[2] < n1
    assert len(grid.measurements) == 3 and grid.measurements[1] == base["m"]
    assert list(grid.measurements) == sorted(grid.measurements)
    assert len(grid.seeds) == 3
    # The slope is fitted over the α values of claim M3, all of which are on the grid.
    assert set(ci["alphas_error"]) <= set(grid.alphas)


def test_the_data_are_direct_runs_of_factorized_gd(small_data):
    """Every grid point equals factorized_gd run alone (not in a batch) to 1e-12, with its
    σ_i and sines computed by the package's metrics functions; a run that blows up is
    recorded up to the iteration at which a run alone raises DivergenceError."""
    grid, data = small_data
    runs = explore.decode(data)
    base = data["configuration"]
    assert data["fields"] == list(explore.FIELDS)
    assert data["provenance"]["schema"] == "matrix-sensing/result/1"
    assert data["provenance"]["params"]["iters"] == grid.iters
    assert data["grid"] == {
        "alpha": list(grid.alphas),
        "k": list(grid.widths),
        "m": list(grid.measurements),
        "seed": list(grid.seeds),
    }
    n1, n2, r = base["n1"], base["n2"], base["r"]
    diverged = 0
    for iseed, seed in enumerate(grid.seeds):
        problem_seed, init_seed = spawn_seeds(seed, 2)
        for im, m in enumerate(grid.measurements):
            truth, op, y = sensing_problem(n1, n2, r, base["kappa"], m, seed=problem_seed)
            left, right = metrics.top_singular_subspaces(truth, r)
            hooks = {
                "sv": lambda U, V: metrics.singular_values(U @ V.T)[:4],
                "sin_left": lambda U, V, L=left: metrics.top_subspace_sine(U @ V.T, L),
                "sin_right": lambda U, V, R=right: metrics.top_subspace_sine(V @ U.T, R),
            }
            sigma = np.linalg.svd(truth, compute_uv=False)[:r]
            np.testing.assert_allclose(data["truth_sigma"][iseed], sigma, rtol=1e-14)
            for ia, alpha in enumerate(grid.alphas):
                for ik, k in enumerate(grid.widths):
                    U0, V0 = ms.small_random_init(n1, n2, k, alpha, seed=init_seed)
                    got = runs[(ia, ik, im, iseed)]
                    (entry,) = [
                        e
                        for e in data["runs"]
                        if (e["alpha"], e["k"], e["m"], e["seed"]) == (ia, ik, im, iseed)
                    ]
                    kwargs = dict(truth=truth, metrics=hooks)
                    try:
                        alone = ms.factorized_gd(
                            op,
                            y,
                            U0,
                            V0,
                            base["step"],
                            grid.iters,
                            record_every=grid.record_every,
                            **kwargs,
                        )
                    except ms.DivergenceError as exc:
                        diverged += 1
                        assert entry["diverged"] == {"iteration": exc.iteration, "loss": exc.loss}
                        assert entry["final_test_error"] is None
                        alone = ms.factorized_gd(
                            op, y, U0, V0, base["step"], exc.iteration - 1, record_every=1, **kwargs
                        )
                    else:
                        assert entry["diverged"] is None
                        assert entry["final_test_error"] == got["test_error"][-1]
                    _assert_same(got, alone, r, (alpha, k, m, seed))
    # The reduced grid has both kinds of run.
    assert 0 < diverged < len(data["runs"])


def _assert_same(got: dict, alone, r: int, where) -> None:
    history = alone.history
    np.testing.assert_array_equal(got["iteration"], history["iteration"], err_msg=str(where))
    sv, k = np.asarray(history["sv"]), alone.U.shape[1]
    for field in ("test_error", "train_loss"):
        assert rel_diff(got[field], history[field]) < 1e-12, (where, field)
    # Iterates equal to 1e-12 (relative) move every σ_i by at most 1e-12 σ_1 (Weyl), so a
    # small σ_i agrees in absolute, not relative, terms.
    for i in range(min(k, 4)):
        error = np.abs(got[f"sigma_{i + 1}"] - sv[:, i])
        assert np.all(error <= 1e-12 * sv[:, 0]), (where, f"sigma_{i + 1}")
    # Beyond the width, σ_i(U V^T) = 0 (rank <= k): the file says 0, the SVD rounding.
    for i in range(k, 4):
        assert np.all(got[f"sigma_{i + 1}"] == 0), where
        assert np.all(sv[:, i] <= 1e-12 * sv[:, 0]), where
    # The sines are as well determined as the top-r singular subspaces of U V^T: iterates
    # equal to 1e-12 (relative) give sines equal to 1e-12 σ_1 / (σ_r - σ_{r+1}) (Wedin's
    # theorem), which is far above 1e-12 while σ_r is still growing out of the
    # initialization (the batch and the run alone then differ in the 12th digit).
    sensitivity = sv[:, 0] / (sv[:, r - 1] - sv[:, r])
    for field in ("sin_left", "sin_right"):
        error = np.abs(got[field] - history[field])
        assert np.all(error <= 1e-12 * (1 + sensitivity)), (where, field, error / sensitivity)
    # ||U^T U - V^T V|| cancels O(||U||^2) terms: its rounding is absolute (as in
    # test_fast_paths.assert_same_run).
    scale = max(np.linalg.norm(alone.U, 2), np.linalg.norm(alone.V, 2)) ** 2
    assert np.max(np.abs(got["imbalance"] - history["imbalance"])) < 1e-12 * scale, where


@pytest.mark.parametrize("k", [2, 3, 10, 40])
@pytest.mark.parametrize("scale", [1e-6, 1.0])
def test_the_hook_computes_the_package_metrics(k, scale):
    """On the same factors, the page's one-SVD hook gives σ_1..σ_4 and the sines of
    ``metrics.singular_values`` and ``metrics.top_subspace_sine`` (0 for σ_i, i > k)."""
    rng = np.random.default_rng(k)
    truth = ms.low_rank_target(40, 30, 2, 2.0, seed=k)
    left, right = metrics.top_singular_subspaces(truth, 2)
    U, V = scale * rng.standard_normal((40, k)), scale * rng.standard_normal((30, k))
    U[:, :2] += left  # a clear gap after σ_2, as once the directions are learned
    V[:, :2] += right
    values = explore.TrajectoryMetrics(truth, 2)(U, V)
    sv = metrics.singular_values(U @ V.T)[:4]
    sv[k:] = 0.0
    # LAPACK with and without singular vectors rounds differently: a few ulps of σ_1.
    np.testing.assert_allclose(values[:4], sv, rtol=1e-12, atol=1e-15 * sv[0])
    np.testing.assert_allclose(
        values[4:],
        [metrics.top_subspace_sine(U @ V.T, left), metrics.top_subspace_sine(V @ U.T, right)],
        rtol=1e-12,
        atol=1e-15,
    )


def test_the_problem_and_initialization_are_those_of_the_claims(small_data):
    """The grid point (α = 1e-6, k = n1, m, seed) is the small run of claim M1's experiment
    on that seed (shortened to the grid's T)."""
    grid, data = small_data
    runs = explore.decode(data)
    base = data["configuration"]
    params = {**claims.get("M1").params("ci"), "iters_small": grid.iters, "iters_large": 0}
    run = small_vs_large_init(**params, seed=grid.seeds[0], record_every=grid.record_every)
    got = runs[
        (
            grid.alphas.index(params["alpha_small"]),
            grid.widths.index(base["k"]),
            grid.measurements.index(params["m"]),
            0,
        )
    ]
    small = run.results["small"].history
    np.testing.assert_array_equal(got["iteration"], small["iteration"])
    assert rel_diff(got["test_error"], small["test_error"]) < 1e-12


def test_the_slope_is_m3s_fit_over_m3s_alphas(small_data):
    grid, data = small_data
    m3_alphas = [a for a in claims.get("M3").params("ci")["alphas_error"] if a in grid.alphas]
    finals = {(e["alpha"], e["k"], e["m"], e["seed"]): e["final_test_error"] for e in data["runs"]}
    assert len(data["m3_fits"]) == len(grid.widths) * len(grid.measurements) * len(grid.seeds)
    for fit in data["m3_fits"]:
        ik, im = grid.widths.index(fit["k"]), grid.measurements.index(fit["m"])
        iseed = grid.seeds.index(fit["seed"])
        assert fit["alphas"] == m3_alphas
        if len(m3_alphas) < 2:
            assert "slope" not in fit
            continue
        errors = [finals[(grid.alphas.index(a), ik, im, iseed)] for a in m3_alphas]
        expected = loglog_fit(m3_alphas, errors)
        assert (fit["slope"], fit["intercept"]) == (expected.slope, expected.intercept)


def test_a_damaged_data_file_is_refused(tmp_path):
    path = tmp_path / explore.FILENAME
    path.write_text('{"not": "the page data"}')
    with pytest.raises(ValueError, match="not a data file of the Explore page"):
        explore.read(path)


# The built page in a browser -----------------------------------------------------------


@pytest.fixture(scope="module")
def built_data(built_book):
    if built_book.returncode != 0:
        pytest.fail("the book did not build; see test_book_builds_without_warnings")
    path = built_book.html / "book" / explore.FILENAME
    assert path.is_file(), f"the build wrote no {explore.FILENAME} beside the page"
    data = explore.read(path)
    return data, explore.decode(data)


@pytest.mark.book
def test_the_built_page_is_in_the_book_and_linked_from_the_front_page(built_book, built_data):
    data, runs = built_data
    grid = explore.default_grid()
    assert data["grid"] == {
        "alpha": list(grid.alphas),
        "k": list(grid.widths),
        "m": list(grid.measurements),
        "seed": list(grid.seeds),
    }
    assert len(runs) == math.prod(len(v) for v in data["grid"].values())
    front = (built_book.html / "book" / "intro.html").read_text(encoding="utf-8")
    assert 'href="explore.html"' in front
    page = (built_book.html / PAGE).read_text(encoding="utf-8")
    assert "explore.js" in page and f'data-src="{explore.FILENAME}"' in page
    # The script and style are loaded by this page only.
    other = (built_book.html / "book" / "setup.html").read_text(encoding="utf-8")
    assert "explore.js" not in other and "explore.css" not in other


def _state(page) -> dict:
    return page.evaluate("() => explore.current()")


def _assert_plotted(page, state: dict, data: dict, runs: dict) -> None:
    """The plotted series are the file's values at the selected grid point."""
    key = tuple(state["indices"][name] for name in CONTROLS)
    grid = data["grid"]
    assert state["selection"] == {name: grid[name][state["indices"][name]] for name in CONTROLS}
    expected = runs[key]
    assert set(state["series"]) == set(expected)
    for field, values in expected.items():
        assert np.array_equal(np.array(state["series"][field], dtype=float), values), field
    run_key = ",".join(str(i) for i in key)
    tags = page.eval_on_selector_all(
        ".explore-figures path[data-series]", "ps => ps.map(p => p.dataset.run)"
    )
    assert tags and set(tags) == {run_key}, tags
    fit = next(
        f
        for f in data["m3_fits"]
        if (f["k"], f["m"], f["seed"])
        == (grid["k"][key[1]], grid["m"][key[2]], grid["seed"][key[3]])
    )
    assert state["fit"] == fit


@pytest.mark.browser
def test_the_keyboard_moves_every_control_and_the_plots_follow(site, browser, built_data):
    data, runs = built_data
    problems: list[str] = []
    page = guarded_page(browser, f"{site}/{PAGE}", problems)
    page.goto(f"{site}/{PAGE}", wait_until="networkidle")
    page.wait_for_function("() => window.explore && window.explore.current", timeout=20000)
    state = _state(page)
    _assert_plotted(page, state, data, runs)
    for name in CONTROLS:
        slider = page.locator(f"#explore-{name}")
        label = page.locator(f"label[for=explore-{name}]")
        assert label.count() == 1 and label.inner_text().strip()
        slider.focus()
        before = state
        size = len(data["grid"][name])
        position = int(slider.input_value())
        key = "ArrowLeft" if position == size - 1 else "ArrowRight"
        page.keyboard.press(key)
        state = _state(page)
        assert int(slider.input_value()) == position + (1 if key == "ArrowRight" else -1)
        changed = [c for c in CONTROLS if state["indices"][c] != before["indices"][c]]
        assert changed == [name], (name, before["indices"], state["indices"])
        _assert_plotted(page, state, data, runs)
        # The new value is said in text: beside the slider, to assistive technology, and in
        # the live summary.
        value_text = page.inner_text(f"#explore-{name}-value")
        assert value_text and slider.get_attribute("aria-valuetext") == value_text
        assert value_text in page.inner_text(".explore-status")
        assert page.get_attribute(".explore-status", "aria-live") == "polite"

    # A run that diverges (α = 1 at the narrowest width): Home/End reach the ends.
    page.locator("#explore-k").focus()
    page.keyboard.press("Home")
    page.locator("#explore-alpha").focus()
    page.keyboard.press("End")  # the α slider has the largest α on the right
    state = _state(page)
    assert state["selection"]["alpha"] == max(data["grid"]["alpha"])
    assert state["selection"]["k"] == min(data["grid"]["k"])
    _assert_plotted(page, state, data, runs)
    assert state["diverged"] is not None
    assert f"diverged at iteration {state['diverged']['iteration']}" in page.inner_text(
        ".explore-status"
    )
    page.close()
    assert not problems, "\n".join(problems)
