"""Every claim's measured values (seeds 0-4, CI scale) equal the reviewed golden values.

tests/golden/claims_ci.json holds, for each claim, thresholded quantity and seed, the value
the claim's notebook glued in its ``claims_record`` (the record the Claims scoreboard shows).
The comparison reuses the notebooks that the book build of this session executes (no third
execution), under the rule stated in the file's ``_rule`` key. After an intentional change,
``make refresh-golden`` rewrites the file and its diff is what a reviewer reads. The model
that produces these values is stated on the page *Problem and conventions* (book/setup.md)
and pinned by tests/test_model_spec.py.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from matrix_sensing import claims

ROOT = Path(__file__).resolve().parents[1]
SEEDS = [0, 1, 2, 3, 4]


def _load_tool():
    spec = importlib.util.spec_from_file_location(
        "refresh_golden", ROOT / "tools" / "refresh_golden.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


golden = _load_tool()


@pytest.fixture(scope="module")
def stored():
    return golden.load()


def test_golden_file_has_every_claim_quantity_and_seed(stored):
    expected = {
        f"{cid}/{t.quantity}/{seed}"
        for cid in claims.ids()
        for t in claims.get(cid).thresholds
        for seed in SEEDS
    }
    assert set(stored["values"]) == expected
    for key, value in stored["values"].items():
        assert isinstance(value, float) or value in ("nan", "inf", "-inf"), (key, value)


def test_golden_file_states_the_rule_it_is_compared_by_and_is_canonical(stored):
    assert stored["_rule"] == golden.RULE
    assert f"{golden.RELATIVE:g}" in stored["_rule"] and f"{golden.FLOOR:g}" in stored["_rule"]
    # Sorted keys, one value per line: the text is exactly what the refresh writes.
    assert golden.GOLDEN.read_text(encoding="utf-8") == golden.dumps(stored)


@pytest.mark.parametrize(
    ("new", "old", "same"),
    [
        (1.0, 1.0, True),
        (1.0 + 9e-7, 1.0, True),
        (1.0 + 2e-6, 1.0, False),
        (1.001 * 3.7e-4, 3.7e-4, False),  # a 0.1% change
        (-2.0, 2.0, False),
        (2.34e-31, 7.0e-15, True),  # both at rounding level
        (2.0e-10, 1.0e-12, False),  # one of them is not
        (1.0e-12, 0.0, True),
        ("nan", "nan", True),
        ("nan", 1.0, False),
        ("inf", "nan", False),
    ],
)
def test_rule(new, old, same):
    assert golden.matches(new, old) is same
    assert golden.matches(old, new) is same


def test_differences_name_the_value_that_moved(stored):
    values = dict(stored["values"])
    assert golden.differences(values, values) == []
    key = next(k for k, v in values.items() if isinstance(v, float) and abs(v) > 1e-3)
    moved = {**values, key: values[key] * 1.001}
    (line,) = golden.differences(values, moved)
    assert line.startswith(f"{key}: golden {values[key]!r}, measured")
    missing = {k: v for k, v in values.items() if k != key}
    assert golden.differences(values, missing) == [f"{key}: golden {values[key]!r}, not measured"]


def test_flatten_keys_claim_quantity_seed():
    # As Verdict.to_dict writes it: a non-finite value is a string.
    record = {
        "verdicts": [{"id": "M1", "seeds": [3, 4], "measured": {"test_error": [1e-4, "nan"]}}]
    }
    assert golden.flatten([record]) == {"M1/test_error/3": 1e-4, "M1/test_error/4": "nan"}
    with pytest.raises(ValueError, match="M1/test_error/3 is recorded twice"):
        golden.flatten([record, record])


@pytest.mark.book
def test_every_claim_measures_its_golden_values(built_book, stored):
    """The values glued by this session's book build equal the golden values (a 0.1% change
    of an operator, the target, the initialization or a metric moves some of them)."""
    measured = golden.flatten(golden.records_from_build(built_book.execute_dir))
    values = stored["values"]
    missing = sorted(golden.claims_of(values) - golden.claims_of(measured))
    assert not missing, f"the book build recorded no values for {missing} (see the build log)"
    problems = golden.differences(values, measured)
    assert not problems, (
        f"{len(problems)} measured values differ from {golden.GOLDEN.relative_to(ROOT)} "
        f"({stored['_rule']}). After an intentional change run `make refresh-golden` and review "
        "the diff:\n" + "\n".join(problems)
    )
