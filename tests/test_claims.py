"""Claims M1/M2 at the 'ci' scale over five seeds, the verdict machinery, and the statements
rendered from the thresholds."""

from __future__ import annotations

import dataclasses
import math
import re

import numpy as np
import pytest

from matrix_sensing import claims
from matrix_sensing.experiments.declaration import declaration_of

SEEDS = range(5)
# A cheap configuration for tests of bookkeeping (not of the claims themselves).
CHEAP = {"iters_small": 20, "iters_large": 20}


@pytest.fixture(scope="module")
def runs():
    # M1 and M2 share the experiment 'small_vs_large_init': run it once per seed.
    assert claims.get("M1").experiment is claims.get("M2").experiment
    return {seed: claims.run_experiment("M1", seed) for seed in SEEDS}


@pytest.fixture(scope="module")
def results(runs):
    return {
        claim_id: [claims.evaluate(claim_id, runs[seed]) for seed in SEEDS]
        for claim_id in ("M1", "M2")
    }


def fake_result(claim_id, seed=0, **measured):
    return claims.ClaimResult(claims.get(claim_id), seed, measured)


M1_PASSING = {"test_error": 1e-4, "train_loss": 1e-9}
M1_FAILING = {"test_error": 2e-3, "train_loss": 1e-9}  # test error past 1e-3


def test_ids_start_with_main_paper_claims():
    assert claims.ids()[:2] == ["M1", "M2"]
    assert len(claims.ids()) == len(set(claims.ids()))
    for claim_id in claims.ids():
        claim = claims.get(claim_id)
        assert claim.id == claim_id
        assert set(claim.scales) >= set(claims.SCALES)


# The claims hold ------------------------------------------------------------------------


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("claim_id", ["M1", "M2"])
def test_claim_passes_on_seed(results, claim_id, seed):
    result = results[claim_id][seed]
    assert result.seed == seed
    assert result.passed, result.line()
    assert result.line().startswith(f"{claim_id} PASS (seed {seed})")
    assert result.params == claims.get(claim_id).params("ci")


@pytest.mark.parametrize("claim_id", ["M1", "M2"])
def test_verdict_over_five_seeds(results, claim_id):
    verdict = claims.verdict(claim_id, results[claim_id])
    assert verdict.passed
    assert verdict.seeds_passed == 5
    assert verdict.line().startswith(f"{claim_id} PASS (5/5 seeds)")
    verdict.raise_if_failed()  # does not raise
    assert all(margin >= 1 for margin in verdict.margins().values())


def test_m1_and_m2_measure_the_same_small_run(results):
    for m1, m2 in zip(results["M1"], results["M2"], strict=True):
        assert m2.measured["small_test_error"] == m1.measured["test_error"]


def test_large_init_interpolates_without_generalizing(runs):
    # The substance of M2, read directly off the histories.
    for run in runs.values():
        large = run.results["large"].history
        assert large["train_loss"][-1] <= 1e-8
        assert large["test_error"][-1] >= 0.3
        assert large["test_error"][-1] > 100 * run.results["small"].history["test_error"][-1]


# Verdict machinery ------------------------------------------------------------------------


def test_synthetic_failure_fails_the_verdict():
    passing = [fake_result("M1", seed, **M1_PASSING) for seed in range(4)]
    failing = fake_result("M1", 4, **M1_FAILING)
    assert all(r.passed for r in passing) and not failing.passed
    assert "FAIL (seed 4)" in failing.line()

    verdict = claims.verdict("M1", [*passing, failing])
    assert not verdict.passed
    assert verdict.seeds_passed == 4
    assert verdict.line().startswith("M1 FAIL (4/5 seeds)")
    assert "test_error=2.00e-03" in verdict.line()  # the worst seed is shown
    with pytest.raises(claims.ClaimFailed, match="M1"):
        verdict.raise_if_failed()
    assert issubclass(claims.ClaimFailed, AssertionError)


def test_synthetic_m2_failure_on_lower_bound():
    result = fake_result("M2", large_train_loss=1e-12, large_test_error=0.1, small_test_error=1e-4)
    assert not result.passed
    verdict = claims.verdict("M2", [result])
    assert "FAIL" in verdict.line()
    assert verdict.worst()["large_test_error"] == 0.1


def test_empty_verdict_does_not_pass():
    assert not claims.verdict("M1", []).passed


@pytest.mark.parametrize("relation", ["<=", ">="])
@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
def test_threshold_non_finite_never_holds(relation, bad):
    assert not claims.Threshold("q", relation, 1.0).holds(bad)


def test_nan_measurement_fails_verdict():
    results = [
        fake_result("M1", 0, **M1_PASSING),
        fake_result("M1", 1, test_error=math.nan, train_loss=1e-9),
    ]
    verdict = claims.verdict("M1", results)
    assert not verdict.passed
    assert math.isnan(verdict.worst()["test_error"])
    assert "FAIL" in verdict.line()


def test_threshold_holds_at_boundary():
    assert claims.Threshold("q", "<=", 1e-3).holds(1e-3)
    assert claims.Threshold("q", ">=", 0.3).holds(0.3)
    assert not claims.Threshold("q", "<=", 1e-3).holds(1.0001e-3)


def test_margins():
    upper = claims.Threshold("q", "<=", 1e-3)
    assert upper.margin(1e-4) == pytest.approx(10.0)
    assert upper.margin(2e-3) == pytest.approx(0.5)  # < 1 when failing
    assert upper.margin(0.0) == math.inf
    lower = claims.Threshold("q", ">=", 0.3)
    assert lower.margin(0.6) == pytest.approx(2.0)
    assert lower.margin(0.15) == pytest.approx(0.5)
    assert upper.worst([1e-5, 3e-4, 2e-4]) == 3e-4
    assert lower.worst([0.9, 0.4, 0.7]) == 0.4


def test_verdict_margins_use_worst_seed():
    results = [
        fake_result("M1", 0, test_error=1e-4, train_loss=1e-8),
        fake_result("M1", 1, test_error=2e-4, train_loss=1e-9),
    ]
    margins = claims.verdict("M1", results).margins()
    assert margins["test_error"] == pytest.approx(5.0)  # 1e-3 / 2e-4
    assert margins["train_loss"] == pytest.approx(100.0)  # 1e-6 / 1e-8


def test_verdict_margins_for_lower_bound():
    results = [
        fake_result("M2", s, large_train_loss=1e-10, large_test_error=v, small_test_error=1e-4)
        for s, v in enumerate([0.9, 0.6])
    ]
    margins = claims.verdict("M2", results).margins()
    assert margins["large_test_error"] == pytest.approx(2.0)  # 0.6 / 0.3
    assert margins["large_train_loss"] == pytest.approx(100.0)
    assert margins["small_test_error"] == pytest.approx(10.0)


# Determinism and overrides ------------------------------------------------------------------


def test_same_seed_same_measurements():
    first = claims.check("M1", 3, **CHEAP)
    second = claims.check("M1", 3, **CHEAP)
    assert first.measured == second.measured
    run = claims.run_experiment("M1", 3, **CHEAP)
    assert claims.evaluate("M1", run).measured == first.measured
    assert claims.check("M1", 4, **CHEAP).measured != first.measured


def test_overrides_change_parameters_and_fail_honestly():
    result = claims.check("M1", 0, iters_small=10, iters_large=1)
    assert result.params["iters_small"] == 10 and result.params["iters_large"] == 1
    assert not result.passed
    assert result.measured["test_error"] > 1e-3
    assert "FAIL" in result.line()
    # The registry's own parameters are untouched by the override.
    assert claims.get("M1").params("ci")["iters_small"] == 1500


def test_params_scales():
    claim = claims.get("M1")
    ci, paper = claim.params("ci"), claim.params("paper")
    assert set(ci) == set(paper)
    assert paper["n1"] > ci["n1"]
    assert claim.params("ci", k=7)["k"] == 7


def test_record_is_json_with_every_verdict():
    import json

    from matrix_sensing.claims import ClaimResult, Verdict

    claim = claims.get("M1")
    result = ClaimResult(claim, 0, {"test_error": 2e-3, "train_loss": 1e-9})
    record = json.loads(claims.record([Verdict(claim, (result,))], runtime_s=1.5))
    assert record["runtime_s"] == 1.5
    (verdict,) = record["verdicts"]
    assert verdict["id"] == "M1" and verdict["passed"] is False
    assert verdict["checks"][0] == {
        "quantity": "test_error",
        "relation": "<=",
        "threshold": 1e-3,
        "worst": 2e-3,
        "margin": 0.5,
    }


# Statements and scales come from the registry ------------------------------------------------

CLAIM_IDS = claims.ids()


def _moved(threshold):
    """The same threshold at another value."""
    if threshold.relation == "in":
        low, high = threshold.value
        return dataclasses.replace(threshold, value=(0.9 * low, 1.1 * high))
    return dataclasses.replace(threshold, value=1.37 * threshold.value + 0.11)


@pytest.mark.parametrize("claim_id", CLAIM_IDS)
def test_the_statement_renders_every_threshold(claim_id):
    """Changing any threshold changes the statement: each one is rendered, none retyped."""
    claim = claims.get(claim_id)
    assert "$" not in claim.statement
    for i, threshold in enumerate(claim.thresholds):
        moved = (*claim.thresholds[:i], _moved(threshold), *claim.thresholds[i + 1 :])
        other = dataclasses.replace(claim, statement=claim.template, thresholds=moved)
        assert other.statement != claim.statement, threshold.quantity


@pytest.mark.parametrize("claim_id", CLAIM_IDS)
def test_no_threshold_value_is_typed_in_the_statement(claim_id):
    """The template names no threshold's number outside its placeholders. Whole numbers
    (counts, factors such as 2 or 10) are left to the test above: they also stand for
    sizes and exponents in the prose."""
    claim = claims.get(claim_id)
    prose = re.sub(r"\$\{[^}]*\}", " ", claim.template)
    for threshold in claim.thresholds:
        values = threshold.value if threshold.relation == "in" else (threshold.value,)
        for value in values:
            if float(value).is_integer():
                continue
            spellings = {
                f"{value:g}",
                repr(float(value)),
                np.format_float_positional(value, trim="-"),
                np.format_float_scientific(value, trim="-", exp_digits=1),
            }
            for text in spellings:
                pattern = rf"(?<![\w.]){re.escape(text)}(?![\w.])"
                assert not re.search(pattern, prose), f"{threshold.quantity}: {text!r} typed"


@pytest.mark.parametrize("claim_id", CLAIM_IDS)
def test_the_scales_are_those_of_the_experiment_declaration(claim_id):
    claim = claims.get(claim_id)
    declaration = declaration_of(claim.experiment)
    assert declaration is not None
    assert claim.scales is declaration.scales
    for scale in claims.SCALES:
        assert claim.params(scale) == {p.name: p.value(scale) for p in declaration.parameters}


def test_statements_render_thresholds_and_ci_parameters():
    m1, m4 = claims.get("M1"), claims.get("M4")
    assert "${test_error}" in m1.template and "at most 1e-3" in m1.statement
    assert "(α = 1e-6)" in m1.statement  # the CI value of alpha_small
    assert "ratio in [1.6, 2.5]" in m4.statement  # a two-sided threshold
    # A list parameter: its values, the brackets in the template.
    assert "{${alphas}}" in claims.get("N2").template
    assert "α ∈ {0.03, 0.05, 0.07}" in claims.get("N2").statement


def test_a_statement_naming_an_unknown_value_is_refused():
    m1 = claims.get("M1")
    with pytest.raises(ValueError, match=r"names \$\{test_eror\}.*neither a threshold"):
        dataclasses.replace(m1, statement="at most ${test_eror}")
    with pytest.raises(ValueError, match="M1: Invalid placeholder"):
        dataclasses.replace(m1, statement="costs $5")
    low = dataclasses.replace(claims.get("M8"), statement="from ${drift_ratio.low}")
    assert low.statement == "from 1.6"


def test_an_experiment_without_a_declaration_is_refused():
    m1 = claims.get("M1")

    def undeclared(**params):
        return m1.experiment(**params)

    with pytest.raises(ValueError, match="M1: experiment undeclared declares no parameters"):
        dataclasses.replace(m1, experiment=undeclared)
    with pytest.raises(TypeError, match="scales"):  # the scales are the declaration's only
        dataclasses.replace(m1, scales={"ci": {}, "paper": {}})
