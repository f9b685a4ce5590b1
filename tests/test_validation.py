"""Every public function rejects bad input with a ValueError/TypeError naming the parameter;
every experiment's declaration of its parameters is checked, and agrees with the function."""

from __future__ import annotations

import contextlib
import math
import re
import signal

import numpy as np
import pytest

import matrix_sensing as ms
from matrix_sensing import claims, experiments, metrics
from matrix_sensing.experiments.declaration import (
    MAX_ITERS,
    MAX_MEASUREMENTS,
    MAX_SIZE,
    POSITIVE,
    SIZE,
    Declaration,
    Interval,
    Parameter,
    ParameterError,
    declaration_of,
    declare,
)

N1, N2, K, M = 4, 3, 2, 15
OP = ms.GaussianSensing(M, (N1, N2), seed=0)
X = ms.low_rank_target(N1, N2, 1, seed=1)
Y = OP(X)
U0, V0 = ms.small_random_init(N1, N2, K, 0.1, seed=2)


def with_value(array, index, value):
    out = np.array(array, dtype=float)
    out[index] = value
    return out


def gd(**overrides):
    """factorized_gd with valid defaults, one argument replaced."""
    kwargs = {"op": OP, "y": Y, "U0": U0, "V0": V0, "step": 0.1, "iters": 3}
    kwargs.update(overrides)
    return lambda: ms.factorized_gd(**kwargs)


def sensing(**overrides):
    kwargs = {"m": M, "shape": (N1, N2), "seed": 0}
    kwargs.update(overrides)
    return lambda: ms.GaussianSensing(**kwargs)


def target(**overrides):
    kwargs = {"n1": N1, "n2": N2, "r": 1, "kappa": 2.0, "seed": 0}
    kwargs.update(overrides)
    return lambda: ms.low_rank_target(**kwargs)


def init(**overrides):
    kwargs = {"n1": N1, "n2": N2, "k": K, "alpha": 0.1, "seed": 0}
    kwargs.update(overrides)
    return lambda: ms.small_random_init(**kwargs)


NAN, INF = float("nan"), float("inf")
bad_A = np.ones((M, N1, N2))

# (id, call, exception, regex that must find the parameter's name in the message)
CASES = [
    # GaussianSensing / from_array / forward and adjoint maps
    ("sensing-m0", sensing(m=0), ValueError, r"^m must"),
    ("sensing-m-bool", sensing(m=True), TypeError, r"^m must be an integer"),
    ("sensing-m-float", sensing(m=15.0), TypeError, r"^m must be an integer"),
    ("sensing-shape-len", sensing(shape=(4,)), ValueError, r"^shape must"),
    ("sensing-n1-0", sensing(shape=(0, 3)), ValueError, r"^n1 must"),
    ("sensing-n2-neg", sensing(shape=(3, -1)), ValueError, r"^n2 must"),
    ("sensing-seed-neg", sensing(seed=-1), ValueError, r"^seed must"),
    ("sensing-seed-bool", sensing(seed=True), TypeError, r"^seed must"),
    ("sensing-seed-float", sensing(seed=1.5), TypeError, r"^seed must"),
    (
        "from_array-nan",
        lambda: ms.GaussianSensing.from_array(with_value(bad_A, (0, 0, 0), NAN)),
        ValueError,
        r"^A must contain only finite",
    ),
    (
        "from_array-inf",
        lambda: ms.GaussianSensing.from_array(with_value(bad_A, (1, 1, 1), INF)),
        ValueError,
        r"^A must contain only finite",
    ),
    ("from_array-2d", lambda: ms.GaussianSensing.from_array(np.ones((3, 3))), ValueError, r"^A "),
    (
        "from_array-empty",
        lambda: ms.GaussianSensing.from_array(np.ones((0, 2, 2))),
        ValueError,
        r"^A must",
    ),
    ("from_array-str", lambda: ms.GaussianSensing.from_array("abc"), TypeError, r"^A must"),
    ("forward-shape", lambda: OP(np.ones((N2, N1))), ValueError, r"^Z must have shape"),
    ("forward-nan", lambda: OP(with_value(X, (0, 0), NAN)), ValueError, r"^Z must"),
    ("adjoint-length", lambda: OP.adjoint(np.ones(M + 1)), ValueError, r"^z must have shape"),
    ("adjoint-ndim", lambda: OP.adjoint(np.ones((2, 2, M))), ValueError, r"^z must"),
    # targets
    ("target-r-too-big", target(r=N2 + 1), ValueError, r"^r must be an integer .*<= 3"),
    ("target-r0", target(r=0), ValueError, r"^r must"),
    ("target-r-bool", target(r=True), TypeError, r"^r must be an integer"),
    ("target-kappa-lt1", target(kappa=0.5), ValueError, r"^kappa must be >= 1"),
    ("target-kappa-nan", target(kappa=NAN), ValueError, r"^kappa must be finite"),
    ("target-n1-0", target(n1=0), ValueError, r"^n1 must"),
    ("target-n2-0", target(n2=0), ValueError, r"^n2 must"),
    ("target-seed-neg", target(seed=-1), ValueError, r"^seed must"),
    ("target-sv-length", target(singular_values=[1.0, 2.0]), ValueError, r"^singular_values"),
    (
        "target-sv-nonpositive",
        target(r=2, singular_values=[1.0, 0.0]),
        ValueError,
        r"^singular_values",
    ),
    ("target-sv-nan", target(singular_values=[NAN]), ValueError, r"^singular_values"),
    ("spectrum-r0", lambda: ms.linear_spectrum(0, 2.0), ValueError, r"^r must"),
    ("spectrum-kappa-lt1", lambda: ms.linear_spectrum(3, 0.9), ValueError, r"^kappa must"),
    ("spectrum-kappa-inf", lambda: ms.linear_spectrum(3, INF), ValueError, r"^kappa must"),
    # initialization
    ("init-alpha0", init(alpha=0.0), ValueError, r"^alpha must be > 0"),
    ("init-alpha-neg", init(alpha=-1.0), ValueError, r"^alpha must be > 0"),
    ("init-alpha-nan", init(alpha=NAN), ValueError, r"^alpha must be finite"),
    ("init-alpha-inf", init(alpha=INF), ValueError, r"^alpha must be finite"),
    ("init-alpha-str", init(alpha="0.1"), TypeError, r"^alpha must be a real"),
    ("init-alpha-bool", init(alpha=True), TypeError, r"^alpha must be a real"),
    ("init-k0", init(k=0), ValueError, r"^k must"),
    ("init-k-bool", init(k=True), TypeError, r"^k must be an integer"),
    ("init-n1-0", init(n1=0), ValueError, r"^n1 must"),
    ("init-seed-neg", init(seed=-1), ValueError, r"^seed must"),
    # factorized_gd
    ("gd-U0-rows", gd(U0=np.ones((N1 + 1, K))), ValueError, r"^U0 must have shape"),
    ("gd-U0-ndim", gd(U0=np.ones(N1)), ValueError, r"^U0 must have 2 dimensions"),
    ("gd-U0-k0", gd(U0=np.ones((N1, 0)), V0=np.ones((N2, 0))), ValueError, r"^U0 must"),
    ("gd-V0-rows", gd(V0=np.ones((N2 + 1, K))), ValueError, r"^V0 must have shape"),
    ("gd-V0-k", gd(V0=np.ones((N2, K + 1))), ValueError, r"^V0 must have shape"),
    ("gd-y-length", gd(y=np.ones(M - 1)), ValueError, r"^y must have shape"),
    ("gd-y-nan", gd(y=with_value(Y, 0, NAN)), ValueError, r"^y must contain only finite"),
    ("gd-y-inf", gd(y=with_value(Y, 3, -INF)), ValueError, r"^y must contain only finite"),
    ("gd-U0-nan", gd(U0=with_value(U0, (1, 1), NAN)), ValueError, r"^U0 must contain"),
    ("gd-V0-inf", gd(V0=with_value(V0, (0, 1), INF)), ValueError, r"^V0 must contain"),
    ("gd-truth-shape", gd(truth=np.ones((N2, N1))), ValueError, r"^truth must have shape"),
    ("gd-truth-zero", gd(truth=np.zeros((N1, N2))), ValueError, r"^truth must be a non-zero"),
    ("gd-truth-nan", gd(truth=with_value(X, (0, 0), NAN)), ValueError, r"^truth must"),
    ("gd-step0", gd(step=0.0), ValueError, r"^step must be > 0"),
    ("gd-step-neg", gd(step=-0.1), ValueError, r"^step must be > 0"),
    ("gd-step-inf", gd(step=INF), ValueError, r"^step must be finite"),
    ("gd-step-nan", gd(step=NAN), ValueError, r"^step must be finite"),
    ("gd-step-bool", gd(step=True), TypeError, r"^step must be a real"),
    ("gd-iters-neg", gd(iters=-1), ValueError, r"^iters must be an integer >= 0"),
    ("gd-iters-float", gd(iters=1.5), TypeError, r"^iters must be an integer"),
    ("gd-iters-bool", gd(iters=True), TypeError, r"^iters must be an integer"),
    ("gd-record0", gd(record_every=0), ValueError, r"^record_every must be an integer >= 1"),
    ("gd-record-bool", gd(record_every=True), TypeError, r"^record_every must"),
    ("gd-divergence", gd(divergence_factor=0.5), ValueError, r"^divergence_factor must"),
    ("gd-metric-not-callable", gd(metrics={"bad": 3}), TypeError, r"^metrics\['bad'\] must"),
    ("gd-op-object", gd(op=object()), TypeError, r"^op must be a measurement operator"),
    ("gd-op-array", gd(op=np.ones((M, N1, N2))), TypeError, r"^op must"),
    ("gd-op-none", gd(op=None), TypeError, r"^op must"),
    # metrics
    ("relerr-norm", lambda: metrics.relative_error(X, X, norm="nuc"), ValueError, r"^norm must"),
    ("relerr-shape", lambda: metrics.relative_error(X.T, X), ValueError, r"^estimate must"),
    ("relerr-zero", lambda: metrics.relative_error(X, 0 * X), ValueError, r"^truth must"),
    (
        "relerr-nan",
        lambda: metrics.relative_error(with_value(X, (0, 0), NAN), X),
        ValueError,
        r"^estimate must",
    ),
    ("testerr-k", lambda: metrics.test_error(U0, np.ones((N2, K + 1)), X), ValueError, r"^V must"),
    (
        "testerr-U-nan",
        lambda: metrics.test_error(with_value(U0, (0, 0), NAN), V0, X),
        ValueError,
        r"^U must",
    ),
    (
        "testerr-truth-shape",
        lambda: metrics.test_error(U0, V0, X.T),
        ValueError,
        r"^(truth|estimate) must",
    ),
    ("testerr-norm", lambda: metrics.test_error(U0, V0, X, norm="max"), ValueError, r"^norm must"),
    ("trainloss-y", lambda: metrics.train_loss(OP, np.ones(M + 2), U0, V0), ValueError, r"^y must"),
    ("imbalance-k", lambda: metrics.imbalance(U0, np.ones((N2, K + 1))), ValueError, r"^V must"),
    (
        "imbalance-norm",
        lambda: metrics.imbalance_norm(U0, V0, norm="l1"),
        ValueError,
        r"^norm must",
    ),
    ("sv-1d", lambda: metrics.singular_values(np.ones(3)), ValueError, r"^M must"),
    ("top-r-big", lambda: metrics.top_singular_subspaces(X, N2 + 1), ValueError, r"^r must"),
    ("top-r0", lambda: metrics.top_singular_subspaces(X, 0), ValueError, r"^r must"),
    ("top-r-bool", lambda: metrics.top_singular_subspaces(X, True), TypeError, r"^r must"),
    (
        "angles-rows",
        lambda: metrics.principal_angles(np.ones((4, 2)), np.ones((5, 1))),
        ValueError,
        r"^B must have shape",
    ),
    (
        "angles-1d",
        lambda: metrics.principal_angles(np.ones(4), np.ones((4, 1))),
        ValueError,
        r"^A must",
    ),
    (
        "distance-rows",
        lambda: metrics.subspace_distance(np.ones((4, 2)), np.ones((3, 1))),
        ValueError,
        r"^B must",
    ),
    ("effrank-zero", lambda: metrics.effective_rank(np.zeros((3, 3))), ValueError, r"^M must"),
    # experiments
    ("spawn-seed", lambda: experiments.spawn_seeds(-1, 2), ValueError, r"^seed must"),
    (
        "problem-m0",
        lambda: experiments.sensing_problem(4, 3, 1, 2.0, 0, seed=0),
        ValueError,
        r"^m must",
    ),
    (
        "problem-r",
        lambda: experiments.sensing_problem(4, 3, 4, 2.0, 10, seed=0),
        ValueError,
        r"^r must",
    ),
    # claims (the "large" run is validated after the "small" one runs: iters_small=0 keeps
    # those cases cheap)
    ("claims-unknown-id", lambda: claims.check("M99", 0), ValueError, r"^claim_id must be one of"),
    ("claims-get-unknown", lambda: claims.get("nope"), ValueError, r"^claim_id must"),
    (
        "claims-scale",
        lambda: claims.run_experiment("M1", 0, scale="huge"),
        ValueError,
        r"^scale must be one of \['ci', 'paper'\]",
    ),
    (
        "claims-override",
        lambda: claims.run_experiment("M1", 0, bogus=1),
        ValueError,
        r"unknown parameter\(s\) \['bogus'\].*allowed",
    ),
    ("claims-seed-neg", lambda: claims.check("M1", -1), ValueError, r"^seed must"),
    ("claims-seed-bool", lambda: claims.check("M1", True), TypeError, r"^seed must"),
    (
        "claims-alpha-small",
        lambda: claims.run_experiment("M1", 0, alpha_small=0.0),
        ValueError,
        r"^alpha_small must be > 0",
    ),
    (
        "claims-step-large",
        lambda: claims.run_experiment("M1", 0, iters_small=0, step_large=INF),
        ValueError,
        r"^step_large must be finite",
    ),
    (
        "claims-iters-small",
        lambda: claims.run_experiment("M1", 0, iters_small=1.5),
        TypeError,
        r"^iters_small must be an integer",
    ),
    (
        "claims-iters-large",
        lambda: claims.run_experiment("M1", 0, iters_small=0, iters_large=-1),
        ValueError,
        r"^iters_large must",
    ),
    ("claims-k", lambda: claims.run_experiment("M1", 0, k=0), ValueError, r"^k must"),
    (
        "claims-threshold-relation",
        lambda: claims.Threshold("q", "<", 1.0),
        ValueError,
        r"^relation must be one of",
    ),
]


@pytest.mark.parametrize(
    ("call", "exc", "match"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_bad_input_names_parameter(call, exc, match):
    with pytest.raises(exc, match=match):
        call()


def test_case_ids_unique():
    ids = [c[0] for c in CASES]
    assert len(ids) == len(set(ids))


def test_unknown_claim_lists_known_ids():
    with pytest.raises(ValueError, match="claim_id") as info:
        claims.check("M99", 0)
    message = str(info.value)
    for claim_id in claims.ids():
        assert repr(claim_id) in message
    assert "'M99'" in message


def test_evaluate_rejects_run_of_other_experiment():
    run = experiments.Run("another_experiment", {}, 0, X)
    with pytest.raises(ValueError, match="small_vs_large_init"):
        claims.evaluate("M1", run)


def test_verdict_rejects_result_of_other_claim():
    result = claims.ClaimResult(claims.get("M2"), 0, {})
    with pytest.raises(ValueError, match="M2"):
        claims.verdict("M1", [result])


def test_errors_are_raised_before_any_work():
    # A bad argument is rejected even when the rest would take long (iters=10**9).
    with pytest.raises(ValueError, match=r"^step"):
        ms.factorized_gd(OP, Y, U0, V0, step=-1.0, iters=10**9)


def test_numpy_integers_accepted_as_integers():
    # Rejecting bool must not reject numpy integers (papermill and numpy users pass them).
    op = ms.GaussianSensing(np.int64(M), (np.int32(N1), N2), seed=np.uint8(0))
    assert op.m == M and op.shape == (N1, N2)
    U, V = ms.small_random_init(N1, N2, np.int64(K), np.float32(0.1), seed=np.int64(2))
    assert U.shape == (N1, K) and V.shape == (N2, K)


# -- the experiments' declarations ------------------------------------------------------------


def _declarations() -> dict[str, Declaration]:
    found = {}
    for claim_id in claims.ids():
        declaration = declaration_of(claims.get(claim_id).experiment)
        if declaration is not None:
            found.setdefault(declaration.experiment.__name__, declaration)
    return found


DECLARATIONS = _declarations()
# The sizes' and iteration counts' upper bounds guard the command line against a mistyped
# value; the functions need not refuse the value just above them (a size of 1e10 they do
# refuse: tests/test_bad_input_cli.py).
GUARDS = {MAX_SIZE, MAX_MEASUREMENTS, MAX_ITERS}


def _outside(p: Parameter):
    """``(bound, value)`` for each bound of ``p`` that is not a guard: the value just outside
    it (the bound itself when it is excluded), in a list as the other values when ``p``
    takes a list."""
    bounds = []
    if p.low is not None:
        below = p.low if not p.low_included else None
        if below is None:
            below = p.low - 1 if p.allowed.kind is int else math.nextafter(p.low, -math.inf)
        bounds.append((f"low {p.low:g}", below))
    if p.high is not None and p.high not in GUARDS:
        above = p.high if not p.high_included else None
        if above is None:
            above = p.high + 1 if p.allowed.kind is int else math.nextafter(p.high, math.inf)
        bounds.append((f"high {p.high:g}", above))
    if p.kind is list:
        return [(bound, [*p.default[:-1], value]) for bound, value in bounds]
    return bounds


ROWS = [
    pytest.param(name, p.name, bound, value, id=f"{name}-{p.name}-{bound}")
    for name, declaration in DECLARATIONS.items()
    for p in declaration.parameters
    for bound, value in _outside(p)
]


@contextlib.contextmanager
def _time_limit(seconds: float, what: str):
    """A value the function accepted starts its real computation: fail instead of waiting."""

    def expire(signum, frame):
        raise TimeoutError(f"{what} was accepted and started computing")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


@pytest.mark.parametrize(("experiment", "name", "bound", "value"), ROWS)
def test_a_value_outside_a_declared_bound_is_refused_by_the_function_too(
    experiment, name, bound, value
):
    """The declaration (what the command line checks) and the function's own checks (what
    a Python caller or papermill meets) cannot drift apart: just outside each declared
    bound, both refuse, each naming the parameter."""
    declaration = DECLARATIONS[experiment]
    with pytest.raises(ParameterError, match=rf"^{name}\b"):
        declaration[name].validate(value)
    params = {**declaration.scales["ci"], name: value}
    with _time_limit(10, f"{experiment}({name}={value!r})"):
        with pytest.raises(ValueError) as info:
            declaration.experiment(**params, seed=0)
    assert re.search(rf"(?<![\w]){name}(?![\w])", str(info.value)), str(info.value)


def test_every_bound_is_checked_or_a_guard():
    assert ROWS
    for declaration in DECLARATIONS.values():
        for p in declaration.parameters:
            assert p.low is not None, f"{p.name} of {declaration!r} has no lower bound"


def _experiment(*, n: int, alpha: float, seed: int, progress: bool = False):
    """A stand-in experiment for the checks of a declaration."""


N = Parameter("n", SIZE, 20, 40, "size")
ALPHA = Parameter("alpha", POSITIVE, 1e-6, 1e-6, "scale")


@pytest.mark.parametrize(
    ("parameters", "error", "message"),
    [
        ((N,), ValueError, r"missing \['alpha'\], not parameters of the function \[\]"),
        ((N, ALPHA, Parameter("k", SIZE, 1, 2, "w")), ValueError, r"function \['k'\]"),
        ((N, ALPHA, Parameter("seed", SIZE, 1, 2, "w")), ValueError, r"function \['seed'\]"),
        ((N, N, ALPHA), ValueError, r"names \['n'\] more than once"),
        ((Parameter("n", SIZE, 20, 0, "size"), ALPHA), ValueError, "paper value is out of range"),
        ((Parameter("n", SIZE, 20.0, 40, "size"), ALPHA), TypeError, "ci value of n must be of"),
        ((Parameter("n", SIZE, [20], 40, "size"), ALPHA), ValueError, "a list at both scales"),
        ((Parameter("n", SIZE, [], [], "size"), ALPHA), ValueError, "a list at both scales"),
        ([N, ALPHA], TypeError, "parameters must be a tuple of Parameter"),
    ],
)
def test_a_declaration_that_does_not_fit_its_function_is_refused(parameters, error, message):
    with pytest.raises(error, match=message):
        Declaration(_experiment, parameters)


def test_a_declaration_gives_the_scales_in_order_and_is_found_by_its_function():
    declaration = Declaration(_experiment, (N, ALPHA))
    assert dict(declaration.scales["paper"]) == {"n": 40, "alpha": 1e-6}
    assert declaration["alpha"] is ALPHA
    assert repr(declaration) == "Declaration(_experiment: n, alpha)"
    assert declaration_of(_experiment) is None

    def other(*, n, alpha, seed):
        pass

    declared = declare(other, N, ALPHA)
    assert declaration_of(other) is declared
    with pytest.raises(ValueError, match="other is declared twice"):
        declare(other, N, ALPHA)


def test_a_suffix_names_the_parameters_in_the_notebook():
    declaration = Declaration(_experiment, (N, ALPHA), "_x1")
    assert [p.name for p in declaration.notebook_parameters] == ["n_x1", "alpha_x1"]
    assert declaration.notebook_parameters[0].allowed is SIZE
    assert dict(declaration.scales["ci"]) == {"n": 20, "alpha": 1e-6}  # the function's names
    given = {"n_x1": 3, "alpha_x1": 0.5, "n": 9}
    assert declaration.arguments(given) == {"n": 3, "alpha": 0.5}
    with pytest.raises(ValueError, match=r"missing \['alpha_x1'\]"):
        declaration.arguments({"n_x1": 3})
    with pytest.raises(TypeError, match="values must be a mapping"):
        declaration.arguments([("n_x1", 3)])
    assert Declaration(_experiment, (N, ALPHA)).notebook_parameters == (N, ALPHA)


@pytest.mark.parametrize(
    ("suffix", "error"),
    [
        ("p1", ValueError),
        ("_P1", ValueError),
        ("_", ValueError),
        ("_p-1", ValueError),
        (1, TypeError),
    ],
)
def test_a_bad_suffix_is_refused(suffix, error):
    with pytest.raises(error, match="suffix must be '' or such as '_p1'"):
        Declaration(_experiment, (N, ALPHA), suffix)


@pytest.mark.parametrize(
    ("build", "error", "message"),
    [
        (lambda: Interval(complex, 0, 1), TypeError, "kind must be int or float"),
        (lambda: Interval(int, 2, 1), ValueError, "low must be < high"),
        (lambda: Interval(int, 0, 1, closed="open"), ValueError, "closed must be one of"),
        (lambda: Parameter("n-1", SIZE, 1, 1, "size"), TypeError, "name must be a parameter"),
        (lambda: Parameter("n", (1, 2), 1, 1, "size"), TypeError, "allowed of n must be"),
        (lambda: Parameter("n", SIZE, 1, 1, " "), ValueError, "description of n must be"),
        (lambda: Parameter("n", SIZE, 1, 1, "a\nb"), ValueError, "must be one line"),
    ],
)
def test_bad_parts_of_a_declaration_are_refused(build, error, message):
    with pytest.raises(error, match=message):
        build()
