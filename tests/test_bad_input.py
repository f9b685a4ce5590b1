"""Bad input everywhere (issue 7): every public function of the package, fed wrong shapes,
wrong types, NaN/inf, zero/negative sizes and scales, huge sizes and unknown names, ends in a
``ValueError``/``TypeError`` (or the package's own subclasses) whose message names the
parameter; never in a numpy traceback, a hang, a MemoryError or a silent result.

The functions are found by introspection (:func:`public_callables`); a new public function
without a row in :data:`TABLE` (or a reason in :data:`NO_USER_INPUT`) fails
:func:`test_every_public_callable_has_bad_input_cases`. The claim parameters (papermill and
command line) are covered in ``tests/test_bad_input_cli.py``.
"""

from __future__ import annotations

import functools
import importlib
import inspect
import math
import pkgutil
import re
from collections import Counter
from dataclasses import dataclass, field

import numpy as np
import pytest
from hypothesis import HealthCheck, Phase, assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import matrix_sensing

settings.register_profile(
    "bad-input",
    max_examples=12,
    deadline=None,  # a few cases build an operator; hangs are caught by the examples' sizes
    derandomize=True,  # the same inputs on every run
    database=None,
    phases=[Phase.explicit, Phase.generate],  # no shrinking: the failing value is reported
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
BAD_INPUT = settings(settings.get_profile("bad-input"))

CASES: Counter = Counter()  # cases tried, by test family (printed at the end with -s)


@pytest.fixture(scope="module", autouse=True)
def _report_cases():
    yield
    print(
        f"\nbad-input cases tried (library functions): {dict(CASES)}, total {sum(CASES.values())}"
    )


# -- introspection ------------------------------------------------------------------------


def _modules():
    names = ["matrix_sensing"] + [
        info.name
        for info in pkgutil.walk_packages(matrix_sensing.__path__, "matrix_sensing.")
        if not info.name.endswith("__main__")
    ]
    return [importlib.import_module(name) for name in names]


def public_callables() -> dict[str, object]:
    """``"module.name"`` -> callable, for every public function and class defined in the
    package (exceptions aside), plus the public methods of the measurement operators."""
    found = {}
    for module in _modules():
        if any(part.startswith("_") for part in module.__name__.split(".")[1:]):
            if not module.__name__.endswith("_registry") and not module.__name__.endswith(
                "_common"
            ):
                continue
        names = getattr(module, "__all__", None) or dir(module)
        for name in names:
            obj = getattr(module, name, None)
            if name.startswith("_") or not callable(obj):
                continue
            if getattr(obj, "__module__", None) != module.__name__:
                continue
            if isinstance(obj, type) and issubclass(obj, BaseException):
                continue
            found[f"{module.__name__}.{name}"] = obj
            if isinstance(obj, type) and name in OPERATOR_CLASSES:
                for method in ("from_array", "__call__", "adjoint", "measure"):
                    if method in vars(obj):
                        found[f"{module.__name__}.{name}.{method}"] = getattr(obj, method)
    return found


OPERATOR_CLASSES = {
    "GaussianSensing",
    "SymmetricGaussianSensing",
    "IdentitySensing",
    "RankOneSensing",
    "EntrySampling",
}


# -- bad values ---------------------------------------------------------------------------

WRONG_TYPES = [None, "1", "abc", b"1", 1j, {"a": 1}, object()]


@dataclass(frozen=True)
class Int:
    """An integer parameter ``low <= value <= high``; ``huge``: sizes of 1e10 and more must
    be refused (they would allocate terabytes)."""

    low: int = 1
    high: int | None = None
    huge: bool = False

    def bad(self, base):
        options = [
            st.integers(min_value=self.low - 10**6, max_value=self.low - 1),
            st.just(self.low - 1),
            st.floats(),  # 2.0 is not an integer either: a float reaching a shape is a bug
            st.booleans(),
            st.sampled_from([*WRONG_TYPES, [1], "3"]),
        ]
        if self.high is not None:
            options.append(st.integers(min_value=self.high + 1, max_value=self.high + 10**6))
        if self.huge or self.high is not None:
            options.append(st.integers(min_value=10**10, max_value=10**30))
        return st.one_of(options)


SIZE = Int(1, huge=True)
COUNT = Int(0)  # iterations: large counts are valid (slow, not wrong)
SEED = Int(0)


@dataclass(frozen=True)
class Real:
    """A real parameter in ``low <(=) value <(=) high``; NaN and inf are always bad."""

    low: float | None = None
    high: float | None = None
    low_open: bool = False
    high_open: bool = False

    def bad(self, base):
        options = [
            st.sampled_from([math.nan, math.inf, -math.inf]),
            st.sampled_from([*WRONG_TYPES, [1.0], "0.5", True, np.array([1.0, 2.0])]),
        ]
        if self.low is not None:
            options.append(st.just(float(self.low)) if self.low_open else st.nothing())
            options.append(st.floats(max_value=self.low, exclude_max=True, allow_nan=False))
        if self.high is not None:
            options.append(st.just(float(self.high)) if self.high_open else st.nothing())
            options.append(st.floats(min_value=self.high, exclude_min=True, allow_nan=False))
        return st.one_of(options).filter(
            lambda v: not (isinstance(v, float) and math.isinf(v) and self._allows(v))
        )

    def _allows(self, value):
        return False


POS = Real(0.0, low_open=True)
NONNEG = Real(0.0)
FINITE = Real()
UNIT = Real(0.0, 1.0)


@dataclass(frozen=True)
class Arr:
    """An array argument. ``axes``: per axis, True when its size is fixed by the other
    arguments (so a different size is wrong). ``ndims``: the accepted numbers of dimensions.
    ``positive``: entries must be > 0. ``nonempty``: an empty array is wrong. ``missing``:
    a NaN entry stands for a missing value (a run that never reached a level; the result is
    NaN by design, so that the claim reading it fails), only inf is wrong."""

    axes: tuple[bool, ...]
    ndims: tuple[int, ...] = ()
    positive: bool = False
    nonempty: bool = False  # an empty array is usually caught as a mismatch with another one
    missing: bool = False

    def bad(self, base):
        base = np.asarray(base, dtype=float)
        ndims = self.ndims or (len(self.axes),)
        wrong_ndim = (
            hnp.array_shapes(min_dims=0, max_dims=4, min_side=1, max_side=3)
            .filter(lambda s: len(s) not in ndims)
            .flatmap(lambda s: hnp.arrays(np.float64, s, elements=st.floats(-2, 2)))
        )

        def poke(index_value):
            index, value = index_value
            out = base.copy()
            out.flat[index % out.size] = value
            return out

        options = [
            wrong_ndim,
            st.tuples(
                st.integers(0, 10**6),
                st.sampled_from(
                    [math.inf, -math.inf] if self.missing else [math.nan, math.inf, -math.inf]
                ),
            ).map(poke),
            st.sampled_from(
                [
                    None,
                    "abc",
                    base.astype(complex) + 1j,
                    base.astype(bool),
                    base.astype(str),
                    _with_none(base),
                    [[1.0], [1.0, 2.0]],
                    {"a": 1},
                ]
            ),
        ]
        fixed = [i for i, f in enumerate(self.axes) if f]
        if fixed:
            options.append(
                st.tuples(st.sampled_from(fixed), st.integers(1, 5))
                .filter(lambda t: t[1] != base.shape[t[0]])
                .map(lambda t: np.ones((*base.shape[: t[0]], t[1], *base.shape[t[0] + 1 :])))
            )
        if self.positive:
            options.append(st.tuples(st.integers(0, 10**6), st.sampled_from([0.0, -1.0])).map(poke))
        if self.nonempty:
            options.append(st.just(np.zeros((0,) * base.ndim)))
        return st.one_of(options)


def _with_none(base):
    values = base.tolist()
    if base.ndim == 1:
        values[0] = None
    elif base.ndim >= 2:
        values[0][0] = None
    return values


@dataclass(frozen=True)
class Seq:
    """A list of numbers, each of kind ``item``; ``min_len`` elements at least."""

    item: object
    min_len: int = 1

    def bad(self, base):
        base = list(base)
        options = [
            st.sampled_from([None, "abc", 3, {"a": 1}, [[1.0]], [*base, None]]),
            self.item.bad(None).map(lambda v: [*base[:-1], v]),
        ]
        if self.min_len >= 1:
            options.append(st.just([]))
        return st.one_of(options)


@dataclass(frozen=True)
class Choice:
    """A name out of a fixed set."""

    def bad(self, base):
        return st.one_of(
            st.sampled_from(["bogus", "", "FRO", None, 3, ["fro"], {"x": 1}]),
            st.text(min_size=1, max_size=5).map(lambda s: f"no-{s}"),
        )


CHOICE = Choice()


@dataclass(frozen=True)
class Obj:
    """An object of the package (an operator, a Run, a Claim...): anything else is wrong."""

    def bad(self, base):
        return st.sampled_from([None, "op", 3, np.eye(3), [1, 2], {"m": 3}, object()])


OBJ = Obj()


@dataclass(frozen=True)
class Metrics:
    """A ``name -> f(U, V)`` mapping."""

    def bad(self, base):
        return st.sampled_from([3, "abc", {"x": 3}, {"x": None}, [1, 2]])


METRICS = Metrics()


@dataclass(frozen=True)
class Shape:
    """A pair ``(n1, n2)`` of sizes (the error may name the size, n1 or n2)."""

    huge: bool = True
    aliases = ("n1", "n2")

    def bad(self, base):
        size = SIZE if self.huge else Int(1)
        return st.one_of(
            st.sampled_from([None, 3, (3,), (2, 2, 2), "ab", [], {"a": 1}]),
            size.bad(None).map(lambda n: (n, 2)),
            size.bad(None).map(lambda n: (2, n)),
        )


@dataclass(frozen=True)
class Path_:
    """A results file to read: missing files, folders and garbage are reported."""

    def bad(self, base):
        return st.sampled_from(["missing", "folder", "garbage", "empty", None, 3]).map(_path)


def _path(token):
    folder = _scratch()
    if token == "missing":
        return folder / "missing.json"
    if token == "folder":
        return folder
    if token in ("garbage", "empty"):
        path = folder / f"{token}.json"
        path.write_bytes(b"\x80\x04garbage" if token == "garbage" else b"")
        return path
    return token


@functools.cache
def _scratch():
    import atexit
    import shutil
    import tempfile
    from pathlib import Path

    folder = Path(tempfile.mkdtemp(prefix="bad-input-"))
    atexit.register(shutil.rmtree, folder, ignore_errors=True)  # one per worker, then gone
    return folder


@dataclass(frozen=True)
class Bad:
    """An explicit list of bad values (for arguments with an unusual type, e.g. a mask)."""

    values: tuple

    def bad(self, base):
        return st.sampled_from(self.values)


NAME = Bad((None, 3, "", [1], b"n1", "two words"))
TYPES = Bad((None, "abc", 3, {"a": 1}, object(), [[1.0], [1.0, 2.0]]))
CALLABLE = Bad((None, 3, "abc", [1, 2], {"a": 1}))
E1 = np.array([[1.0], [0.0], [0.0]])  # an orthonormal basis of one axis of R^3


# -- the table ----------------------------------------------------------------------------


@dataclass
class Case:
    """``base()`` returns valid keyword arguments; ``kinds`` maps a parameter to its kind;
    ``skip`` maps a parameter to the reason it has no bad values."""

    base: object
    kinds: dict
    skip: dict = field(default_factory=dict)
    positional: tuple = ()  # parameters passed positionally (``self`` of a method)
    aliases: dict = field(default_factory=dict)  # other words that name a parameter


FLAG = "a flag: every value is a valid truth value"
LABEL = "a label used in messages, set by the package"
RECORD = "a record the package produces (a Run, a history, a result), never typed by a reader"


@functools.cache
def tiny():
    """A 3 x 2 rank-1 problem with 8 measurements and width-2 factors, and its symmetric
    (3 x 3) counterpart: small enough that a case costs microseconds."""
    from matrix_sensing import psd_target
    from matrix_sensing.initialization import small_random_init
    from matrix_sensing.operators import GaussianSensing, SymmetricGaussianSensing
    from matrix_sensing.solvers import factorized_gd
    from matrix_sensing.targets import low_rank_target

    op = GaussianSensing(8, (3, 2), seed=0)
    X = low_rank_target(3, 2, 1, seed=1)
    U0, V0 = small_random_init(3, 2, 2, 0.1, seed=2)
    sop = SymmetricGaussianSensing(8, 3, seed=0)
    Xs = psd_target(3, 1, seed=1)
    Us = np.random.default_rng(3).standard_normal((3, 2)) * 0.1
    qop = GaussianSensing(8, (3, 3), seed=4)  # the robust module's n x n operator
    result = factorized_gd(op, op(X), U0, V0, 0.2, 30, truth=X)
    history = result.history
    return {
        "op": op,
        "X": X,
        "y": op(X),
        "U0": U0,
        "V0": V0,
        "sop": sop,
        "Xs": Xs,
        "ys": sop(Xs),
        "Us": Us,
        "qop": qop,
        "qy": qop(Xs),
        "history": history,
        "result": result,
        "M": np.array([[2.0, 0.0], [0.0, 1.0], [0.5, 0.5]]),
    }


def T(**names):
    """Keyword arguments taken from :func:`tiny` (``U0="U0"``) or given literally."""

    def build():
        t = tiny()
        return {k: (t[v] if isinstance(v, str) and v in t else v) for k, v in names.items()}

    return build


A1, A2, A2c, A2r, A22 = (
    Arr((True,)),
    Arr((False, False)),
    Arr((True, False)),
    Arr((False, True)),
    Arr((True, True)),
)
SOLVER = dict(
    op=OBJ,
    y=A1,
    U0=A2c,
    V0=A22,
    step=POS,
    iters=COUNT,
    truth=A22,
    record_every=Int(1),
    metrics=METRICS,
    divergence_factor=Real(1.0),
)
SOLVER_SKIP = {"progress": FLAG}


def _solver(**extra):
    return T(op="op", y="y", U0="U0", V0="V0", step=0.1, iters=2, truth="X", **extra)


def _factored_methods(name: str, instance) -> dict[str, Case]:
    """Cases for ``__call__``, ``adjoint`` and ``measure`` of a factored operator class;
    ``instance()`` gives the (4-measurement, 3 x 2) operator they are called on."""
    prefix = f"matrix_sensing.operators.factored.{name}."
    return {
        prefix + "__call__": Case(
            lambda: {"self": instance(), "Z": tiny()["X"]},
            {"Z": Arr((True, True), ndims=(2, 3))},
            positional=("self",),
        ),
        prefix + "adjoint": Case(
            lambda: {"self": instance(), "z": np.ones(4)},
            {"z": Arr((True,), ndims=(1, 2))},
            positional=("self",),
        ),
        prefix + "measure": Case(
            lambda: {"self": instance(), "L": tiny()["U0"], "R": tiny()["V0"]},
            {"L": A2c, "R": A22},
            positional=("self",),
        ),
    }


def _dense_methods(path: str, array: tuple, op: str, Z: str, z: str) -> dict[str, Case]:
    """Cases for ``from_array``, ``__call__`` and ``adjoint`` of a dense operator class
    (``matrix_sensing.<path>``): ``array`` is the shape given to ``from_array``; ``op``,
    ``Z`` and ``z`` name the fixture operator, matrix and measurement vector."""
    prefix = f"matrix_sensing.{path}."
    return {
        prefix + "from_array": Case(T(A=np.ones(array)), {"A": Arr((False, False, False))}),
        prefix + "__call__": Case(
            T(self=op, Z=Z), {"Z": Arr((True, True), ndims=(2, 3))}, positional=("self",)
        ),
        prefix + "adjoint": Case(
            T(self=op, z=z), {"z": Arr((True,), ndims=(1, 2))}, positional=("self",)
        ),
    }


TABLE: dict[str, Case] = {
    # solvers
    "matrix_sensing.solvers.gd.factorized_gd": Case(
        _solver(),
        {**SOLVER, "balance_weight": NONNEG, "dtype": Bad(("bogus", 3, [1], "int64", complex))},
        SOLVER_SKIP,
    ),
    "matrix_sensing.solvers.preconditioned.preconditioned_gd": Case(
        _solver(stop_below=1e-3),
        {**SOLVER, "policy": CHOICE, "lam": POS, "stop_below": POS},
        SOLVER_SKIP,
    ),
    "matrix_sensing.solvers.preconditioned.damping": Case(
        T(policy="scaledgd", U="U0", V="V0", loss=0.5),
        {"policy": CHOICE, "U": A2, "V": A2r, "loss": NONNEG, "lam": POS},
    ),
    "matrix_sensing.solvers.preconditioned.preconditioned_step": Case(
        T(U="U0", V="V0", grad_U="U0", grad_V="V0", step=0.1, lam=0.0),
        {"U": A2, "V": A2r, "grad_U": A22, "grad_V": A22, "step": POS, "lam": NONNEG},
    ),
    "matrix_sensing.solvers.robust.subgradient_method": Case(
        T(op="op", y="y", U0="U0", V0="V0", step0=0.1, decay=0.9, iters=2, truth="X"),
        {
            **{k: v for k, v in SOLVER.items() if k != "step"},
            "step0": POS,
            "decay": Real(0.0, 1.0, low_open=True),
        },
        SOLVER_SKIP,
        aliases={"V0": ("symmetric",)},  # V0=None selects the symmetric model
    ),
    "matrix_sensing.solvers.robust.symmetric_l2_gd": Case(
        T(op="qop", y="qy", U0="Us", step=0.1, iters=2, truth="Xs"),
        {**{k: v for k, v in SOLVER.items() if k != "V0"}},
        SOLVER_SKIP,
    ),
    "matrix_sensing.solvers.robust.symmetric_subgradient_method": Case(
        T(op="qop", y="qy", U0="Us", step0=0.1, decay=0.9, iters=2, truth="Xs"),
        {
            **{k: v for k, v in SOLVER.items() if k not in ("V0", "step")},
            "step0": POS,
            "decay": Real(0.0, 1.0, low_open=True),
        },
        SOLVER_SKIP,
    ),
    "matrix_sensing.solvers.symmetric.symmetric_gd": Case(
        T(op="sop", y="ys", U0="Us", step=0.1, iters=2, truth="Xs"),
        {**{k: v for k, v in SOLVER.items() if k != "V0"}, "method": CHOICE},
        SOLVER_SKIP,
    ),
    "matrix_sensing.solvers.factorization.scaled_gd_factorization": Case(
        T(M="M", U0="U0", V0="V0", step=0.1, iters=2, stop_below=1e-3),
        {
            "M": A2,
            "U0": A2c,
            "V0": A22,
            "step": POS,
            "iters": COUNT,
            "record_every": Int(1),
            "stop_below": POS,
            "divergence_factor": Real(1.0),
        },
        SOLVER_SKIP,
    ),
    # operators
    "matrix_sensing.operators.dense.GaussianSensing": Case(
        T(m=4, shape=(3, 2), seed=0),
        {"m": SIZE, "shape": Shape(), "seed": SEED},
    ),
    **_dense_methods("operators.dense.GaussianSensing", (2, 3, 2), op="op", Z="X", z="y"),
    "matrix_sensing.operators.symmetric.SymmetricGaussianSensing": Case(
        T(m=4, n=3, seed=0),
        {"m": SIZE, "n": SIZE, "seed": SEED},
    ),
    **_dense_methods(
        "operators.symmetric.SymmetricGaussianSensing", (2, 3, 3), op="sop", Z="Xs", z="ys"
    ),
    "matrix_sensing.operators.dense.IdentitySensing": Case(
        T(shape=(3, 2)), {"shape": Shape(huge=False)}
    ),
    "matrix_sensing.solvers.symmetric.symmetric_loss": Case(
        T(op="sop", y="ys", U="Us"), {"op": OBJ, "y": A1, "U": A2c}
    ),
    # initializations and targets
    "matrix_sensing.initialization.small_random_init": Case(
        T(n1=3, n2=2, k=2, alpha=0.1, seed=0),
        {"n1": SIZE, "n2": SIZE, "k": SIZE, "alpha": POS, "seed": SEED},
    ),
    "matrix_sensing.initialization.unequal_scale_init": Case(
        T(n1=3, n2=2, k=2, alpha=0.1, ratio=3.0, seed=0),
        {"n1": SIZE, "n2": SIZE, "k": SIZE, "alpha": POS, "ratio": POS, "seed": SEED},
    ),
    "matrix_sensing.initialization.identity_init": Case(
        T(n=3, k=2, alpha=0.1), {"n": SIZE, "k": SIZE, "alpha": POS}
    ),
    "matrix_sensing.initialization.spectral_init": Case(
        T(op="op", y="y", r=1), {"op": OBJ, "y": A1, "r": Int(1, high=2)}
    ),
    "matrix_sensing.targets.linear_spectrum": Case(
        T(r=3, kappa=2.0), {"r": SIZE, "kappa": Real(1.0)}
    ),
    "matrix_sensing.targets.low_rank_target": Case(
        T(n1=3, n2=2, r=2, kappa=2.0, seed=0, singular_values=[1.0, 0.5]),
        {
            "n1": SIZE,
            "n2": SIZE,
            "r": Int(1, high=2),
            "kappa": Real(1.0),
            "seed": SEED,
            "singular_values": Arr((True,), positive=True),
        },
    ),
    "matrix_sensing.targets.psd_target": Case(
        T(n=3, r=1, kappa=2.0, seed=0, eigenvalues=[1.0]),
        {
            "n": SIZE,
            "r": Int(1, high=3),
            "kappa": Real(1.0),
            "seed": SEED,
            "eigenvalues": Arr((True,), positive=True),
        },
        {"return_basis": FLAG},
    ),
    "matrix_sensing.solvers.factorization.nystrom_init": Case(
        T(M="M", k=2, seed=0),
        {"M": A2, "k": SIZE, "seed": SEED},
        {"symmetric": FLAG},
    ),
    "matrix_sensing.solvers.factorization.heron_prediction": Case(
        T(M="M", U0="U0", V0="V0", steps=3),
        {"M": A2, "U0": A2c, "V0": A22, "steps": COUNT},
    ),
    "matrix_sensing.solvers.rebalancing.rebalance": Case(
        T(U="U0", V="V0", floor=0.5), {"U": A2, "V": A2r, "floor": UNIT}
    ),
    "matrix_sensing.solvers.robust.corrupt": Case(
        T(y="y", fraction=0.25, magnitude=10.0, seed=0),
        {"y": Arr((False,)), "fraction": UNIT, "magnitude": POS, "seed": SEED},
    ),
    "matrix_sensing.solvers.robust.l1_loss": Case(
        T(op="op", y="y", U="U0", V="V0"), {"op": OBJ, "y": A1, "U": A2c, "V": A22}
    ),
    "matrix_sensing.solvers.robust.l1_subgradient": Case(
        T(op="op", y="y", U="U0", V="V0"), {"op": OBJ, "y": A1, "U": A2c, "V": A22}
    ),
    # metrics
    "matrix_sensing.metrics.relative_error": Case(
        T(estimate="X", truth="X"), {"estimate": A22, "truth": A2, "norm": CHOICE}
    ),
    "matrix_sensing.metrics.test_error": Case(
        T(U="U0", V="V0", truth="X"), {"U": A2, "V": A2r, "truth": A22, "norm": CHOICE}
    ),
    "matrix_sensing.metrics.train_loss": Case(
        T(op="op", y="y", U="U0", V="V0"), {"op": OBJ, "y": A1, "U": A2c, "V": A22}
    ),
    "matrix_sensing.metrics.imbalance": Case(T(U="U0", V="V0"), {"U": A2, "V": A2r}),
    "matrix_sensing.metrics.imbalance_norm": Case(
        T(U="U0", V="V0"), {"U": A2, "V": A2r, "norm": CHOICE}
    ),
    "matrix_sensing.metrics.singular_values": Case(T(M="M"), {"M": A2}),
    "matrix_sensing.metrics.nuclear_norm": Case(T(M="M"), {"M": A2}),
    "matrix_sensing.metrics.effective_rank": Case(T(M="M"), {"M": A2}),
    "matrix_sensing.metrics.top_singular_subspaces": Case(
        T(M="M", r=1), {"M": A2, "r": Int(1, high=2)}
    ),
    "matrix_sensing.metrics.singular_value_ratio": Case(
        T(M="M", r=1), {"M": A2, "r": Int(1, high=1)}
    ),
    "matrix_sensing.metrics.principal_angles": Case(T(A="U0", B="U0"), {"A": A2, "B": A2c}),
    "matrix_sensing.metrics.subspace_distance": Case(
        T(A="U0", B="U0"), {"A": A2, "B": A2c}, {"orthonormal": FLAG}
    ),
    "matrix_sensing.metrics.local_linear_rate": Case(
        T(iterations=np.arange(5.0), values=0.5 ** np.arange(5.0), start=0, stop=5),
        {
            "iterations": Arr((False,)),
            "values": Arr((True,), positive=True),
            "stop": Bad((None, "abc", 0, -1, [1])),
        },
        {"start": "any number: the window is cut from the recorded iterations"},
        aliases={"stop": ("window",)},
    ),
    "matrix_sensing.metrics.first_crossing": Case(
        T(iterations=np.arange(5.0), values=0.5 ** np.arange(5.0), level=0.1),
        {"iterations": Arr((False,), nonempty=False), "values": A1, "level": FINITE},
    ),
    "matrix_sensing.metrics.first_rise": Case(
        T(iterations=np.arange(5.0), values=2.0 ** np.arange(5.0), level=3.0),
        {"iterations": Arr((False,), nonempty=False), "values": A1, "level": FINITE},
    ),
    # claims registry and parameters
    "matrix_sensing.claims._registry.get": Case(T(claim_id="M1"), {"claim_id": CHOICE}),
    "matrix_sensing.claims._registry.run_experiment": Case(
        T(claim_id="M1", seed=0, scale="ci"),
        {"claim_id": CHOICE, "seed": SEED, "scale": CHOICE},
        {"overrides": "unknown names: test_unknown_names; values: tests/test_bad_input_cli.py"},
    ),
    "matrix_sensing.claims._registry.check_claim": Case(
        T(claim_id="M1", seed=0, scale="ci"),
        {"claim_id": CHOICE, "seed": SEED, "scale": CHOICE},
        {"overrides": "unknown names: test_unknown_names; values: tests/test_bad_input_cli.py"},
    ),
    "matrix_sensing.claims._registry.evaluate": Case(
        T(claim_id="M1", run=None), {"claim_id": CHOICE, "run": OBJ}
    ),
    "matrix_sensing.claims._registry.verdict": Case(
        T(claim_id="M1", results=[]), {"claim_id": CHOICE, "results": OBJ}
    ),
    "matrix_sensing.claims._registry.record": Case(
        T(verdicts=[], runtime_s=1.0), {"verdicts": OBJ, "runtime_s": NONNEG}
    ),
    "matrix_sensing.claims._registry.register": Case(T(claim=None), {"claim": OBJ}),
    "matrix_sensing.claims._registry.Threshold": Case(
        T(quantity="test_error", relation="<=", value=1e-3),
        {"quantity": NAME, "relation": CHOICE, "value": FINITE},
    ),
    "matrix_sensing.parameters.claim_parameters": Case(T(claim_id="M1"), {"claim_id": CHOICE}),
    "matrix_sensing.parameters.notebook_values": Case(
        T(claim_id="P1", scale="paper"), {"claim_id": CHOICE, "scale": CHOICE}
    ),
    "matrix_sensing.experiments._common.check_seeds": Case(T(seeds=[0, 1]), {"seeds": Seq(SEED)}),
    "matrix_sensing.experiments._common.spawn_seeds": Case(
        T(seed=0, count=2),
        {"seed": SEED, "count": Int(0, high=10**6)},
    ),
    "matrix_sensing.experiments._common.sensing_problem": Case(
        T(n1=3, n2=2, r=1, kappa=2.0, m=4, seed=0),
        {"n1": SIZE, "n2": SIZE, "r": Int(1, high=2), "kappa": Real(1.0), "m": SIZE, "seed": SEED},
    ),
}


def _tiny_init(alpha):
    from matrix_sensing.initialization import small_random_init

    return small_random_init(3, 2, 2, alpha, seed=0)


def _stack(name):
    def build():
        return np.stack([tiny()[name], 2 * tiny()[name]])

    return build


def _extra_rows():
    from matrix_sensing.experiments.nuclear_norm import symmetric_sensing
    from matrix_sensing.operators import EntrySampling, IdentitySensing, RankOneSensing

    ident = IdentitySensing((3, 2))
    rank_one = RankOneSensing(4, (3, 2), seed=0)
    sampling = EntrySampling((3, 2), 4, seed=0)
    sym_op = symmetric_sensing(8, 3, seed=0)
    positive_1d = Arr((False,), positive=True)
    times = Arr((True,), missing=True)  # NaN: a run that never escaped (the fit is NaN)
    curve = dict(
        iterations=np.arange(4.0),
        eigenvalues=np.array([[0.1, 0.01], [0.5, 0.05], [1.0, 0.2], [1.0, 0.6]]),
        targets=np.array([0.5, 0.5]),
    )
    E = "matrix_sensing.experiments."
    escape = dict(level=0.5, max_iters=5, chunk=2)
    rows = {
        "matrix_sensing.claims.balancing_free.time_to_level": Case(
            T(history="history", level=0.1), {"level": POS}, {"history": RECORD}
        ),
        E + "alpha_scaling.check_alphas": Case(
            T(name="alphas", alphas=[0.1, 0.01, 0.001]),
            {"alphas": Seq(Real(0.0, 1.0, low_open=True, high_open=True))},
            {"name": LABEL, "minimum_count": LABEL},
        ),
        "matrix_sensing.fits.semilog_fit": Case(
            T(alphas=np.array([1e-2, 1e-3, 1e-4]), times=np.array([10.0, 20.0, 31.0])),
            {"alphas": positive_1d, "times": times},
        ),
        "matrix_sensing.fits.loglog_fit": Case(
            T(alphas=np.array([1e-2, 1e-3, 1e-4]), errors=np.array([1e-2, 1e-3, 1e-4])),
            {"alphas": positive_1d, "errors": Arr((True,), positive=True)},
        ),
        E + "alpha_scaling.final_errors": Case(
            T(
                op="op",
                y="y",
                truth="X",
                init=_tiny_init,
                alphas=[0.1, 0.01],
                step=0.1,
                iters=2,
                record_every=1,
            ),
            {
                "op": OBJ,
                "y": A1,
                "truth": A22,
                "init": CALLABLE,
                "alphas": Seq(POS),
                "step": POS,
                "iters": COUNT,
                "record_every": Int(1),
                "dtype": Bad(("bogus", 3, [1], "int64", complex)),
            },
        ),
        E + "alpha_scaling.run_until_escape": Case(
            T(op="op", y="y", U0="U0", V0="V0", step=0.1, truth="X", **escape),
            {
                "op": OBJ,
                "y": A1,
                "U0": A2c,
                "V0": A22,
                "step": POS,
                "truth": A22,
                "level": POS,
                "max_iters": Int(1),
                "chunk": Int(1),
            },
        ),
        E + "balancing.identity_residual": Case(
            T(U="U0", V="V0", U_next="U0", V_next="V0", E="X", step=0.1),
            {"U": A2, "V": A2r, "U_next": A22, "V_next": A22, "E": A22, "step": POS},
        ),
        E + "balancing.imbalance_step": Case(
            T(U="U0", V="V0", E="X", step=0.1), {"U": A2, "V": A2r, "E": A22, "step": POS}
        ),
        E + "balancing.unbalanced_init": Case(
            T(U0="U0", V0="V0", unbalance=2.0), {"U0": A2, "V0": A2r, "unbalance": POS}
        ),
        E + "balancing_free.linearized_rate": Case(
            T(op="op", truth="X", r=1, step=0.1),
            {"op": OBJ, "truth": A22, "r": Int(1, high=2), "step": POS},
        ),
        E + "balancing_free.relative_imbalance": Case(T(scale=1.0), {"scale": POS}),
        E + "imbalance.level_window_rate": Case(
            T(history="history", levels=[0.1, 0.01]),
            {"levels": Seq(POS)},
            {"history": RECORD},
        ),
        E + "imbalance.scaled_window_rate": Case(
            T(history="history", step=0.2, alpha=0.1, start=0.0, stop=0.05),
            {"step": POS, "alpha": POS, "start": NONNEG, "stop": POS, "origin": Int(0)},
            {"history": RECORD},
        ),
        E + "landscape.first_hits": Case(
            T(iterations=np.arange(3.0), values=np.ones((3, 2)), level=0.5),
            {"iterations": Arr((False,)), "values": Arr((True, False)), "level": FINITE},
        ),
        E + "low_rank_bias.low_rank_trajectory": Case(
            T(
                n1=3,
                n2=2,
                r=1,
                kappa=2.0,
                m=8,
                k=2,
                alpha_small=1e-3,
                alpha_large=1.0,
                step_small=0.1,
                step_large=0.1,
                iters_small=3,
                iters_large=3,
                seed=0,
                record_every=1,
            ),
            {
                "n1": SIZE,
                "n2": SIZE,
                "r": Int(1, high=1),
                "kappa": Real(1.0),
                "m": SIZE,
                "k": Int(1, huge=True),
                "alpha_small": POS,
                "alpha_large": POS,
                "step_small": POS,
                "step_large": POS,
                "iters_small": COUNT,
                "iters_large": COUNT,
                "seed": SEED,
                "record_every": Int(1),
            },
            {"progress": FLAG},
        ),
        E + "low_rank_bias.nuclear_norm_gap": Case(T(M="X", truth="X"), {"M": A22, "truth": A2}),
        E + "nuclear_norm.check_alphas": Case(T(alphas=[0.1, 0.01]), {"alphas": Seq(POS)}),
        E + "nuclear_norm.min_trace_certificate": Case(
            lambda: {"op": sym_op, "Q": E1}, {"op": OBJ, "Q": Arr((True, False))}
        ),
        E + "nuclear_norm.symmetric_sensing": Case(
            T(m=4, n=3, seed=0),
            {"m": SIZE, "n": SIZE, "seed": SEED},
        ),
        E + "robust.symmetric_sensing": Case(
            T(n=3, m=4, seed=0),
            {"m": SIZE, "n": SIZE, "seed": SEED},
        ),
        E + "phases.dilation": Case(T(M="M"), {"M": A2}),
        E + "phases.drop_iterations": Case(
            T(errors=np.array([1.0, 0.5, 0.1, 0.01]), start=0, factor=2.0),
            {"errors": Arr((False,)), "start": Int(0, high=3), "factor": Real(1.0)},
        ),
        E + "phases.first_below": Case(
            T(values=np.array([1.0, 0.5]), level=0.7),
            {"values": Arr((False,), nonempty=False), "level": POS},
        ),
        E + "phases.longest_run": Case(
            T(mask=np.array([True, False, True, True])),
            {"mask": Bad((None, "abc", 3, np.ones((2, 2), bool), [[True], [False, True]]))},
        ),
        E + "phases.plateau_length": Case(
            T(errors=np.array([1.0, 0.5, 0.5, 0.1]), level=0.5, tolerance=0.01, stop=4),
            {"errors": Arr((False,)), "level": NONNEG, "tolerance": POS, "stop": Int(0)},
        ),
        E + "phases.power_iteration": Case(
            T(M="M", U0="U0", V0="V0", step=0.1, iters=2),
            {"M": A2, "U0": A2c, "V0": A22, "step": POS, "iters": COUNT},
        ),
        E + "phases.sine_between_bases": Case(T(A=E1, B=E1), {"A": A2, "B": A2c}),
        E + "phases.spectral_phase_end": Case(
            T(product_norm=np.array([0.1, 0.2, 1.0]), level=0.5),
            {"product_norm": Arr((False,)), "level": POS},
        ),
        E + "preconditioning.first_below": Case(
            T(result="result", level=0.5), {"level": POS}, {"result": RECORD}
        ),
        E + "preconditioning.gd_until": Case(
            T(op="op", y="y", U0="U0", V0="V0", step=0.1, max_iters=4, truth="X", tol=0.5, chunk=2),
            {
                "op": OBJ,
                "y": A1,
                "U0": A2c,
                "V0": A22,
                "step": POS,
                "max_iters": Int(1),
                "truth": A22,
                "tol": POS,
                "chunk": Int(1),
            },
        ),
        E + "symmetric.check_eigenvalues": Case(
            T(name="eigenvalues", values=[1.0, 0.5]),
            {"values": Seq(POS)},
            {"name": LABEL},
            aliases={"values": ("eigenvalues",)},  # the label the caller passed as name
        ),
        E + "symmetric.check_values": Case(
            T(name="alphas", values=[0.1, 0.01], low=0.0, high=1.0, minimum_count=2),
            {"values": Seq(Real(0.0, 1.0, low_open=True, high_open=True))},
            {"name": LABEL, "low": LABEL, "high": LABEL, "minimum_count": LABEL},
            aliases={"values": ("alphas",)},  # the label the caller passed as name
        ),
        E + "symmetric.crossing_times": Case(
            T(**curve),
            {
                "iterations": Arr((False,)),
                "eigenvalues": Arr((True, False)),
                "targets": Arr((True,), positive=True),
            },
        ),
        E + "symmetric.spectral_phase_end": Case(
            T(norms=np.array([0.1, 0.2, 1.0]), level=0.5),
            {"norms": Arr((False,)), "level": POS},
        ),
        E + "symmetric.symmetric_problem": Case(
            T(n=3, r=1, m=4, seed=0, eigenvalues=[1.0]),
            {
                "n": SIZE,
                "r": Int(1, high=3),
                "m": SIZE,
                "seed": SEED,
                "kappa": Real(1.0),
                "eigenvalues": Arr((True,), positive=True),
            },
        ),
        E + "symmetric.top_eigenvectors": Case(T(M="Xs", r=1), {"M": A2, "r": Int(1, high=3)}),
        "matrix_sensing.metrics.top_subspace_sine": Case(
            T(M="Us", basis=E1), {"M": A2, "basis": Arr((True, False))}
        ),
        E + "width.check_extra_alphas": Case(
            T(alphas=[1e-2]),
            {"alphas": Seq(Real(0.0, 1.0, low_open=True, high_open=True))},
            aliases={"alphas": ("extra_alphas",)},  # the notebook parameter it checks
        ),
        E + "_common.escape_time": Case(
            T(history="history", level=0.5), {"level": POS}, {"history": RECORD}
        ),
        E + "_common.run_in_chunks": Case(
            lambda: {
                **T(op="op", y="y", truth="X", level=0.5, chunk=2)(),
                "U0": _stack("U0")(),
                "V0": _stack("V0")(),
                "steps": [0.1, 0.1],
                "iters": [4, 4],
            },
            {
                "op": OBJ,
                "y": A1,
                "U0": Arr((False, True, False)),
                "V0": Arr((True, True, True)),
                "steps": Seq(POS),
                "iters": Seq(Int(1)),
                "truth": A22,
                "level": POS,
                "chunk": Int(1),
                "then_every": Int(1),
            },
            aliases={"then_every": ("record_every",)},
        ),
        "matrix_sensing.operators.factored.RankOneSensing": Case(
            T(m=4, shape=(3, 2), seed=0),
            {"m": SIZE, "shape": Shape(), "seed": SEED, "dtype": Bad(("bogus", 3, [1], "int64"))},
        ),
        **_factored_methods("RankOneSensing", lambda: rank_one),
        "matrix_sensing.operators.factored.EntrySampling": Case(
            T(shape=(3, 2), m=4, seed=0),
            {
                "shape": Shape(),
                "m": Int(1, high=6),
                "fraction": Real(0.0, 1.0, low_open=True),
                "seed": SEED,
            },
            {"replace": FLAG},
        ),
        **_factored_methods("EntrySampling", lambda: sampling),
        E + "width.check_widths": Case(T(widths=[1, 2], r=1), {"widths": Seq(Int(1)), "r": Int(1)}),
        E + "width.nested_init": Case(
            T(G_U="U0", G_V="V0", k=1, alpha=0.1),
            {"G_U": A2, "G_V": A2r, "k": Int(1, high=2), "alpha": POS},
        ),
        E + "width.run_recording_escape": Case(
            T(
                op="op",
                y="y",
                U0="U0",
                V0="V0",
                step=0.1,
                iters=4,
                truth="X",
                level=0.5,
                record_every=2,
                chunk=2,
            ),
            {
                "op": OBJ,
                "y": A1,
                "U0": A2c,
                "V0": A22,
                "step": POS,
                "iters": COUNT,
                "truth": A22,
                "level": POS,
                "record_every": Int(1),
                "chunk": Int(1),
            },
        ),
        "matrix_sensing.operators.dense.IdentitySensing.__call__": Case(
            lambda: {"self": ident, "Z": tiny()["X"]}, {"Z": A22}, positional=("self",)
        ),
        "matrix_sensing.operators.dense.IdentitySensing.adjoint": Case(
            lambda: {"self": ident, "z": np.ones(6)}, {"z": A1}, positional=("self",)
        ),
        "matrix_sensing.solvers.preconditioned.algorithm_name": Case(
            T(policy="scaledgd"), {"policy": CHOICE}
        ),
        "matrix_sensing.provenance.read_json": Case(T(path="x"), {"path": Path_()}),
        "matrix_sensing.provenance.read_npz": Case(T(path="x"), {"path": Path_()}),
        "matrix_sensing.provenance.write_json": Case(
            lambda: {"path": _scratch() / "w.json", "data": {"a": 1}},
            {"data": Bad((None, 3, "abc", [1, 2], {"a": object()}))},
            {"path": "an output file: any path the reader chooses"},
        ),
        "matrix_sensing.provenance.write_npz": Case(
            lambda: {"path": _scratch() / "w.npz", "arrays": {"a": np.ones(2)}},
            {"arrays": Bad((None, 3, "abc", {"a": np.array([object()])}, {"a": None}))},
            {"path": "an output file: any path the reader chooses"},
        ),
        "matrix_sensing.provenance.write_archive": Case(
            lambda: {"path": _scratch() / "w.zip", "members": {"a.json": {"a": 1}}},
            {"members": Bad((None, 3, "abc", {}, {"a": [1]}, {"a": {"x": object()}}))},
            {"path": "an output file: any path the reader chooses"},
        ),
        "matrix_sensing.sweep.phase_point": Case(
            T(n1=3, n2=2, r=1, m=8, k=2, alpha=0.1, step=0.1, iters=3, kappa=2.0, seed=0),
            {
                "n1": SIZE,
                "n2": SIZE,
                "r": Int(1, high=2),
                "m": SIZE,
                "k": SIZE,
                "alpha": POS,
                "step": POS,
                "iters": COUNT,
                "kappa": Real(1.0),
                "seed": SEED,
            },
        ),
        "matrix_sensing.provenance.exclusive": Case(
            lambda: {"folder": _scratch() / "locked"},
            {"folder": Bad((None, 3, "", [1], {"a": 1}))},
        ),
        "matrix_sensing.provenance.write_bytes": Case(
            lambda: {"path": _scratch() / "w.bin", "payload": b"x"},
            {"payload": Bad((None, 3, "abc", [1, 2], {"a": 1}))},
            {"path": "an output file: any path the reader chooses"},
        ),
        "matrix_sensing.parallel.check_workers": Case(T(workers=1), {"workers": Int(0, high=256)}),
        "matrix_sensing.parallel.execute": Case(
            lambda: {"function": abs, "items": [1], "on_result": _ignore, "workers": 1},
            {"workers": Int(0, high=256)},
            {
                "function": "any function of one item: its own errors are raised as they are",
                "items": "any items of that function",
                "on_result": "the caller's own function, called with each result",
                "scheduler": "a Dask scheduler address, refused by Dask itself",
            },
        ),
        "matrix_sensing.experiments.runs.run_seeds": Case(
            lambda: {
                "experiment": _tiny_experiment,
                "params": {},
                "seeds": [0],
                "workers": 1,
                "progress": False,
            },
            {
                "experiment": CALLABLE,
                "params": Bad((None, 3, "abc", [1, 2])),
                "seeds": Seq(SEED),
                "workers": Int(0, high=256),
                "checkpoints": Bad((3, "", [1], {"a": 1})),
            },
            {
                "scheduler": "a Dask scheduler address, refused by Dask itself",
                "progress": FLAG,
            },
        ),
        "matrix_sensing.experiments.runs.checkpoint_progress": Case(
            lambda: {"checkpoints": _scratch() / "checkpoints"},
            {"checkpoints": Bad((None, 3, "", [1], {"a": 1}))},
        ),
        "matrix_sensing.summary.duration": Case(T(seconds=4.0), {"seconds": Real(0.0)}),
        "matrix_sensing.summary.recorded": Case(
            lambda: {"scale": "paper", "folder": _scratch(), "workers": 1},
            {
                "scale": CHOICE,
                "folder": Bad((3, "", [1], {"a": 1})),
                "workers": Bad((0, -1, 1.5, "abc", [1], True)),
            },
        ),
        "matrix_sensing.sweep.configurations": Case(
            T(name="phase-transition", scale="ci"),
            {"name": CHOICE, "scale": CHOICE},
            aliases={"name": ("sweep",)},
        ),
        "matrix_sensing.sweep.pending": Case(
            lambda: {"name": "phase-transition", "configs": [], "out": _scratch() / "sweep"},
            {"name": CHOICE},
            {
                "configs": "built by grid() from the sweep's own description",
                "out": "an output folder: any path the reader chooses",
            },
            aliases={"name": ("sweep",)},
        ),
        "matrix_sensing.sweep.run_sweep": Case(
            lambda: {
                "name": "phase-transition",
                "configs": [],
                "out": _scratch() / "sweep",
                "workers": 1,
                "progress": False,
            },
            {"name": CHOICE, "workers": Int(0)},
            {
                "configs": "built by grid() from the sweep's own description",
                "out": "an output folder: any path the reader chooses",
                "scheduler": "a Dask scheduler address, refused by Dask itself",
                "progress": FLAG,
            },
            aliases={"name": ("sweep",)},
        ),
    }
    return rows


def _ignore(index, result):
    pass


def _tiny_experiment(*, seed):
    from matrix_sensing.experiments import small_vs_large_init

    return small_vs_large_init(
        n1=3,
        n2=2,
        r=1,
        kappa=1.0,
        m=8,
        k=2,
        alpha_small=0.1,
        alpha_large=0.5,
        step_small=0.1,
        step_large=0.1,
        iters_small=2,
        iters_large=2,
        seed=seed,
    )


TABLE.update(_extra_rows())


NO_USER_INPUT = {
    "matrix_sensing.cli.main": "the command line: tests/test_bad_input_cli.py",
    **{
        f"matrix_sensing.summary.{name}": "reads or writes a summary the package made (from "
        "the results.json of its runs; a file is read with its checksum verified)"
        for name in (
            "entry",
            "failed_entry",
            "write",
            "rows",
            "table",
            "total_wall_s",
            "wall_time",
            "cost_per_seed",
            "measured_on",
            "comparison",
        )
    },
    "matrix_sensing.sweep.write_table": "writes records run_sweep produced into a folder the "
    "reader chooses",
    "matrix_sensing.claims._registry.ids": "no arguments",
    "matrix_sensing.claims.phases.refinement_window": "no arguments",
    "matrix_sensing.provenance.now": "no arguments",
    "matrix_sensing.provenance.environment": "no arguments",
    "matrix_sensing.provenance.blas": "no arguments",
    "matrix_sensing.provenance.lock_sha256": "the lock beside the package (LOCK_FILE)",
    "matrix_sensing.kernel_settings.kernel_config": "no arguments",
    "matrix_sensing.provenance.git_state": "the repository folder, found by the package",
    "matrix_sensing.claims.imbalance.relative_spread": "a claim's measure of values the "
    "experiment computed; NaN (so that the claim fails) for missing values, by design",
    "matrix_sensing.sweep.grid": "expands the sweeps' own descriptions (SWEEPS)",
    "matrix_sensing.sweep.config_key": "names a configuration built by grid()",
    "matrix_sensing.provenance.provenance": "metadata of a run, built by cli/sweep from "
    "validated parameters",
    "matrix_sensing.parameters.Parameter": "built by spec() (covered); its parse/validate "
    "are tested on every claim parameter in tests/test_bad_input_cli.py",
    "matrix_sensing.claims._registry.Claim": "built by the claim modules at import",
    "matrix_sensing.claims._registry.ClaimResult": RECORD,
    "matrix_sensing.claims._registry.Verdict": RECORD,
    "matrix_sensing.experiments._common.Run": RECORD,
    "matrix_sensing.experiments._common.run_params": "an experiment's own locals()",
    "matrix_sensing.experiments._common.continue_while": "continues a run an experiment made, "
    "on its validated operator and measurements",
    "matrix_sensing.experiments._common.iterate_at": "re-runs from starts that continue_while "
    "collected for an experiment",
    "matrix_sensing.solvers.driver.GDResult": RECORD,
    "matrix_sensing.experiments.declaration.declare": "called at import by the experiment "
    "modules; its refusals are tested in tests/test_validation.py",
    "matrix_sensing.experiments.declaration.Declaration": "built by declare()",
    "matrix_sensing.experiments.declaration.Interval": "a constant of the declarations; its "
    "refusals are tested in tests/test_validation.py",
    "matrix_sensing.experiments.declaration.Parameter": "a constant of the declarations "
    "(tests/test_validation.py)",
    "matrix_sensing.experiments.declaration.declaration_of": "looks up a declared experiment "
    "function the registry holds",
    "matrix_sensing.solvers.driver.continue_run": "joins two results the solvers produced",
    "matrix_sensing.solvers.driver.Method": "an algorithm's state, built by a solver from "
    "validated arguments",
    "matrix_sensing.solvers.driver.iterate": "the solvers' loop; each solver validates its "
    "arguments before calling it (their rows above)",
    "matrix_sensing.solvers.driver.diverged": "called by iterate on the losses it computed",
    "matrix_sensing.solvers.driver.divergence_context": "re-raises a solver's error; tested in "
    "tests/test_divergence.py",
    "matrix_sensing.solvers.driver.check_factors": "a validator: its errors are the rows of "
    "the solvers that call it",
    "matrix_sensing.solvers.driver.check_pair": "a validator (see check_factors)",
    "matrix_sensing.solvers.driver.check_run_options": "a validator (see check_factors)",
    "matrix_sensing.solvers.driver.check_truth": "a validator (see check_factors)",
    "matrix_sensing.solvers.driver.test_error_function": "validates truth; its errors are the "
    "truth rows of factorized_gd",
    "matrix_sensing.operators.protocol.check_operator": "a validator: the op rows of every solver",
    "matrix_sensing.operators.protocol.SensingOperator": "a protocol (no constructor)",
    "matrix_sensing.operators.protocol.TwoPassGradients": "a mixin (no constructor)",
    "matrix_sensing.operators.compiled.CompiledRuns": "built by factorized_gd and "
    "GaussianSensing.residual_and_gradients from validated arguments",
    "matrix_sensing.operators.kernels.fused_residual_adjoint": "a compiled kernel, called "
    "with buffers the package allocates",
    "matrix_sensing.operators.kernels.fused_residual_adjoint_batch": "a compiled kernel",
    "matrix_sensing.operators.kernels.gd_evaluate": "a compiled kernel",
    "matrix_sensing.operators.kernels.gd_advance": "a compiled kernel",
    "matrix_sensing.operators.kernels.gd_record": "a compiled kernel",
    "matrix_sensing.operators.kernels.recorded_at": "a compiled kernel",
    "matrix_sensing.operators.kernels.past_bounds": "a compiled kernel",
    "matrix_sensing.operators.kernels.symmetric_norm": "a compiled kernel, called on the Gram "
    "matrices gd_record forms; tested against numpy in tests/test_fast_paths.py",
    **{
        f"matrix_sensing.operators.batch.{name}": "a compiled kernel on run-minor buffers the "
        "package allocates"
        for name in (
            "fused_residual_adjoint_runs",
            "runs_evaluate",
            "runs_advance",
            "runs_record",
            "pack",
            "unpack",
        )
    },
    "matrix_sensing.operators.batch.run_minor": "a rule on the size of a validated batch",
    "matrix_sensing.operators.batch.aligned_zeros": "allocates the buffers of a validated batch",
    **{
        f"matrix_sensing.operators.simd.{name}": "an intrinsic of numba code, typed at compile "
        "time (not callable from Python)"
        for name in (
            "add",
            "div",
            "fma",
            "guard",
            "lane",
            "load",
            "mul",
            "negatives",
            "splat",
            "store",
            "sub",
            "widen",
        )
    },
    "matrix_sensing.operators.simd.Vector": "a numba type (no user constructs one)",
    "matrix_sensing.solvers.driver.dense_truth": "called by factorized_gd after "
    "test_error_function checked truth (its rows)",
}
# Functions whose only inputs are records the package produces: a claim's measure(run), etc.
RECORD_PARAMETERS = {"run", "history", "result", "records", "args", "sub"}


def _claim_experiments() -> set[str]:
    from matrix_sensing import claims

    return {
        f"{c.experiment.__module__}.{c.experiment.__name__}" for c in map(claims.get, claims.ids())
    }


def _parameters(fn) -> list[str]:
    signature = inspect.signature(fn)
    return [
        name
        for name, p in signature.parameters.items()
        if (p.kind not in (p.VAR_POSITIONAL,) and name not in ("self", "cls"))
        or (name == "self" and False)
    ]


def test_every_public_callable_has_bad_input_cases():
    """A new public function needs a row in TABLE (or a reason in NO_USER_INPUT), and every
    parameter of a row needs a kind or a reason to skip it."""
    experiments = _claim_experiments()
    missing, uncovered = [], []
    for qualname, fn in public_callables().items():
        if qualname in NO_USER_INPUT or qualname in experiments:
            continue  # claim experiments: every parameter in tests/test_bad_input_cli.py
        params = [p for p in _parameters(fn) if p != "kwargs" or qualname not in TABLE]
        if params and all(p in RECORD_PARAMETERS for p in params):
            continue
        if qualname not in TABLE:
            missing.append(qualname)
            continue
        case = TABLE[qualname]
        for p in params:
            if p not in case.kinds and p not in case.skip and p not in case.positional:
                uncovered.append(f"{qualname}({p})")
    stale = sorted(set(TABLE) - set(public_callables()))
    assert not stale, f"rows for callables that are no longer public: {stale}"
    assert not missing, f"public callables without bad-input cases: {missing}"
    assert not uncovered, f"parameters without bad-input kinds: {uncovered}"


def _rows():
    for qualname, case in TABLE.items():
        for param in case.kinds:
            yield pytest.param(
                qualname, param, id=f"{qualname.removeprefix('matrix_sensing.')}[{param}]"
            )


@functools.cache
def _callables():
    return public_callables()


def assert_rejected(qualname, fn, kwargs, param, positional=(), aliases=()):
    """``fn(**kwargs)`` must raise ValueError/TypeError naming ``param`` (or an alias)."""
    value = kwargs[param]
    names = (param, *aliases, *([str(value)] if param == "path" else []))
    args = [kwargs.pop(p) for p in positional]
    CASES["library"] += 1
    try:
        fn(*args, **kwargs)
    except (ValueError, TypeError) as exc:
        message = str(exc)
        if not any(_names(name, message) for name in names):
            pytest.fail(
                f"{qualname}: the error for {param}={value!r} does not name {param!r}: "
                f"{type(exc).__name__}: {message}"
            )
        return
    except Exception as exc:
        pytest.fail(
            f"{qualname}({param}={_short(value)}) raised {type(exc).__name__}: {exc} "
            f"(expected a ValueError/TypeError naming {param!r})"
        )
    pytest.fail(f"{qualname} silently accepted {param}={_short(value)}")


def _names(name: str, message: str) -> bool:
    """``name`` appears in ``message`` as a word (``n`` is not found in ``n1``)."""
    return re.search(rf"(?<![A-Za-z0-9_]){re.escape(name)}(?![A-Za-z0-9_])", message) is not None


def _short(value) -> str:
    text = repr(value)
    return text if len(text) < 80 else text[:77] + "..."


@pytest.mark.parametrize(("qualname", "param"), list(_rows()))
@BAD_INPUT
@given(data=st.data())
def test_bad_value_is_rejected_naming_the_parameter(qualname, param, data):
    case = TABLE[qualname]
    fn = _callables()[qualname]
    kwargs = case.base()
    kind = case.kinds[param]
    value = data.draw(kind.bad(kwargs.get(param)), label=param)
    default = inspect.signature(fn).parameters[param].default
    annotation = str(inspect.signature(fn).parameters[param].annotation)
    # None is valid where it is the default or the annotation allows it
    assume(not (value is None and (default is None or "None" in annotation)))
    kwargs[param] = value
    aliases = (*case.aliases.get(param, ()), *getattr(kind, "aliases", ()))
    assert_rejected(qualname, fn, kwargs, param, case.positional, aliases)


def test_unknown_names_are_refused():
    """Unknown claim ids, scales and experiment parameters name what was wrong."""
    from matrix_sensing import claims

    for call, expected in [
        (lambda: claims.get("M99"), "claim_id must be one of"),
        (lambda: claims.get(["M1"]), "claim_id must be one of"),
        (lambda: claims.get("M1").params("huge"), "scale must be one of"),
        (lambda: claims.get("M1").params("ci", n3=4), "unknown parameter(s) ['n3']"),
        (lambda: claims.run_experiment("M1", bogus=1), "unknown parameter(s) ['bogus']"),
        (lambda: claims.get("M1").threshold("nope"), "has no threshold on 'nope'"),
    ]:
        CASES["library"] += 1
        with pytest.raises((ValueError, TypeError), match=None) as info:
            call()
        assert expected in str(info.value)


def test_ragged_initial_factors_are_named():
    """A ragged U0 (nested lists of unequal lengths) is refused naming U0, not with numpy's
    "inhomogeneous shape" error; likewise a ragged stack."""
    from matrix_sensing.solvers import factorized_gd

    t = tiny()
    for U0 in ([[1.0, 2.0], [1.0], [1.0, 2.0]], [[[1.0, 2.0]] * 3, [[1.0]] * 3]):
        CASES["library"] += 1
        with pytest.raises(TypeError, match="U0 must be an array of real numbers"):
            factorized_gd(t["op"], t["y"], U0, t["V0"], 0.1, 2)


def test_a_missing_time_gives_a_nan_fit():
    """NaN times (runs that never reached the level) are not an input error: the fit is NaN,
    so that the claim reading it fails."""
    from matrix_sensing.fits import semilog_fit

    alphas, times = np.array([1e-2, 1e-3, 1e-4]), np.array([10.0, np.nan, 31.0])
    CASES["library"] += 1
    assert math.isnan(semilog_fit(alphas, times).slope)
