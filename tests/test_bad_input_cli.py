"""Bad claim parameters (issue 7), on the three ways a reader sets them:

* ``matrix_sensing.parameters`` (what ``python -m matrix_sensing run -p NAME VALUE`` parses):
  every parameter of every claim notebook has a type and an allowed range, and refuses values
  outside it with a :class:`~matrix_sensing.parameters.ParameterError` naming it;
* the command line: exit status 2, one line on stderr naming the parameter, no traceback,
  and the notebook is never started;
* papermill (``papermill nb.ipynb out.ipynb -p NAME VALUE``, or editing the parameters cell):
  the value reaches the claim's experiment function, which must refuse it up front with a
  ``ValueError``/``TypeError`` naming the parameter, before any computation.
"""

from __future__ import annotations

import contextlib
import json
import math
import re
import signal
from collections import Counter

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from matrix_sensing import claims, experiments
from matrix_sensing.cli import main
from matrix_sensing.parameters import (
    MAX_MEASUREMENTS,
    MAX_SIZE,
    ParameterError,
    claim_parameters,
    notebook_values,
)

settings.register_profile(
    "bad-input-cli",
    max_examples=10,
    deadline=None,
    derandomize=True,  # the strict xfails below must fail the same way on every run
    database=None,
    phases=[Phase.explicit, Phase.generate],  # no shrinking: the failing value is reported
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
PROFILE = settings.get_profile("bad-input-cli")
CASES: Counter = Counter()


@pytest.fixture(scope="module", autouse=True)
def _report_cases():
    yield
    print(f"\nbad-input cases tried (claim parameters): {dict(CASES)}, total {sum(CASES.values())}")


def _notebooks() -> dict[str, str]:
    """One claim id per notebook (claims sharing a notebook share its parameters)."""
    chosen = {}
    for claim_id in claims.ids():
        chosen.setdefault(claims.get(claim_id).notebook, claim_id)
    return chosen


def _owners() -> dict[tuple[str, str], str]:
    """``(notebook, parameter)`` -> the first claim whose experiment takes the parameter (the
    notebook's first claim for ``seeds`` and ``workers``), by the names of the notebook."""
    owners = {}
    for claim_id in claims.ids():
        claim = claims.get(claim_id)
        for name in [p.name for p in claim.declaration.notebook_parameters] + ["seeds", "workers"]:
            owners.setdefault((claim.notebook, name), claim_id)
    return owners


def _experiment_rows() -> list[tuple[str, str, str]]:
    """``(claim id, name in the notebook, name in the experiment)`` for every parameter of the
    experiment of every claim (each experiment once, under its first claim)."""
    rows, seen = [], set()
    for claim_id in claims.ids():
        declaration = claims.get(claim_id).declaration
        if declaration.experiment not in seen:
            seen.add(declaration.experiment)
            rows += [
                (claim_id, p.name + declaration.suffix, p.name) for p in declaration.parameters
            ]
    return rows


NOTEBOOK_CLAIMS = sorted(_notebooks().values(), key=claims.ids().index)
# Every parameter of every notebook once, with a claim of the notebook whose experiment takes it
# (what `run CLAIM -p NAME VALUE` checks does not depend on the claim, only on its notebook).
ROWS = [(cid, name) for (_, name), cid in _owners().items()]
# What a papermill run hands to each experiment function, and the notebooks' seeds.
EXPERIMENT_ROWS = [
    *_experiment_rows(),
    *((cid, "seeds", "seeds") for cid in NOTEBOOK_CLAIMS),
]
SIZES = (MAX_SIZE, MAX_MEASUREMENTS)
WRONG = [None, "abc", True, {"a": 1}, [[1]]]


def _spec(claim_id, name):
    return {p.name: p for p in claim_parameters(claim_id)}[name]


def test_the_rows_cover_every_parameter_of_every_claim():
    for claim_id in claims.ids():
        claim = claims.get(claim_id)
        in_notebook = {name for cid, name in ROWS if claims.get(cid).notebook == claim.notebook}
        assert in_notebook == {p.name for p in claim_parameters(claim_id)}, claim_id
        taken = {
            bare
            for cid, _, bare in EXPERIMENT_ROWS
            if claims.get(cid).experiment is claim.experiment and bare != "seeds"
        }
        assert taken == set(claim.params("ci")), claim_id


def _bad_scalar(p, kind, *, for_experiment):
    """Values outside ``p``'s type and range. For an experiment function (papermill), only
    values that are safe to hand over: iteration counts above the command line's guard are
    slow rather than wrong there, so only sizes of 1e10 and more stand for "huge"."""
    options = [st.sampled_from(WRONG)]
    if kind is int:
        options.append(st.floats().filter(lambda v: not float(v).is_integer()))
    else:
        options.append(st.sampled_from([math.nan, math.inf, -math.inf]))
    if p.low is not None:
        if kind is int:
            options.append(st.integers(int(p.low) - 10**6, int(p.low) - 1))
        else:
            options.append(st.floats(max_value=p.low, exclude_max=p.low_included))
    if p.high is not None:
        if kind is float:
            options.append(st.floats(min_value=p.high, exclude_min=p.high_included))
        elif not for_experiment:
            options.append(st.integers(int(p.high) + 1, int(p.high) + 10**6))
        if kind is int and not for_experiment:  # experiments: test_experiment_refuses_huge_size
            options.append(st.integers(10**10, 10**30))
    return st.one_of(options)


def bad_values(p, *, for_experiment=False):
    if p.kind is list:
        item = _bad_scalar(p, p.item, for_experiment=for_experiment)
        options = [
            st.sampled_from([None, "abc", [], {"a": 1}, [[1]]]),
            item.map(lambda v: [v]),
            item.map(lambda v: [*p.default[:-1], v]),
        ]
        if for_experiment:
            options.append(st.just(p.default[0]))  # a bare number where a list is expected
        return st.one_of(options)
    return _bad_scalar(p, p.kind, for_experiment=for_experiment)


def _text(value) -> str:
    """How a reader would type ``value`` on the command line."""
    if isinstance(value, str):
        return value
    try:
        return json.dumps(value)
    except (TypeError, ValueError):
        return repr(value)


# -- the parameter specifications (command line and `list`) ------------------------------


def test_every_claim_parameter_has_a_type_and_a_range():
    """No parameter is left at "any": a mistyped value is refused before a notebook runs."""
    loose = [
        f"{cid}:{p.name}"
        for cid in NOTEBOOK_CLAIMS
        for p in claim_parameters(cid)
        if p.low is None and p.high is None
    ]
    assert not loose, f"claim parameters without an allowed range: {loose}"


@pytest.mark.parametrize("claim_id", claims.ids())
def test_both_scales_are_within_the_allowed_ranges(claim_id):
    """Every value the notebook runs with at a scale passes its check, and hands the claim's
    experiment the claim's scale."""
    claim = claims.get(claim_id)
    specs = {p.name: p for p in claim_parameters(claim_id)}
    for scale in claims.SCALES:
        values = notebook_values(claim_id, scale)
        assert set(values) == set(specs)
        for name, value in values.items():
            specs[name].validate(value)
            specs[name].parse(_text(value))
        assert claim.declaration.arguments(values) == claim.params(scale)


@pytest.mark.parametrize(("claim_id", "name"), ROWS)
@settings(PROFILE, max_examples=10)
@given(data=st.data())
def test_parameter_refuses_bad_values_naming_itself(claim_id, name, data):
    p = _spec(claim_id, name)
    value = data.draw(bad_values(p), label=name)
    for check in (lambda: p.validate(value), lambda: p.parse(_text(value))):
        CASES["parameter spec"] += 1
        with pytest.raises(ParameterError) as info:
            check()
        assert name in str(info.value)


# -- the command line --------------------------------------------------------------------


@pytest.fixture
def no_notebook(monkeypatch):
    """The notebook must never start for a bad value: make starting it an error."""
    import papermill

    def refuse(*args, **kwargs):
        raise AssertionError(f"papermill was started for a bad value: {kwargs.get('parameters')}")

    monkeypatch.setattr(papermill, "execute_notebook", refuse)


def run_cli(capsys, argv):
    CASES["command line"] += 1
    code = main(argv)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def assert_usage_error(code, err, *names):
    lines = err.strip().splitlines()
    assert code == 2, f"exit status {code}, stderr: {err}"
    assert "Traceback" not in err
    assert len(lines) == 1, f"expected one line on stderr, got {len(lines)}: {err}"
    for name in names:
        assert name in lines[0], f"{name!r} not in {lines[0]!r}"


@pytest.mark.parametrize(("claim_id", "name"), ROWS)
@settings(PROFILE, max_examples=4)
@given(data=st.data())
def test_cli_refuses_bad_parameter_in_one_line(claim_id, name, data, capsys, no_notebook):
    value = data.draw(bad_values(_spec(claim_id, name)), label=name)
    argv = ["run", claim_id, "-p", name, _text(value), "--quiet"]
    code, _, err = run_cli(capsys, argv)
    assert_usage_error(code, err, name)


@pytest.mark.parametrize(
    ("argv", "names"),
    [
        (["run", "M99"], ["claim_id", "M99"]),
        (["run", "m1"], ["claim_id", "m1"]),
        (["run", ""], ["claim_id"]),
        (["run", "M1", "-p", "n3", "4"], ["n3", "allowed"]),
        (["run", "P2", "-p", "m", "400"], ["'m'", "takes m_p1 or m_p2 or m_p3", "allowed"]),
        (["run", "M1", "-p", "N1", "4"], ["N1"]),
        (["run", "M1", "-p", "", "4"], ["unknown parameter"]),
        (["run", "M1", "-p", "n1", ""], ["n1"]),
        (["run", "M1", "-p", "n1", "[1, 2]"], ["n1"]),
        (["run", "M1", "-p", "seeds", "[]"], ["seeds"]),
        (["run", "M1", "--seeds", "0", "zero"], ["seeds"]),
        (["run", "M1", "--seeds", "1e400"], ["seeds"]),
        (["run", "M1", "--seeds", "0.5"], ["seeds"]),
        (["run", "M1", "-p", "n1", "1e400"], ["n1"]),
        (["run", "M1", "-p", "alpha_small", "1e400"], ["alpha_small"]),
        (["run", "M1", "-p", "k", "[" * 5000], ["k"]),
        (["run", "M10", "-p", "widths", "[" * 5000], ["widths"]),
        (["run", "M10", "-p", "widths", "2,,x"], ["widths"]),
    ],
)
def test_cli_bad_names_and_texts(capsys, no_notebook, argv, names):
    code, _, err = run_cli(capsys, argv)
    assert_usage_error(code, err, *names)


@pytest.mark.parametrize(
    ("argv", "names"),
    [
        (["run", "M1", "--scale", "huge"], ["--scale", "huge"]),
        (["run", "M1", "-p", "n1"], ["-p"]),
        (["run"], ["claim"]),
        (["run", "M1", "-p", "kappa", "-Infinity"], ["kappa"]),
        (["run", "M1", "-p", "step_small", "-1e-05"], ["step_small"]),
        (["run", "M1", "-p", "alpha_small", "-inf"], ["alpha_small"]),
        (["run", "M1", "-p", "alpha_small", "-NaN"], ["alpha_small"]),
        (["frobnicate"], ["frobnicate"]),
        (["sweep", "phase-transition", "--workers", "many"], ["--workers"]),
        (["sweep", "nope"], ["sweep", "nope"]),
        (["sweep", "phase-transition", "--workers", "-1"], ["--workers"]),
    ],
)
def test_cli_usage_errors_are_one_line(capsys, no_notebook, argv, names):
    code, _, err = run_cli(capsys, argv)
    assert_usage_error(code, err, *names)


# -- papermill: the experiment functions the notebooks call ------------------------------


@contextlib.contextmanager
def time_limit(seconds: float, what: str):
    """Fail (rather than hang) when ``what`` runs past ``seconds``: a bad value that was
    accepted starts the real computation."""

    def expire(signum, frame):
        raise TimeoutError(f"{what} was accepted and started computing")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def _huge_rows():
    for cid, name, bare in EXPERIMENT_ROWS:
        p = _spec(cid, name)
        if (p.item or p.kind) is int and p.high in SIZES:
            yield pytest.param(cid, name, bare, id=f"{cid}-{name}")


@pytest.mark.parametrize(("claim_id", "name", "bare"), list(_huge_rows()))
def test_experiment_refuses_huge_size(claim_id, name, bare):
    """A size of 1e10 (a mistyped exponent) is refused naming it, before any allocation."""
    claim = claims.get(claim_id)
    p = _spec(claim_id, name)
    value = [*p.default[:-1], 10**10] if p.kind is list else 10**10
    CASES["papermill"] += 1
    with time_limit(10, f"{claim_id}: {name}={value!r}"):
        with pytest.raises((ValueError, TypeError)) as info:
            claim.experiment(**{**claim.params("ci"), bare: value}, seed=0)
    assert re.search(rf"(?<![A-Za-z0-9_]){re.escape(bare)}(?![A-Za-z0-9_])", str(info.value)), (
        f"the error does not name {bare}: {info.value}"
    )


@pytest.mark.parametrize(("claim_id", "name", "bare"), EXPERIMENT_ROWS)
@settings(PROFILE, max_examples=6)
@given(data=st.data())
def test_experiment_refuses_bad_papermill_parameter(claim_id, name, bare, data):
    """What a papermill run of the claim's notebook hands to the experiment function (the
    notebook's ``name`` is the experiment's ``bare``: ``m_p1`` is P1's ``m``)."""
    claim = claims.get(claim_id)
    p = _spec(claim_id, name)
    value = data.draw(bad_values(p, for_experiment=True), label=name)
    CASES["papermill"] += 1
    with time_limit(10, f"{claim_id}: {name}={value!r}"):
        try:
            if name == "seeds":  # the notebooks check the seeds with experiments.check_seeds
                experiments.check_seeds(value)
            else:
                claim.experiment(**{**claim.params("ci"), bare: value}, seed=0)
        except (ValueError, TypeError) as exc:
            assert bare in str(exc), f"the error does not name {bare}: {exc}"
            return
        except TimeoutError:
            raise
        except Exception as exc:
            pytest.fail(f"{claim_id}: {name}={value!r} raised {type(exc).__name__}: {exc}")
    pytest.fail(f"{claim_id}: {name}={value!r} was accepted")


@pytest.mark.parametrize("claim_id", claims.ids())
def test_experiment_refuses_unknown_parameter(claim_id):
    claim = claims.get(claim_id)
    CASES["papermill"] += 1
    with pytest.raises(TypeError, match="bogus"):
        claim.experiment(**claim.params("ci"), bogus=1, seed=0)
